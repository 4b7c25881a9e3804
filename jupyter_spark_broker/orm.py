"""The registry's tables (SQLAlchemy 2.0 typed models) and their schema versions.

A later release adds a column by appending a step to ``MIGRATIONS``: ``open`` runs every step above the
version stored in ``broker_meta``, so existing rows are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .users import SERVER_OWNER


def utcnow() -> datetime:
    """Naive UTC: what every backend (SQLite included) stores and returns alike."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    """One Livy session the broker created or adopted."""

    __tablename__ = "spark_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(255), index=True)
    livy_id: Mapped[int | None] = mapped_column(Integer)
    # Unique name given to Livy: reconcile matches on it, never on the reusable integer id.
    livy_name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32), index=True)
    app_id: Mapped[str | None] = mapped_column(String(255))
    spark_ui_url: Mapped[str | None] = mapped_column(Text)
    driver_log_url: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    share_key: Mapped[str | None] = mapped_column(Text)
    # endpoint + share key while the session is live, NULL after: at most one live session per key,
    # even across several Jupyter servers on one database.
    active_key: Mapped[str | None] = mapped_column(Text, unique=True)
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    last_activity: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    unattached_since: Mapped[datetime | None] = mapped_column(DateTime)

    attachments: Mapped[list[AttachmentRow]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )


class AttachmentRow(Base):
    """A notebook (and maybe its kernel) attached to a session."""

    __tablename__ = "spark_attachments"
    __table_args__ = (UniqueConstraint("session_id", "path", name="uq_attachment_session_path"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("spark_sessions.id"), index=True)
    path: Mapped[str] = mapped_column(Text, index=True)
    kernel_id: Mapped[str | None] = mapped_column(String(64))
    # The broker (ServerRow) whose kernel holds the attachment: only it can tell if the kernel lives.
    server_id: Mapped[str | None] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(255))
    attached: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    session: Mapped[SessionRow] = relationship(back_populates="attachments")


class BindingRow(Base):
    """The endpoint a user's notebook path was pointed at (``/reconnectsparkmagic``)."""

    __tablename__ = "spark_bindings"

    owner: Mapped[str] = mapped_column(String(255), primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(255))
    updated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EndpointRow(Base):
    """An endpoint added at run time by ``owner``, the only user who may use it. The credentials are
    one encrypted blob, never plain columns."""

    __tablename__ = "spark_endpoints"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    sealed_config: Mapped[bytes] = mapped_column(LargeBinary)
    updated: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ServerRow(Base):
    """A running broker (one per Jupyter server process) on this registry, and its last heartbeat."""

    __tablename__ = "broker_servers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    started: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class MetaRow(Base):
    __tablename__ = "broker_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


Index("ix_spark_attachments_kernel", AttachmentRow.kernel_id)


def _v2_owners(connection: Connection) -> None:
    """Bindings and run-time endpoints get an owner. Version 1 served one user: the server's."""
    owner = {"owner": SERVER_OWNER}
    connection.execute(text("ALTER TABLE spark_endpoints ADD COLUMN owner VARCHAR(255)"))
    connection.execute(text("UPDATE spark_endpoints SET owner = :owner"), owner)
    # The primary key grows to (owner, path): a new table, the rows copied, then renamed into place.
    new = BindingRow.__table__.to_metadata(MetaData(), name="spark_bindings_v2")
    new.create(connection)
    connection.execute(
        text(
            "INSERT INTO spark_bindings_v2 (owner, path, endpoint, updated) "
            "SELECT :owner, path, endpoint, updated FROM spark_bindings"
        ),
        owner,
    )
    connection.execute(text("DROP TABLE spark_bindings"))
    connection.execute(text("ALTER TABLE spark_bindings_v2 RENAME TO spark_bindings"))


def _v3_attachment_servers(connection: Connection) -> None:
    """Attachments name the broker whose kernel holds them (``broker_servers`` is a new table)."""
    connection.execute(text("ALTER TABLE spark_attachments ADD COLUMN server_id VARCHAR(32)"))


SCHEMA_VERSION = 3
# version -> step that brings a database from version - 1 to it (e.g. ALTER TABLE ... ADD COLUMN).
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _v2_owners, 3: _v3_attachment_servers}

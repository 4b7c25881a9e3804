"""The registry's tables (SQLAlchemy 2.0 typed models).

A change here needs an Alembic revision in ``migrations/versions/`` (``migrations/README.md``): the
registry's schema is made by the revisions alone, and a test checks that they and these models agree.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ..support.json_types import JSONObject


def active_key(endpoint: str, share_key: str | None) -> str | None:
    """``SessionRow.active_key`` of a live session: at most one per endpoint and share key."""
    return None if share_key is None else f"{endpoint}\n{share_key}"


def utcnow() -> datetime:
    """Naive UTC: what every backend (SQLite included) stores and returns alike."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class SessionRow(Base):
    """One Spark session the broker created or adopted: a Livy session, or a Spark Connect one."""

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
    config: Mapped[JSONObject] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    last_activity: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    unattached_since: Mapped[datetime | None] = mapped_column(DateTime)
    # The profile the session was started with; NULL for sessions from before profiles: the default.
    profile: Mapped[str | None] = mapped_column(String(255))
    # owner + the client's request id of an idempotent create: a retried create finds its session.
    request_key: Mapped[str | None] = mapped_column(Text)
    # "livy", or "connect": a Spark Connect session (its id fixed here, so every attach of the
    # notebook finds the same server-side session); its address and token sealed, never plain.
    protocol: Mapped[str] = mapped_column(String(16), default="livy", server_default="livy")
    connect_session_id: Mapped[str | None] = mapped_column(String(36))
    sealed_connect: Mapped[bytes | None] = mapped_column(LargeBinary)

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
    # A headless run's attachment (papermill, nbconvert, a scheduler): the run's name. No Jupyter
    # server knows its kernel, so it lives while it beats (``last_seen``) and ends with its run.
    run: Mapped[str | None] = mapped_column(String(255))

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


class EndpointLeaseRow(Base):
    """Which broker lists an endpoint's sessions for all the brokers on this registry, and until
    when: the others read the states it writes, so Livy's load does not grow with the servers."""

    __tablename__ = "broker_endpoint_leases"

    endpoint: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(String(32))  # a ServerRow's id
    expires: Mapped[datetime] = mapped_column(DateTime)


Index("ix_spark_attachments_kernel", AttachmentRow.kernel_id)
# An index rather than a column constraint: the registries of the hand-written schema versions have it.
Index("uq_spark_sessions_request_key", SessionRow.request_key, unique=True)

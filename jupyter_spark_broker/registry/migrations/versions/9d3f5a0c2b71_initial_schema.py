"""The initial schema: the registry as the hand-versioned schema left it (its version 5).

Written out in full, never read from orm.py: a revision stays what it was when the models change.

Revision ID: 9d3f5a0c2b71
Revises:
Created: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d3f5a0c2b71"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broker_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "broker_servers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("started", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "spark_bindings",
        sa.Column("owner", sa.String(255), primary_key=True),
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("endpoint", sa.String(255), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "spark_endpoints",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("sealed_config", sa.LargeBinary(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "spark_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("endpoint", sa.String(255), nullable=False),
        sa.Column("livy_id", sa.Integer(), nullable=True),
        sa.Column("livy_name", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("app_id", sa.String(255), nullable=True),
        sa.Column("spark_ui_url", sa.Text(), nullable=True),
        sa.Column("driver_log_url", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("share_key", sa.Text(), nullable=True),
        sa.Column("active_key", sa.Text(), nullable=True, unique=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_activity", sa.DateTime(), nullable=False),
        sa.Column("unattached_since", sa.DateTime(), nullable=True),
        sa.Column("profile", sa.String(255), nullable=True),
        sa.Column("request_key", sa.Text(), nullable=True),
        sa.Column("protocol", sa.String(16), nullable=False, server_default="livy"),
        sa.Column("connect_session_id", sa.String(36), nullable=True),
        sa.Column("sealed_connect", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_spark_sessions_created", "spark_sessions", ["created"])
    op.create_index("ix_spark_sessions_endpoint", "spark_sessions", ["endpoint"])
    op.create_index("ix_spark_sessions_owner", "spark_sessions", ["owner"])
    op.create_index("ix_spark_sessions_state", "spark_sessions", ["state"])
    op.create_index("uq_spark_sessions_request_key", "spark_sessions", ["request_key"], unique=True)
    op.create_table(
        "spark_attachments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("session_id", sa.String(32), sa.ForeignKey("spark_sessions.id"), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("kernel_id", sa.String(64), nullable=True),
        sa.Column("server_id", sa.String(32), nullable=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("attached", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("session_id", "path", name="uq_attachment_session_path"),
    )
    op.create_index("ix_spark_attachments_kernel", "spark_attachments", ["kernel_id"])
    op.create_index("ix_spark_attachments_path", "spark_attachments", ["path"])
    op.create_index("ix_spark_attachments_session_id", "spark_attachments", ["session_id"])


def downgrade() -> None:
    for table in (
        "spark_attachments",  # first: it refers to spark_sessions
        "spark_sessions",
        "spark_endpoints",
        "spark_bindings",
        "broker_servers",
        "broker_meta",
    ):
        op.drop_table(table)  # its indexes go with it

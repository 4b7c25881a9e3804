"""Drop broker_meta: it held the hand-written schema version, which the version table replaces.

Revision ID: b4e81c6d2f90
Revises: 9d3f5a0c2b71
Created: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4e81c6d2f90"
down_revision: str | Sequence[str] | None = "9d3f5a0c2b71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("broker_meta")


def downgrade() -> None:
    meta = op.create_table(
        "broker_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.bulk_insert(meta, [{"key": "schema_version", "value": "5"}])

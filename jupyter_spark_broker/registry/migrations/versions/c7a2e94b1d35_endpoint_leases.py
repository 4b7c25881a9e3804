"""Add broker_endpoint_leases: one broker per endpoint lists its sessions for all the brokers.

Revision ID: c7a2e94b1d35
Revises: c7a2e5d9f013
Created: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7a2e94b1d35"
down_revision: str | Sequence[str] | None = "c7a2e5d9f013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broker_endpoint_leases",
        sa.Column("endpoint", sa.String(255), primary_key=True),
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("broker_endpoint_leases")

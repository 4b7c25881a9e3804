"""Attachments of headless runs: the run's name, so they live while their kernel beats.

Revision ID: c7a2e5d9f013
Revises: b4e81c6d2f90
Created: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c7a2e5d9f013"
down_revision: str | Sequence[str] | None = "b4e81c6d2f90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("spark_attachments") as batch:
        batch.add_column(sa.Column("run", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("spark_attachments") as batch:
        batch.drop_column("run")

"""dataset_versions: one row per completed load run, numbered in order (the dataset version).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_versions",
        sa.Column("version", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("load_run", sa.Text, nullable=False, unique=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("dataset_versions")

"""Base tables: companies, contacts and ingest_rejects.

Revision ID: 0001
Revises:
A frozen copy of the schema at this step (never import stores.postgres.schema here: the
live schema moves on, this step must not).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _provenance() -> list[sa.Column[object]]:
    now = sa.func.now()
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("source_file", sa.Text),
        sa.Column("load_run", sa.Text),
    ]


def upgrade() -> None:
    text_list = ARRAY(sa.Text)
    op.create_table(
        "companies",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("domain", sa.Text),
        sa.Column("website", sa.Text),
        sa.Column("industries", text_list),
        sa.Column("employees_count", sa.BigInteger),
        sa.Column("employees_count_min", sa.BigInteger),
        sa.Column("employees_count_max", sa.BigInteger),
        sa.Column("annual_revenue", sa.BigInteger),
        sa.Column("founded_year", sa.Integer),
        sa.Column("city", sa.Text),
        sa.Column("state", sa.Text),
        sa.Column("country", sa.Text),
        sa.Column("linkedin_url", sa.Text),
        sa.Column("keywords", text_list),
        sa.Column("technologies", text_list),
        *_provenance(),
    )
    op.create_table(
        "contacts",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("first_name", sa.Text),
        sa.Column("last_name", sa.Text),
        sa.Column("full_name", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("seniority", sa.Text),
        sa.Column("departments", text_list),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("linkedin_url", sa.Text),
        sa.Column("city", sa.Text),
        sa.Column("state", sa.Text),
        sa.Column("country", sa.Text),
        sa.Column("company_id", UUID(as_uuid=False)),
        *_provenance(),
    )
    op.create_table(
        "ingest_rejects",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("load_run", sa.Text, nullable=False),
        sa.Column("line", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint(
            "source_file", "load_run", "line", "reason", name="uq_ingest_rejects_row"
        ),
    )


def downgrade() -> None:
    op.drop_table("ingest_rejects")
    op.drop_table("contacts")
    op.drop_table("companies")

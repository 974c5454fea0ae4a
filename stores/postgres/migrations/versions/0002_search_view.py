"""The contacts_search view, fuzzystrmatch for fuzzy SQL matching, and lookup indexes.

Revision ID: 0002
Revises: 0001
The view body is frozen text (what schema.contacts_search_sql() rendered at this step), so a
later change of the live schema cannot rewrite history.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CONTACTS_SEARCH = """
CREATE OR REPLACE VIEW contacts_search AS
SELECT contacts.id, contacts.first_name, contacts.last_name, contacts.full_name,
       contacts.title, contacts.seniority, contacts.departments, contacts.email,
       contacts.phone, contacts.linkedin_url, contacts.city, contacts.state, contacts.country,
       contacts.company_id, contacts.created_at, contacts.updated_at, contacts.source_file,
       contacts.load_run,
       companies.name AS company_name, companies.domain AS company_domain,
       companies.industries AS company_industries,
       companies.employees_count AS company_employees_count,
       companies.annual_revenue AS company_annual_revenue,
       companies.founded_year AS company_founded_year,
       companies.city AS company_city, companies.state AS company_state,
       companies.country AS company_country
FROM contacts LEFT OUTER JOIN companies ON companies.id = contacts.company_id
"""


def upgrade() -> None:
    # levenshtein() for VQL's fuzzy matching in SQL; trusted since PostgreSQL 13, so the
    # database owner may create it without superuser.
    op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
    op.create_index("ix_contacts_company_id", "contacts", ["company_id"])
    op.create_index("ix_contacts_source_file", "contacts", ["source_file"])
    op.create_index("ix_companies_source_file", "companies", ["source_file"])
    op.create_index("ix_ingest_rejects_load_run", "ingest_rejects", ["load_run"])
    op.execute(CONTACTS_SEARCH)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS contacts_search")
    op.drop_index("ix_ingest_rejects_load_run", "ingest_rejects")
    op.drop_index("ix_companies_source_file", "companies")
    op.drop_index("ix_contacts_source_file", "contacts")
    op.drop_index("ix_contacts_company_id", "contacts")
    # The extension stays: other objects of the database may use it.

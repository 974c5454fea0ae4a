"""Lineage: every contributing file (source_file becomes a list), first_seen and last_seen.

Revision ID: 0003
Revises: 0002
Upgrades the tables in place. Rows loaded before keep what they knew: their one file becomes
a one-element list, first_seen is their created_at and last_seen their updated_at (the last
load that changed them: the best lower bound there is of the last load that contained them).

Each table is rewritten once: the new columns are added empty (no rewrite), then one ALTER
TABLE changes source_file's type and "changes" the two new columns to their own type with a
USING expression that reads the row's other columns, which PostgreSQL evaluates in the same
single rewrite. The view depends on source_file, so it is dropped and created again (frozen
text, as in 0002), and the btree index on the file gives way to a GIN index (array
containment and overlap, which the per-file reads use).
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("companies", "contacts")

CONTACTS_SEARCH = """
CREATE VIEW contacts_search AS
SELECT contacts.id, contacts.first_name, contacts.last_name, contacts.full_name,
       contacts.title, contacts.seniority, contacts.departments, contacts.email,
       contacts.phone, contacts.linkedin_url, contacts.city, contacts.state, contacts.country,
       contacts.company_id, contacts.created_at, contacts.updated_at, contacts.source_file,
       contacts.load_run, contacts.first_seen, contacts.last_seen,
       companies.name AS company_name, companies.domain AS company_domain,
       companies.industries AS company_industries,
       companies.employees_count AS company_employees_count,
       companies.annual_revenue AS company_annual_revenue,
       companies.founded_year AS company_founded_year,
       companies.city AS company_city, companies.state AS company_state,
       companies.country AS company_country
FROM contacts LEFT OUTER JOIN companies ON companies.id = contacts.company_id
"""

CONTACTS_SEARCH_0002 = """
CREATE VIEW contacts_search AS
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
    op.execute("DROP VIEW contacts_search")
    for table in TABLES:
        op.execute(f"DROP INDEX ix_{table}_source_file")
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN first_seen timestamptz, "
            "ADD COLUMN last_seen timestamptz"
        )
        op.execute(
            f"""
            ALTER TABLE {table}
                ALTER COLUMN source_file TYPE text[] USING
                    CASE WHEN nullif(source_file, '') IS NULL THEN NULL
                         ELSE ARRAY[source_file] END,
                ALTER COLUMN first_seen TYPE timestamptz USING created_at,
                ALTER COLUMN last_seen TYPE timestamptz USING updated_at,
                ALTER COLUMN first_seen SET DEFAULT now(),
                ALTER COLUMN last_seen SET DEFAULT now(),
                ALTER COLUMN first_seen SET NOT NULL,
                ALTER COLUMN last_seen SET NOT NULL
            """
        )
        op.execute(f"CREATE INDEX ix_{table}_source_file ON {table} USING gin (source_file)")
    op.execute(CONTACTS_SEARCH)


def downgrade() -> None:
    """Back to one file per record: the newest file each record names."""
    op.execute("DROP VIEW contacts_search")
    for table in TABLES:
        op.execute(f"DROP INDEX ix_{table}_source_file")
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN source_file TYPE text "
            "USING source_file[array_upper(source_file, 1)]"
        )
        op.execute(f"ALTER TABLE {table} DROP COLUMN first_seen, DROP COLUMN last_seen")
        op.execute(f"CREATE INDEX ix_{table}_source_file ON {table} (source_file)")
    op.execute(CONTACTS_SEARCH_0002)

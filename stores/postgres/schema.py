"""The PostgreSQL schema as SQLAlchemy Core objects: what the code queries and writes.

`metadata` holds the tables as they are at the newest migration; the migration scripts are
frozen copies of each step, and a test checks that migrating an empty database yields exactly
this metadata. The `contacts_search` view lives in its own MetaData (`views`), so that
`metadata.create_all` never creates it as a table, yet the SQL compiler of VQL can select from
it like any other table.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.sql.expression import Select

from stores.base import COMPANY_VIEW_COLUMNS

metadata = MetaData()
views = MetaData()

TextList = ARRAY(Text)


def _stamp(name: str) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


def _timestamps() -> list[Column[object]]:
    """Times and lineage: every file that contributed (source_file), the newest run that saw
    the row (load_run), the first and the latest load that contained it."""
    return [
        _stamp("created_at"),
        _stamp("updated_at"),
        Column("source_file", TextList),
        Column("load_run", Text),
        _stamp("first_seen"),
        _stamp("last_seen"),
    ]


companies = Table(
    "companies",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("name", Text),
    Column("domain", Text),
    Column("website", Text),
    Column("industries", TextList),
    Column("employees_count", BigInteger),
    Column("employees_count_min", BigInteger),
    Column("employees_count_max", BigInteger),
    Column("annual_revenue", BigInteger),
    Column("founded_year", Integer),
    Column("city", Text),
    Column("state", Text),
    Column("country", Text),
    Column("linkedin_url", Text),
    Column("keywords", TextList),
    Column("technologies", TextList),
    *_timestamps(),
    Index("ix_companies_source_file", "source_file", postgresql_using="gin"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("full_name", Text),
    Column("title", Text),
    Column("seniority", Text),
    Column("departments", TextList),
    Column("email", Text),
    Column("phone", Text),
    Column("linkedin_url", Text),
    Column("city", Text),
    Column("state", Text),
    Column("country", Text),
    # No foreign key: contacts and companies load in parallel batches and in either order;
    # a contact whose company is not there yet simply shows null company_* in the view.
    Column("company_id", UUID(as_uuid=False)),
    *_timestamps(),
    Index("ix_contacts_company_id", "company_id"),
    Index("ix_contacts_source_file", "source_file", postgresql_using="gin"),
)

ingest_rejects = Table(
    "ingest_rejects",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("source_file", Text, nullable=False),
    Column("load_run", Text, nullable=False),
    Column("line", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # A retried load run writes the same rejects again; this key makes that a no-op.
    UniqueConstraint("source_file", "load_run", "line", "reason", name="uq_ingest_rejects_row"),
    Index("ix_ingest_rejects_load_run", "load_run"),
)

# The dataset version: one row per completed load run, numbered in commit order by an
# identity (stores/versions.py reads the newest).
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("version", BigInteger, Identity(), primary_key=True),
    Column("load_run", Text, nullable=False, unique=True),
    Column("completed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)



def contacts_search_select() -> Select[tuple[object, ...]]:
    """The view's query: every contact, with its company's attributes when it has one."""
    company_columns = [companies.c[col].label(name) for name, col in COMPANY_VIEW_COLUMNS.items()]
    joined = contacts.outerjoin(companies, companies.c.id == contacts.c.company_id)
    return select(*contacts.c, *company_columns).select_from(joined)


def contacts_search_sql() -> str:
    """The view body as PostgreSQL text (the migration that creates it holds a frozen copy)."""
    compiled = contacts_search_select().compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    return str(compiled)


contacts_search = Table(
    "contacts_search",
    views,
    *(Column(c.name, c.type) for c in contacts.c),
    *(Column(name, companies.c[col].type) for name, col in COMPANY_VIEW_COLUMNS.items()),
)

TABLES: dict[str, Table] = {"companies": companies, "contacts": contacts}

# Columns that record where a row came from rather than what it says: a reload refreshes
# them, but they do not count as a change of the record (updated_at stays). source_file
# gathers every file, last_seen keeps the latest load, load_run follows the newest write.
PROVENANCE_COLUMNS = ("source_file", "load_run", "first_seen", "last_seen")
# Stamped with the load time when a batch lacks them; created_at is then never overwritten,
# updated_at moves on a change of the data.
TIMESTAMP_COLUMNS = ("created_at", "updated_at", "first_seen", "last_seen")


def data_columns(table: Table) -> list[str]:
    """Columns whose change is a change of the record (drives updated_at)."""
    skip = {"id", *PROVENANCE_COLUMNS, *TIMESTAMP_COLUMNS}
    return [c.name for c in table.c if c.name not in skip]



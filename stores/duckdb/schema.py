"""The embedded schema: one list of (column, DuckDB type) per table, and what derives from it.

The column lists are the contracts' data model (notes/contracts.md), in the same order as
PostgreSQL's tables. From them come the SQLAlchemy tables the VQL compiler and our own reads
select from, and the Arrow types a write batch is cast to. The DDL that creates them is
frozen in stores/duckdb/migrate.py; a test checks that the two agree.

Ids are VARCHAR holding the lowercase text form of the uuid: DuckDB compares VARCHAR byte by
byte, so ordering by id is exactly the search engine's keyword order and PostgreSQL's uuid
order, and a cursor's id tie-breaker means the same thing on every backend. Timestamps are
TIMESTAMPTZ (instants), so an Arrow batch in UTC never shifts with the session time zone.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from stores.base import COMPANY_VIEW_COLUMNS
from vql.registry import SERVICES, registry

ColumnSpec = tuple[tuple[str, str], ...]

_PROVENANCE: ColumnSpec = (
    ("created_at", "TIMESTAMPTZ"),
    ("updated_at", "TIMESTAMPTZ"),
    ("source_file", "VARCHAR[]"),
    ("load_run", "VARCHAR"),
    ("first_seen", "TIMESTAMPTZ"),
    ("last_seen", "TIMESTAMPTZ"),
)

COMPANIES: ColumnSpec = (
    ("id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("domain", "VARCHAR"),
    ("website", "VARCHAR"),
    ("industries", "VARCHAR[]"),
    ("employees_count", "BIGINT"),
    ("employees_count_min", "BIGINT"),
    ("employees_count_max", "BIGINT"),
    ("annual_revenue", "BIGINT"),
    ("founded_year", "INTEGER"),
    ("city", "VARCHAR"),
    ("state", "VARCHAR"),
    ("country", "VARCHAR"),
    ("linkedin_url", "VARCHAR"),
    ("keywords", "VARCHAR[]"),
    ("technologies", "VARCHAR[]"),
    *_PROVENANCE,
)

CONTACTS: ColumnSpec = (
    ("id", "VARCHAR"),
    ("first_name", "VARCHAR"),
    ("last_name", "VARCHAR"),
    ("full_name", "VARCHAR"),
    ("title", "VARCHAR"),
    ("seniority", "VARCHAR"),
    ("departments", "VARCHAR[]"),
    ("email", "VARCHAR"),
    ("phone", "VARCHAR"),
    ("linkedin_url", "VARCHAR"),
    ("city", "VARCHAR"),
    ("state", "VARCHAR"),
    ("country", "VARCHAR"),
    ("company_id", "VARCHAR"),
    *_PROVENANCE,
)

INGEST_REJECTS: ColumnSpec = (
    ("id", "BIGINT"),
    ("source_file", "VARCHAR"),
    ("load_run", "VARCHAR"),
    ("line", "BIGINT"),
    ("reason", "VARCHAR"),
    ("raw", "VARCHAR"),
    ("created_at", "TIMESTAMPTZ"),
)

_COMPANY_TYPES = dict(COMPANIES)
CONTACTS_SEARCH: ColumnSpec = (
    *CONTACTS,
    *((name, _COMPANY_TYPES[column]) for name, column in COMPANY_VIEW_COLUMNS.items()),
)

# Columns that say where a row came from: a reload refreshes them without being a change
# (source_file gathers every file, last_seen keeps the latest load: stores/lineage.py).
PROVENANCE_COLUMNS = ("source_file", "load_run", "first_seen", "last_seen")
# Stamped with the load time when a batch lacks them; created_at is then never overwritten,
# updated_at moves on a change of the data.
TIMESTAMP_COLUMNS = ("created_at", "updated_at", "first_seen", "last_seen")
ID_COLUMNS = ("id", "company_id")  # uuid text, stored lowercase


def sql_type(duckdb_type: str) -> TypeEngine[Any]:
    """The SQLAlchemy type the VQL compiler needs to see for a DuckDB column type."""
    types: dict[str, TypeEngine[Any]] = {
        "VARCHAR": sa.String(),
        "VARCHAR[]": sa.ARRAY(sa.String()),
        "BIGINT": sa.BigInteger(),
        "INTEGER": sa.Integer(),
        "TIMESTAMPTZ": sa.DateTime(timezone=True),  # aware range bounds (vql.sql)
    }
    return types[duckdb_type]


def arrow_type(duckdb_type: str) -> pa.DataType:
    """The Arrow type of a write batch's column (what the normalizer delivers)."""
    types = {
        "VARCHAR": pa.string(),
        "VARCHAR[]": pa.list_(pa.string()),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    }
    return types[duckdb_type]


def _table(name: str, spec: ColumnSpec, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        *(sa.Column(col, sql_type(kind), primary_key=col == "id") for col, kind in spec),
    )


metadata = sa.MetaData()
companies = _table("companies", COMPANIES, metadata)
contacts = _table("contacts", CONTACTS, metadata)
ingest_rejects = _table("ingest_rejects", INGEST_REJECTS, metadata)
contacts_search = _table("contacts_search", CONTACTS_SEARCH, metadata)

# What every stored value of a column is, per fact (FACT_COLUMNS): "plain", no match of
# vql.text.CONTEXT (queries cut its words by the quick split), "lowercase", lowercase ASCII
# (queries compare it without lower()); vql.sql.TextFacts. Filled by the migration that made
# it (a scan of each column); a batch that brings a value breaking a fact deletes its row in
# the same transaction (DuckDBStore._merge), so a row stands only while its fact holds. No
# row: the query does what it would without the fact.
column_facts = sa.Table(
    "column_facts",
    metadata,
    sa.Column("table_name", sa.String(), primary_key=True),
    sa.Column("column_name", sa.String(), primary_key=True),
    sa.Column("fact", sa.String(), primary_key=True),
)

TABLES: dict[str, sa.Table] = {"companies": companies, "contacts": contacts}
# What VQL filters and sorts on, per service (DESIGN.md section 6).
SEARCH_SOURCES: dict[str, sa.Table] = {"companies": companies, "contacts": contacts_search}
SPECS: dict[str, ColumnSpec] = {
    "companies": COMPANIES,
    "contacts": CONTACTS,
    "ingest_rejects": INGEST_REJECTS,
    "contacts_search": CONTACTS_SEARCH,
}


def data_columns(spec: ColumnSpec) -> list[str]:
    """Columns whose change is a change of the record (drives updated_at)."""
    skip = {"id", *PROVENANCE_COLUMNS, *TIMESTAMP_COLUMNS}
    return [name for name, _ in spec if name not in skip]


def _stored_in(service: str, field: str) -> tuple[str, str]:
    """(table, column) a field's values are stored in: the company_* fields of contacts
    are the companies' columns."""
    if service == "contacts" and field in COMPANY_VIEW_COLUMNS:
        return "companies", COMPANY_VIEW_COLUMNS[field]
    return service, field


# Per fact, per service, the fields it is kept for and the column each is stored in: words
# are cut from the fields of exact and shuffle matches; lower() is taken of every text and
# keyword field's value.
FACT_COLUMNS: dict[str, dict[str, dict[str, tuple[str, str]]]] = {
    fact: {
        service: {
            f.name: _stored_in(service, f.name)
            for f in registry(service)
            if (f.data_type in ("text", "keyword", "list") and (bool(f.text) or f.keyword)
                if fact == "lowercase" else bool({"exact", "shuffle"} & set(f.text)))
        }
        for service in SERVICES
    }
    for fact in ("plain", "lowercase")
}

"""The records in their search shape, streamed out of PostgreSQL as Arrow tables.

Companies are the `companies` table's rows; contacts are the `contacts_search` view's (the
contacts with their company's attributes as `company_*`, stores.base.COMPANY_VIEW_COLUMNS):
the same rows SQL VQL answers from, so a search index rebuilt from them answers alike. A
server-side cursor hands them over `batch_rows` at a time, so memory holds one batch
whatever the table's size, and the whole scan reads one snapshot (one statement).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from stores.base import Service
from stores.postgres.schema import TABLES, contacts_search, contacts_search_select
from stores.postgres.staging import arrow_type


def search_rows_select(
    service: Service, source_files: Sequence[str] | None = None
) -> sa.Select[Any]:
    """Every row of the service's search shape; only those that one of `source_files`
    contributed to when given."""
    table = TABLES[service]
    statement = sa.select(table) if service == "companies" else contacts_search_select()
    if source_files is not None:
        statement = statement.where(_from_files(table, source_files))
    return statement


def search_rows_count(
    service: Service, source_files: Sequence[str] | None = None
) -> sa.Select[Any]:
    table = TABLES[service]
    statement = sa.select(sa.func.count()).select_from(table)
    if source_files is not None:
        statement = statement.where(_from_files(table, source_files))
    return statement


def _from_files(table: sa.Table, source_files: Sequence[str]) -> sa.ColumnElement[bool]:
    """The record's files overlap `source_files` (served by the GIN index on the column)."""
    files = sa.cast(sa.bindparam("source_files", list(source_files)), ARRAY(sa.Text))
    return table.c.source_file.overlap(files)


def search_schema(service: Service) -> pa.Schema:
    """The Arrow types of the service's search rows, from the SQL column types."""
    columns = TABLES["companies"].c if service == "companies" else contacts_search.c
    return pa.schema([(c.name, arrow_type(c.type)) for c in columns])


def stream_rows(
    connection: sa.Connection, statement: sa.Select[Any], schema: pa.Schema, batch_rows: int
) -> Iterator[pa.Table]:
    """The statement's rows through a server-side cursor, batch_rows at a time."""
    result = connection.execution_options(yield_per=batch_rows).execute(statement)
    names = list(result.keys())
    types = [schema.field(name).type for name in names]
    for rows in result.partitions():
        columns = list(zip(*rows, strict=True))
        yield pa.table(
            [pa.array(column, type=kind) for column, kind in zip(columns, types, strict=True)],
            names=names,
        )


# The text form of a timestamp in a search document, as stores.records.iso_utc_text writes
# it for the loader's documents (ISO-8601 UTC, microseconds, 'Z'): text order is time order.
_ISO_FORMAT: sa.ColumnElement[str] = sa.literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'""")


def search_documents_select(service: Service) -> sa.Select[str, str]:
    """(id, document) of the service's rows whose id is in the bound list `ids`: the search
    shape (search_rows_select) rendered by PostgreSQL as JSON text, nulls left out and
    timestamps as bulk.json_ready writes them. What a load indexes after its upsert: the
    merged record itself, so the index never merges on its own (assets/loading.py)."""
    rows = search_rows_select(service)
    table = TABLES[service]
    ids = sa.cast(sa.bindparam("ids", type_=ARRAY(sa.Text)), ARRAY(UUID))
    rows = rows.where(table.c.id == sa.func.any(ids))
    shaped = [
        sa.func.to_char(sa.func.timezone(sa.literal_column("'UTC'"), column), _ISO_FORMAT)
        .label(column.name)
        if isinstance(column.type, sa.DateTime)
        else column
        for column in rows.selected_columns
    ]
    document = rows.with_only_columns(*shaped).subquery("d")
    rendered = sa.func.json_strip_nulls(sa.func.row_to_json(sa.literal_column("d")))
    return sa.select(
        sa.cast(document.c.id, sa.Text).label("id"), sa.cast(rendered, sa.Text).label("doc")
    ).select_from(document)

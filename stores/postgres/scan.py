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
from sqlalchemy.dialects.postgresql import ARRAY

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

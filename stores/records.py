"""Database values -> JSON-ready Python: the one shape every record store returns.

uuid -> str, timestamps -> ISO-8601 in UTC with a Z, lists stay lists; so PostgreSQL and
DuckDB answer the API with identical records. Also the reads both stores word alike.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from stores.base import Record
from stores.errors import TerminalStoreError


def conform_columns(
    rows: pa.Table,
    types: Mapping[str, pa.DataType],
    *,
    backend: str,
    table: str,
    needs_id: bool,
) -> pa.Table:
    """`rows` cast to a table's Arrow `types` (by column name). Unknown columns, a missing id
    and a value of the wrong type are terminal errors that name the column, never the value
    (rows hold personal data)."""
    unknown = [name for name in rows.column_names if name not in types]
    if unknown:
        raise TerminalStoreError(backend, f"{table} has no column(s) {', '.join(unknown)}")
    if needs_id and "id" not in rows.column_names:
        raise TerminalStoreError(backend, f"rows for {table} need an id column")
    columns = []
    for name in rows.column_names:
        column, to = rows.column(name), types[name]
        if column.type != to:
            try:
                column = column.cast(to)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
                raise TerminalStoreError(
                    backend, f"rows for {table}: column {name} ({column.type}) is not {to}"
                ) from exc
        columns.append(column)
    return pa.table(columns, names=rows.column_names)


def json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        elif value.utcoffset():
            value = value.astimezone(dt.UTC)
        return value.isoformat()[:-6] + "Z"  # an instant at UTC ends with +00:00
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def json_record(row: Mapping[Any, Any]) -> Record:
    return {str(key): json_value(value) for key, value in row.items()}


def json_records(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Record]:
    """The rows of one SQL result as records, :func:`json_value` applied per column: every
    value of a result's column has one type (or is None), so a column of text or numbers
    (most of them) is taken as it is and only the others' values are converted."""
    records = [dict(zip(names, row, strict=True)) for row in rows]
    for i, name in enumerate(names):
        first = next((row[i] for row in rows if row[i] is not None), None)
        if isinstance(first, dt.datetime | uuid.UUID):  # each distinct one converted once:
            done: dict[Any, Any] = {None: None}  # a load stamps its rows with one time
            for record in records:
                value = record[name]
                if value not in done:
                    done[value] = json_value(value)
                record[name] = done[value]
        elif isinstance(first, list | tuple):
            for record in records:
                if record[name] is not None:
                    record[name] = json_value(record[name])
    return records


def rejects_select(
    ingest_rejects: sa.Table, *, source_file: str | None = None, load_run: str | None = None
) -> sa.Select[Any]:
    """The stored rejects of a file and/or a run, in line order: plain Core over either
    store's ``ingest_rejects`` table (same columns); each store runs it in its own dialect."""
    statement = sa.select(ingest_rejects).order_by(
        ingest_rejects.c.source_file, ingest_rejects.c.line, ingest_rejects.c.id
    )
    if source_file is not None:
        statement = statement.where(ingest_rejects.c.source_file == source_file)
    if load_run is not None:
        statement = statement.where(ingest_rejects.c.load_run == load_run)
    return statement


def iso_utc_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A timestamp column as ISO-8601 UTC text ('2026-12-06T21:45:17.123456Z', the unit's
    fraction as Arrow's strftime writes it with %S), the form both the search documents and
    PostgreSQL's COPY input take.

    The instants are cast to time-zone-naive UTC wall times and then to text: ~15x cheaper
    than strftime or a cast with the zone, which apply the zone's rules to every value."""
    kind = column.type
    assert pa.types.is_timestamp(kind)
    wall = column.cast(pa.timestamp(kind.unit, "UTC")).cast(pa.timestamp(kind.unit))
    spaced = pc.replace_substring(wall.cast(pa.string()), " ", "T", max_replacements=1)
    return pc.binary_join_element_wise(spaced, "Z", "")

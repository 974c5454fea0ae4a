"""Arrow batches -> COPY text that PostgreSQL parses fast, without a Python loop per row.

pyarrow's C++ CSV writer renders the table; list columns are first turned into array
literals ({"a","b\\"c",NULL}) with Arrow compute kernels. Measured on 100k contacts (2 shared
cores): about 1.2 s for render + COPY, against about 5.8 s for psycopg's binary COPY with
`write_row`, whose per-row Python loop (to_pylist, UUID objects) dominates.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import BigInteger, Integer, Table
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import DateTime, TypeEngine

from stores.errors import TerminalStoreError
from stores.postgres.errors import BACKEND
from stores.records import conform_columns, iso_utc_text

ORDINAL = "_ord"


def arrow_type(sql_type: TypeEngine[object]) -> pa.DataType:
    """The Arrow type a column of the table arrives as (notes/contracts.md)."""
    if isinstance(sql_type, ARRAY):
        return pa.list_(pa.string())
    if isinstance(sql_type, BigInteger):
        return pa.int64()
    if isinstance(sql_type, Integer):
        return pa.int32()
    if isinstance(sql_type, DateTime):
        return pa.timestamp("us", tz="UTC")
    return pa.string()  # text and uuid (text form)


def conform(rows: pa.Table, table: Table, needs_id: bool = True) -> pa.Table:
    """Casts `rows` to the table's Arrow types; unknown columns or a missing id are errors."""
    types = {column.name: arrow_type(column.type) for column in table.c}
    rows = conform_columns(rows, types, backend=BACKEND, table=table.name, needs_id=needs_id)
    if "id" in rows.column_names and rows.column("id").null_count:
        raise TerminalStoreError(BACKEND, f"rows for {table.name} have a null id")
    return rows


def with_ordinal(rows: pa.Table) -> pa.Table:
    """Numbers the rows, so 'last wins' survives the trip through an unordered table."""
    return rows.append_column(ORDINAL, pa.array(range(rows.num_rows), pa.int64()))


def csv_chunks(rows: pa.Table, chunk_rows: int = 20_000) -> Iterator[bytes]:
    """COPY ... (FORMAT csv) input for `rows`, in chunks of about chunk_rows rows."""
    rendered = pa.table([_text(c) for c in rows.columns], names=rows.column_names)
    options = pa_csv.WriteOptions(include_header=False)
    for batch in rendered.to_batches(max_chunksize=chunk_rows):
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(pa.Table.from_batches([batch]), sink, write_options=options)
        yield sink.getvalue().to_pybytes()


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """What the CSV writer would make of the column, only cheaper: lists as array literals
    (it cannot write them), timestamps as ISO-8601 UTC (it formats each value anew)."""
    if pa.types.is_list(column.type):
        return _array_literals(column)
    if pa.types.is_timestamp(column.type):
        return iso_utc_text(column)
    return column


def _array_literals(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pa.chunked_array(
        [_array_literal(chunk) for chunk in column.chunks], type=pa.string()
    )


def _array_literal(lists: pa.Array) -> pa.Array:
    """list<string> -> PostgreSQL array literal text; null stays null, [] becomes '{}'."""
    elements = lists.flatten()  # honours slicing; drops the contents of null lists
    escaped = pc.replace_substring(pc.replace_substring(elements, "\\", "\\\\"), '"', '\\"')
    quoted = pc.fill_null(pc.binary_join_element_wise('"', escaped, '"', ""), "NULL")
    lengths = pc.fill_null(pc.list_value_length(lists), 0)
    offsets = pa.concat_arrays(
        [pa.array([0], pa.int32()), pc.cumulative_sum(lengths).cast(pa.int32())]
    )
    relisted = pa.ListArray.from_arrays(offsets, quoted, mask=lists.is_null())
    joined = pc.binary_join(relisted, ",")
    return pc.binary_join_element_wise("{", joined, "}", "")

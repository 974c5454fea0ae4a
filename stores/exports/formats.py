"""Rows -> csv / jsonl / parquet, written in chunks to a binary sink (memory per chunk only).

Rows are the records a filter answers with (stores/records.py: ids as strings, timestamps as
ISO-8601 UTC strings, lists as lists, the populated `company` as an object). jsonl writes
them as they are, one JSON object a line; csv writes one column per selected column (lists
as JSON arrays, nulls as empty fields) and the populated company as `company.<column>`
columns; parquet types each column from the record schema (timestamps as UTC timestamps,
lists as lists of strings, the company as a struct) and writes one row group per chunk.
"""

from __future__ import annotations

import csv
import gzip as gz
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any, Protocol, cast

import pyarrow as pa
import pyarrow.parquet as pq

from stores.base import Record
from stores.duckdb.schema import SPECS, arrow_type

GZIP_LEVEL = 6


class RowWriter(Protocol):
    def write(self, rows: Sequence[Record]) -> None: ...

    def close(self) -> None:
        """Finishes the file (footer, gzip trailer); the sink stays open."""
        ...


def row_writer(
    fmt: str,
    sink: IO[bytes],
    service: str,
    columns: Sequence[str],
    company_columns: Sequence[str] | None,
    gzip: bool = False,
) -> RowWriter:
    if fmt == "parquet":
        return ParquetRows(sink, record_schema(service, columns, company_columns))
    target: IO[bytes] = sink
    if gzip:
        target = cast(IO[bytes], gz.GzipFile(fileobj=sink, mode="wb",
                                             compresslevel=GZIP_LEVEL, mtime=0))
    if fmt == "csv":
        return CsvRows(target, columns, company_columns, closes=gzip)
    if fmt == "jsonl":
        return JsonLines(target, closes=gzip)
    raise ValueError(f"unknown export format {fmt!r}")


def record_schema(
    service: str, columns: Sequence[str], company_columns: Sequence[str] | None
) -> pa.Schema:
    """The Arrow schema of exported records: the record store's column types."""
    types = {name: arrow_type(kind) for name, kind in SPECS[service]}
    fields = [pa.field(c, types[c]) for c in columns]
    if company_columns is not None:
        company = {name: arrow_type(kind) for name, kind in SPECS["companies"]}
        fields.append(pa.field("company", pa.struct(
            [pa.field(c, company[c]) for c in company_columns])))
    return pa.schema(fields)


class JsonLines:
    def __init__(self, target: IO[bytes], closes: bool) -> None:
        self.target = target
        self.closes = closes

    def write(self, rows: Sequence[Record]) -> None:
        text = "".join(
            json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
        )
        self.target.write(text.encode("utf-8"))

    def close(self) -> None:
        if self.closes:
            self.target.close()


class CsvRows:
    def __init__(
        self,
        target: IO[bytes],
        columns: Sequence[str],
        company_columns: Sequence[str] | None,
        closes: bool,
    ) -> None:
        self.target = target
        self.columns = list(columns)
        self.company_columns = list(company_columns) if company_columns is not None else None
        self.closes = closes
        header = self.columns + [f"company.{c}" for c in self.company_columns or []]
        self._write_lines([header])

    def _write_lines(self, lines: list[list[str]]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(lines)
        self.target.write(buffer.getvalue().encode("utf-8"))

    def write(self, rows: Sequence[Record]) -> None:
        lines = []
        for row in rows:
            line = [_cell(row.get(c)) for c in self.columns]
            if self.company_columns is not None:
                company = row.get("company") or {}
                line += [_cell(company.get(c)) for c in self.company_columns]
            lines.append(line)
        self._write_lines(lines)

    def close(self) -> None:
        if self.closes:
            self.target.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


class ParquetRows:
    """One row group per chunk. Records carry timestamps as ISO strings; they are parsed
    back (top-level columns and the company's) before Arrow builds the chunk."""

    def __init__(self, sink: IO[bytes], schema: pa.Schema) -> None:
        self.schema = schema
        self.times = [f.name for f in schema if pa.types.is_timestamp(f.type)]
        company = schema.field("company").type if "company" in schema.names else None
        self.company_times = [f.name for f in company if pa.types.is_timestamp(f.type)] \
            if company is not None else []
        self.writer = pq.ParquetWriter(sink, schema, compression="zstd")

    def write(self, rows: Sequence[Record]) -> None:
        if not rows:
            return
        for row in rows:
            _parse_times(row, self.times)
            if self.company_times and row.get("company"):
                _parse_times(row["company"], self.company_times)
        self.writer.write_table(pa.Table.from_pylist(list(rows), schema=self.schema))

    def close(self) -> None:
        self.writer.close()


def _parse_times(row: Record, names: list[str]) -> None:
    for name in names:
        value = row.get(name)
        if isinstance(value, str):
            row[name] = datetime.fromisoformat(value)

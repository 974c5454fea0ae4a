"""The normalization entry point: one FileNormalizer per landed file, fed batch by batch.

Each normalizer owns an in-memory DuckDB connection on which the SQL project runs; the
connection also keeps what must survive from batch to batch (the ids already seen in the
file and, when it renders contacts' search documents, its companies as merged so far), so
counts and documents are right across batches while memory stays bounded by the file's
distinct entities, not its rows. A load asks for no documents (documents=False): it indexes
the merged records instead (assets/loading.py).

Counting rule, per batch and so per file: read = loaded + merged + rejected, where a row is
a contact (a company in a companies-only file), `loaded` counts ids new to this file and
`merged` the valid rows whose id the file already had.

Typical use, with the reader of stores.csvfile (prefetched() reads the next batch on another
core while this one is normalized):

    file = open_csv(stream)
    with FileNormalizer(key, run_id, now, companies_only=file.header.companies_only) as norm:
        for batch in file.prefetched():
            result = norm.process(batch)   # companies, contacts, contact_documents, rejects
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

import duckdb
import pyarrow as pa

from dbt_like_sql.runner import SqlProject, SqlSession
from dbt_like_sql.schemas import (
    COMPANIES_SCHEMA,
    CONTACT_DOCUMENTS_SCHEMA,
    CONTACTS_SCHEMA,
    INPUT_COLUMNS,
    REJECTS_SCHEMA,
)

__all__ = ["FileNormalizer", "LoadCounts", "NormalizedBatch", "conform_rows"]


class RejectLike(Protocol):
    """A row refused before normalization (stores.csvfile.RowReject has this shape)."""

    @property
    def line(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def raw(self) -> str: ...


class BatchLike(Protocol):
    """What the CSV reader yields (stores.csvfile.CsvBatch has this shape)."""

    @property
    def rows(self) -> pa.Table: ...
    @property
    def rejects(self) -> Sequence[RejectLike]: ...


@dataclass(frozen=True)
class NormalizedBatch:
    companies: pa.Table
    contacts: pa.Table
    contact_documents: pa.Table | None  # None from a FileNormalizer(documents=False)
    rejects: pa.Table
    rows_read: int
    rows_loaded: int
    rows_merged: int
    rows_rejected: int


@dataclass
class LoadCounts:
    rows_read: int = 0
    rows_loaded: int = 0
    rows_merged: int = 0
    rows_rejected: int = 0

    def add(self, batch: NormalizedBatch) -> None:
        self.rows_read += batch.rows_read
        self.rows_loaded += batch.rows_loaded
        self.rows_merged += batch.rows_merged
        self.rows_rejected += batch.rows_rejected


_ROW_SCHEMA = pa.schema(
    [pa.field(c, pa.string()) for c in INPUT_COLUMNS]
    + [pa.field("_line", pa.int64()), pa.field("_raw", pa.string())]
)


def conform_rows(rows: pa.Table) -> pa.Table:
    """The reader's shape: every input column as text (missing ones NULL), _line, _raw."""
    if rows.schema.equals(_ROW_SCHEMA):
        return rows
    n = rows.num_rows
    arrays = []
    for field in _ROW_SCHEMA:
        if field.name in rows.column_names:
            arrays.append(rows.column(field.name).cast(field.type))
        elif field.name == "_line":
            arrays.append(pa.array(range(1, n + 1), pa.int64()))
        else:
            arrays.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(arrays, schema=_ROW_SCHEMA)


class FileNormalizer:
    """Normalizes one file's batches; use as a context manager (it owns a DuckDB connection)."""

    def __init__(
        self,
        file_key: str,
        load_run: str,
        loaded_at: dt.datetime,
        *,
        companies_only: bool = False,
        documents: bool = True,
        project: SqlProject | None = None,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        if loaded_at.tzinfo is None:
            loaded_at = loaded_at.replace(tzinfo=dt.UTC)
        self.file_key = file_key
        self.load_run = load_run
        self.companies_only = companies_only
        self.documents = documents
        self.totals = LoadCounts()
        self._variables = {
            "source_file": file_key,
            "load_run": load_run,
            "loaded_at": loaded_at.astimezone(dt.UTC),
            "companies_only": companies_only,
        }
        config: dict[str, str | bool | int | float | list[str]] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self._con = duckdb.connect(":memory:", config=config)
        try:
            self._con.execute("SET TimeZone = 'UTC'").fetchall()
            project = project or _default_project()
            if not documents:  # nor the file's companies merged so far, which only they need
                project = project.subset(_WITHOUT_DOCUMENTS)
            self._session = SqlSession(project, self._con)
        except BaseException:
            self._con.close()
            raise

    def __enter__(self) -> FileNormalizer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    def process(
        self, batch: BatchLike | pa.Table, rejects: Sequence[RejectLike] = ()
    ) -> NormalizedBatch:
        """Normalizes one batch (a CsvBatch, or a table of input columns plus rejects)."""
        if isinstance(batch, pa.Table):
            rows, reader_rejects = batch, rejects
        else:
            rows, reader_rejects = batch.rows, [*batch.rejects, *rejects]
        rows = conform_rows(rows)
        result = self._session.run({"raw_rows": rows}, self._variables)
        row_rejects = self._fetch("row_rejects", None)
        all_rejects = self._rejects_table(row_rejects, reader_rejects)
        loaded = result.incremental["file_entities"].inserted
        valid = rows.num_rows - row_rejects.num_rows
        if self.documents:
            documents = self._fetch("contact_documents", CONTACT_DOCUMENTS_SCHEMA)
            contacts = documents.select(CONTACTS_SCHEMA.names)
        else:
            documents, contacts = None, self._fetch("batch_contacts", CONTACTS_SCHEMA)
        normalized = NormalizedBatch(
            companies=self._fetch("batch_companies", COMPANIES_SCHEMA),
            contacts=contacts,
            contact_documents=documents,
            rejects=all_rejects,
            rows_read=rows.num_rows + len(reader_rejects),
            rows_loaded=loaded,
            rows_merged=valid - loaded,
            rows_rejected=all_rejects.num_rows,
        )
        self.totals.add(normalized)
        return normalized

    def _fetch(self, relation: str, schema: pa.Schema | None) -> pa.Table:
        """A model's rows as Arrow, in no particular order (sorting 50k ids costs more than
        the rest of the fetch)."""
        columns = "*" if schema is None else ", ".join(f'"{n}"' for n in schema.names)
        arrow = self._con.sql(f'FROM "{relation}" SELECT {columns}').to_arrow_table()
        return arrow if schema is None else arrow.cast(schema)

    def _rejects_table(self, row_rejects: pa.Table, reader: Sequence[RejectLike]) -> pa.Table:
        lines = row_rejects.column("line").to_pylist() + [r.line for r in reader]
        reasons = row_rejects.column("reason").to_pylist() + [r.reason for r in reader]
        raws = row_rejects.column("raw").to_pylist() + [r.raw for r in reader]
        order = sorted(range(len(lines)), key=lines.__getitem__)
        return pa.Table.from_arrays(
            [
                pa.array([self.file_key] * len(lines), pa.string()),
                pa.array([self.load_run] * len(lines), pa.string()),
                pa.array([lines[i] for i in order], pa.int64()),
                pa.array([reasons[i] for i in order], pa.string()),
                pa.array([raws[i] for i in order], pa.string()),
            ],
            schema=REJECTS_SCHEMA,
        )


_PROJECT: SqlProject | None = None


# What a normalizer that renders no search documents runs (a load: its documents are the
# merged records, assets/loading.py).
_WITHOUT_DOCUMENTS = ("batch_companies", "batch_contacts", "row_rejects", "file_entities")


def _default_project() -> SqlProject:
    """The package's own project, read from disk on first use (never at import)."""
    global _PROJECT
    if _PROJECT is None:
        _PROJECT = SqlProject.load()
    return _PROJECT

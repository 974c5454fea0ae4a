"""One export: a snapshot of the stores walked into one file.

Production: a REPEATABLE READ transaction of PostgreSQL is opened first (with the dataset
version in it), then a point in time of the search index; the ids come from the point in
time in the asked order, and the rows of each page of ids from the transaction. A record a
concurrent load adds or changes after the transaction began is not in the file (a new id
the index already holds has no row in the snapshot and is left out; a changed row is read
as it was), and each id comes once, so a record is never there twice or half. Embedded: one
DuckDB transaction serves both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol, cast

from stores.base import Record
from stores.exports.files import ExportFiles
from stores.exports.formats import row_writer
from stores.exports.request import PAGE_ROWS, ExportRequest
from stores.factory import Stores
from stores.versions import DatasetVersion
from vql.nodes import Query
from vql.registry import registry


class Snapshot(Protocol):
    dataset_version: DatasetVersion

    def id_pages(self, query: Query) -> Iterator[list[str]]: ...

    def fetch(self, service: Any, ids: Sequence[str], columns: Sequence[str]) -> list[Record]: ...

    def companies_of_contacts(
        self, contact_ids: Sequence[str], columns: Sequence[str]
    ) -> dict[str, Record]: ...


@dataclass(frozen=True)
class ExportReport:
    name: str
    rows_written: int
    bytes: int
    format: str
    dataset_version: DatasetVersion

    def metadata(self) -> dict[str, Any]:
        return {"rows_written": self.rows_written, "bytes": self.bytes, "format": self.format,
                "dataset_version": self.dataset_version.version, "file": self.name}


@dataclass(frozen=True)
class Progress:
    rows: int

    def describe(self) -> str:
        return f"export: {self.rows} rows so far"


class _SearchWalk:
    """A PostgreSQL snapshot whose ids come from a point in time of the search index."""

    def __init__(self, records: Any, search: Any) -> None:
        self.records = records
        self.search = search
        self.dataset_version = records.dataset_version

    def id_pages(self, query: Query) -> Iterator[list[str]]:
        yield from self.search.walk_ids(query)

    def fetch(self, service: Any, ids: Sequence[str], columns: Sequence[str]) -> list[Record]:
        return self.records.fetch(service, ids, columns)  # type: ignore[no-any-return]

    def companies_of_contacts(
        self, contact_ids: Sequence[str], columns: Sequence[str]
    ) -> dict[str, Record]:
        return self.records.companies_of_contacts(contact_ids, columns)  # type: ignore[no-any-return]


@contextlib.contextmanager
def open_snapshot(stores: Stores) -> Iterator[Snapshot]:
    if stores.search is stores.records:  # embedded: one DuckDB transaction
        with stores.records.snapshot() as snapshot:  # type: ignore[attr-defined]
            yield snapshot
        return
    with stores.records.snapshot() as records:  # type: ignore[attr-defined]
        yield _SearchWalk(records, stores.search)


def snapshot_rows(
    snapshot: Snapshot, request: ExportRequest, page_rows: int = PAGE_ROWS
) -> Iterator[list[Record]]:
    """The records of the export, a page at a time, in the query's order, as the filter
    answers them (select_columns, the populated company)."""
    query = request.query(page_rows)
    columns, companies_layout = export_layout(request)
    populate = companies_layout is not None
    company_columns = companies_layout or []
    fetched = columns if not populate or "company_id" in columns else [*columns, "company_id"]
    left = request.max_rows
    for ids in snapshot.id_pages(query):
        if left is not None:
            ids = ids[:left]
        rows = snapshot.fetch(query.service, ids, fetched)
        if populate:
            wanted = ["id", *(c for c in company_columns if c != "id")]
            companies = snapshot.companies_of_contacts(ids, wanted)
            for row in rows:
                company = companies.get(row.get("company_id") or "")
                row["company"] = None if company is None else {
                    c: company.get(c) for c in company_columns}
                if "company_id" not in columns:
                    row.pop("company_id", None)
        yield rows
        if left is not None:
            left -= len(ids)
            if left <= 0:
                return


def export_layout(request: ExportRequest) -> tuple[list[str], list[str] | None]:
    """The file's columns and, when populated, the company's."""
    query = request.query()
    reg = registry(query.service)
    columns = [c for c in (query.select_columns or reg.select_columns) if c != "company"]
    config = query.company_config
    if config is None or not config.populate:
        return columns, None
    return columns, list(config.select_columns or reg.company_select_columns)


def run_export(
    stores: Stores,
    files: ExportFiles,
    request: ExportRequest,
    export_id: str,
    *,
    page_rows: int = PAGE_ROWS,
    progress: Callable[[Progress], None] = lambda p: None,
    progress_every: int = 50_000,
) -> ExportReport:
    """Writes the export to `<export_id><suffix>`, published only when complete."""
    name = export_id + request.suffix
    columns, company_columns = export_layout(request)
    rows_written = 0
    reported = 0
    with open_snapshot(stores) as snapshot, files.writer(name) as sink:
        writer = row_writer(request.format, cast(IO[bytes], sink), request.service, columns,
                            company_columns, request.gzip)
        try:
            for rows in snapshot_rows(snapshot, request, page_rows):
                writer.write(rows)
                rows_written += len(rows)
                if rows_written - reported >= progress_every:
                    reported = rows_written
                    progress(Progress(rows_written))
        finally:
            writer.close()  # on failure too: the unpublished file is then discarded whole
        version = snapshot.dataset_version
        size = sink.bytes
    progress(Progress(rows_written))
    return ExportReport(name, rows_written, size, request.format, version)

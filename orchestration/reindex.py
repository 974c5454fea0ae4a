"""Rebuilding the search index from the records, as plain functions the job, the CLI and
tests call.

The records are the source of truth and the index is derived from them, so it can always be
rebuilt: each service's rows stream out of PostgreSQL in Arrow batches (a server-side
cursor), are cast to the very document shapes the loader indexes (dbt_like_sql.schemas:
COMPANIES_SCHEMA, CONTACT_DOCUMENTS_SCHEMA, i.e. the contacts with their company's fields
as `company_*`), and are written by the search store's bulk writer into a new versioned
index whose alias is swapped in at the end (stores/search/rebuild.py). Memory holds about
one batch and the bulk chunks in flight, whatever the table's size.

With `files`, nothing is rebuilt: the records whose newest load came from those files are
projected again and upserted into the live alias (drift repair).

The embedded profile has no index apart from its records (DuckDB answers searches from
the same tables), so there is nothing to rebuild there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dbt_like_sql.schemas import COMPANIES_SCHEMA, CONTACT_DOCUMENTS_SCHEMA
from stores.base import Service
from stores.factory import Stores
from stores.postgres import PostgresRecordStore
from stores.search import SearchEngineStore

# Companies first: a contact document carries its company's fields, and a rebuild of both
# that stops half-way leaves the smaller index done.
SERVICES: tuple[Service, ...] = ("companies", "contacts")
DOCUMENT_SCHEMAS: dict[Service, pa.Schema] = {
    "companies": COMPANIES_SCHEMA,
    "contacts": CONTACT_DOCUMENTS_SCHEMA,
}
NOTHING_TO_REBUILD = (
    "embedded profile: DuckDB holds the records and answers the searches from the same "
    "tables; there is no separate search index to rebuild"
)


def documents(rows: pa.Table, service: Service) -> pa.Table:
    """Record-store rows of a service as the search documents the loader writes."""
    schema = DOCUMENT_SCHEMAS[service]
    return rows.select(schema.names).cast(schema)


@dataclass
class ServiceProgress:
    service: Service
    target: str
    total: int
    started: float = field(default_factory=time.monotonic)
    rows_read: int = 0
    batches: int = 0
    documents_written: int = 0
    seconds: float = 0.0

    def write_into(self, index: str) -> None:
        self.target = index

    @property
    def rows_per_second(self) -> float:
        elapsed = self.seconds or time.monotonic() - self.started
        return self.rows_read / max(elapsed, 1e-6)

    def describe(self) -> str:
        share = self.rows_read / self.total if self.total else 1.0
        return (
            f"reindex {self.service}: {self.rows_read:,} of {self.total:,} rows read "
            f"({share:.0%}, {self.rows_per_second:,.0f} rows/s) into {self.target}"
        )


@dataclass
class ReindexReport:
    mode: str  # "rebuild", "files" or "nothing"
    services: list[ServiceProgress] = field(default_factory=list)
    swaps: list[str] = field(default_factory=list)  # one line per rebuilt service
    files: tuple[str, ...] = ()
    message: str = ""

    @property
    def documents(self) -> int:
        return sum(s.documents_written for s in self.services)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.services)

    def describe(self) -> str:
        if self.mode == "nothing":
            return self.message
        parts = [
            f"{s.service} {s.documents_written:,} ({s.rows_per_second:,.0f} rows/s)"
            for s in self.services
        ]
        what = "rebuilt" if self.mode == "rebuild" else f"{len(self.files)} file(s) re-projected"
        return f"reindex {what}: {', '.join(parts)} in {self.seconds:.1f} s"

    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = {"mode": self.mode, "seconds": round(self.seconds, 3)}
        for s in self.services:
            data[f"{s.service}_documents"] = s.documents_written
            data[f"{s.service}_rows_per_second"] = round(s.rows_per_second, 1)
            data[f"{s.service}_index"] = s.target
        if self.files:
            data["files"] = list(self.files)
        if self.swaps:
            data["swaps"] = "\n".join(self.swaps)
        if self.message:
            data["message"] = self.message
        return data


def reindex(
    stores: Stores,
    batch_rows: int,
    files: Sequence[str] | None = None,
    progress: Callable[[ServiceProgress], None] = lambda p: None,
) -> ReindexReport:
    """Rebuilds every service's index from the records (or, with `files`, upserts the
    documents of those files' records into the live index); progress after each batch."""
    records, search = stores.records, stores.search
    if not isinstance(records, PostgresRecordStore) or not isinstance(search, SearchEngineStore):
        return ReindexReport("nothing", message=NOTHING_TO_REBUILD)
    chosen = None if files is None else tuple(files)
    report = ReindexReport("rebuild" if chosen is None else "files", files=chosen or ())
    for service in SERVICES:
        state = ServiceProgress(service, search.alias(service), 0)
        state.total = records.count_search_rows(service, chosen)
        batches = _batches(records.search_rows(service, batch_rows, chosen), state, progress)
        if chosen is None:
            state.target = "the new index"
            rebuilt = search.rebuild(service, batches, created=state.write_into)
            state.documents_written = rebuilt.documents
            report.swaps.append(rebuilt.describe())
        else:
            state.documents_written = search.bulk_upsert_all(service, batches)
        state.seconds = time.monotonic() - state.started
        report.services.append(state)
    if chosen is not None:
        search.refresh()
    return report


def _batches(
    rows: Iterator[pa.Table],
    state: ServiceProgress,
    progress: Callable[[ServiceProgress], None],
) -> Iterator[pa.Table]:
    for batch in rows:
        state.rows_read += batch.num_rows
        state.batches += 1
        yield documents(batch, state.service)
        progress(state)

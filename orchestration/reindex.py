"""Rebuilding the search index from the records, as plain functions the job, the CLI and
tests call.

The records are the source of truth and the index is derived from them, so it can always be
rebuilt: each service's rows stream out of PostgreSQL in Arrow batches (a server-side
cursor), are cast to the very document shapes the loader indexes (dbt_like_sql.schemas:
COMPANIES_SCHEMA, CONTACT_DOCUMENTS_SCHEMA, i.e. the contacts with their company's fields
as `company_*`), and are written by the search store's bulk writer into a new versioned
index whose alias is swapped in at the end (stores/search/rebuild.py). Memory holds about
one batch and the bulk chunks in flight, whatever the table's size.

Loads may run meanwhile (`connectra reindex` and the job do not wait for them): a record a
load writes after the snapshot was taken is in the live index, not in the new one, and would
be lost with the old index at the swap. So before the swap the records rewritten since the
snapshot began (PostgreSQL row versions: stores/postgres/changes.py) are written into the
new index, once while loads go on, then once more holding the index-writes lock that every
load batch holds (shared) until both its writes are done; the alias moves before that lock
is let go. A batch that was in flight is then in the records (and carried over), and one
that waited writes the new index. Loads pause for that last step only (the writes of the
first pass, usually seconds).

With `files`, nothing is rebuilt: the records that any of those files contributed to are
projected again and upserted into the live alias (drift repair), followed by the same
carry-over, since an older snapshot's values may have landed over a load's newer ones.

The embedded profile has no index apart from its records (DuckDB answers searches from
the same tables), so there is nothing to rebuild there.
"""

from __future__ import annotations

import functools
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
from stores.search.rebuild import Rebuilt

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
    caught_up: int = 0  # documents of records that loads rewrote while this ran
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
            f"{s.service} {s.documents_written:,} ({s.rows_per_second:,.0f} rows/s"
            + (f", {s.caught_up:,} rewritten meanwhile carried over)" if s.caught_up else ")")
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
            data[f"{s.service}_carried_over"] = s.caught_up
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
    services: Sequence[Service] = SERVICES,
) -> ReindexReport:
    """Rebuilds every service's index (of `services`) from the records (or, with `files`,
    upserts the documents of those files' records into the live index); progress after each
    batch. Loads may run meanwhile: what they write is carried over (see the module's doc)."""
    records, search = stores.records, stores.search
    if not isinstance(records, PostgresRecordStore) or not isinstance(search, SearchEngineStore):
        return ReindexReport("nothing", message=NOTHING_TO_REBUILD)
    chosen = None if files is None else tuple(files)
    report = ReindexReport("rebuild" if chosen is None else "files", files=chosen or ())
    for service in [s for s in SERVICES if s in services]:
        state = ServiceProgress(service, search.alias(service), 0)
        state.total = records.count_search_rows(service, chosen)
        marker = records.change_marker()  # before the snapshot the batches are read from
        batches = _batches(records.search_rows(service, batch_rows, chosen), state, progress)
        if chosen is None:
            rebuilt = _rebuild(stores, records, search, service, batches, marker, state, batch_rows)
            state.documents_written = rebuilt.documents
            report.swaps.append(rebuilt.describe())
        else:
            state.documents_written = search.bulk_upsert_all(service, batches)
            state.caught_up = _carry_over(
                stores, records, service, marker, batch_rows,
                write=functools.partial(search.bulk_upsert_all, service),
            )  # fmt: skip
        state.seconds = time.monotonic() - state.started
        report.services.append(state)
    if chosen is not None:
        search.refresh()
    return report


def _rebuild(
    stores: Stores,
    records: PostgresRecordStore,
    search: SearchEngineStore,
    service: Service,
    batches: Iterator[pa.Table],
    marker: int,
    state: ServiceProgress,
    batch_rows: int,
) -> Rebuilt:
    build = search.index_build(service)
    try:
        state.write_into(build.begin())
        state.documents_written = build.write(batches)
        build.settle()
        state.caught_up = _carry_over(
            stores, records, service, marker, batch_rows, write=build.write,
            finish=lambda: build.swap(expected=records.count_search_rows(service)),
        )  # fmt: skip
    except BaseException:
        build.discard()
        raise
    return build.retire()


def _carry_over(
    stores: Stores,
    records: PostgresRecordStore,
    service: Service,
    marker: int,
    batch_rows: int,
    write: Callable[[Iterator[pa.Table]], int],
    finish: Callable[[], None] = lambda: None,
) -> int:
    """Writes the documents of the records rewritten since `marker` (by loads that ran
    meanwhile): once while loads go on, then, holding the index-writes lock (no batch half
    written, none starting), what they rewrote during that first pass, and `finish` (the
    alias swap) before the lock is let go. Returns the documents written."""

    def rewritten(since: int) -> Iterator[pa.Table]:
        rows = records.search_rows(service, batch_rows, rewritten_since_marker=since)
        return (documents(batch, service) for batch in rows)

    second = records.change_marker()
    written = write(rewritten(marker))
    with stores.index_writes(exclusive=True):
        written += write(rewritten(second))
        finish()
    return written


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

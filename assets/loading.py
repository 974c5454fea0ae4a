"""Loading one landed file, as plain functions the assets, the CLI and tests call.

The file streams through in batches: read (stores.csvfile) -> normalize (dbt_like_sql on
DuckDB) -> merge into the records -> index the merged records (their projection, rendered
by PostgreSQL). Batch n+1 is parsed (on the reader's thread) and normalized while batch n is
being written, and merged while batch n is being indexed; at most two batches are in
flight, so memory is bounded by a few batches whatever the file's size. A load stopped
midway (its run terminated, a bad batch) abandons the write in flight: it finishes what it
is doing (whole transactions only) but waits for nothing more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from assets import heap
from dbt_like_sql.normalize import FileNormalizer, NormalizedBatch
from stores import abandon
from stores.csvfile import HeaderReport, open_csv
from stores.factory import Stores
from stores.landing import LandingZone

# BATCH_SIZE_FOR_INSERTION rows is one write unit of the Go version; reading and normalizing
# that few rows at a time would spend more on per-batch overhead (about 80 ms of DuckDB
# set-up per batch) than on rows, so a read batch holds this many write units, written in
# one transaction / one bulk stream. Memory follows the read batch (three are alive at once:
# being parsed, normalized, written): at the default 500 rows, 40 units (20,000 rows) keep a
# load under ~500 MB at 1M rows (100 units took ~1 GB before assets/heap.py); 20 units take
# less but cost ~35% more normalization time, which on 2 cores is taken from the search
# engine's indexing (BENCHMARKS.md, "Memory").
READ_BATCH_FACTOR = 40


@dataclass(frozen=True)
class FileReport:
    key: str
    version: str
    size: int
    header: HeaderReport

    def metadata(self) -> dict[str, Any]:
        h = self.header
        return {
            "file_key": self.key,
            "file_version": self.version,
            "size_bytes": self.size,
            "encoding": h.encoding,
            "compressed": h.compressed,
            "delimiter": h.delimiter,
            "layout": h.layout,
            "columns_mapped": h.mapped,
            "columns_ignored": list(h.ignored),
        }


@dataclass
class LoadProgress:
    key: str
    size: int
    started: float = field(default_factory=time.monotonic)
    bytes_read: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_merged: int = 0
    rows_rejected: int = 0
    batches: int = 0

    @property
    def accounted_for(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_merged + self.rows_rejected

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / max(time.monotonic() - self.started, 1e-6)

    @property
    def share_done(self) -> float:
        return min(1.0, self.bytes_read / self.size) if self.size else 1.0

    def add(self, batch: NormalizedBatch) -> None:
        self.batches += 1
        self.rows_read += batch.rows_read
        self.rows_loaded += batch.rows_loaded
        self.rows_merged += batch.rows_merged
        self.rows_rejected += batch.rows_rejected

    def describe(self) -> str:
        return (
            f"{self.key}: {self.rows_read:,} rows read ({self.share_done:.0%} of the file, "
            f"{self.rows_per_second:,.0f} rows/s): {self.rows_loaded:,} loaded, "
            f"{self.rows_merged:,} merged, {self.rows_rejected:,} rejected"
        )

    def metadata(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_merged": self.rows_merged,
            "rows_rejected": self.rows_rejected,
            "batches": self.batches,
            "seconds": round(time.monotonic() - self.started, 3),
            "rows_per_second": round(self.rows_per_second, 1),
        }


@dataclass(frozen=True)
class Agreement:
    """Whether the record store and the search store hold the same ids for a file."""

    records: int
    documents: int
    only_in_records: int
    only_in_search: int

    @property
    def passed(self) -> bool:
        return self.only_in_records == 0 and self.only_in_search == 0

    def metadata(self) -> dict[str, Any]:
        return {
            "ids_in_records": self.records,
            "ids_in_search": self.documents,
            "only_in_records": self.only_in_records,
            "only_in_search": self.only_in_search,
        }


class _CountingStream:
    """Counts the bytes read from the landed file, for 'share of the file done'."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self.inner.read(size)
        self.count += len(data)
        return data


def check_file(landing: LandingZone, key: str) -> FileReport:
    """Opens the file and reads its header: raises CsvFileError saying why it cannot load."""
    landed = landing.stat(key)
    stream = landing.open(key)
    try:
        header = open_csv(stream, batch_rows=1).header
    finally:
        stream.close()
    return FileReport(key=key, version=landed.version, size=landed.size, header=header)


@dataclass(frozen=True)
class BatchWrite:
    """A batch being written: `upserted` once its records are merged (the next batch may
    start its own upsert then), `done` once it is in both stores."""

    upserted: Future[None]
    done: Future[None]


def write_batch(
    stores: Stores, batch: NormalizedBatch, pool: ThreadPoolExecutor, abandoned: threading.Event
) -> BatchWrite:
    """Starts writing one normalized batch on the pool's threads.

    The records are merged first and the search documents are their projection, indexed
    whole while the merge's transaction still holds the rows (RecordStore.upserted_documents;
    on the embedded profile the records are the index, so there are none): one merge rule,
    the records', so the stores agree by construction, and two loads of the same record index
    it in the order they merged it. The batch holds the index-writes lock (shared) from
    before its record write until its search write is done, so a reindex's alias swap never
    falls between the two: the batch is in the records before the swap's last catch-up reads
    them, or its search write goes to the new index. Once `abandoned` is set, what the writes
    still wait for (the DuckDB file's turn, a bulk retry's pause) raises OperationAbandoned
    instead (stores/abandon.py)."""
    upserted: Future[None] = Future()

    def write() -> None:
        with stores.index_writes(), abandon.scope(abandoned):
            with stores.records.upserted_documents(batch.companies, batch.contacts) as documents:
                upserted.set_result(None)
                for service, sources in documents.items():
                    stores.search.index_documents(service, sources)
            stores.records.insert_rejects(batch.rejects)

    def settle(done: Future[None]) -> None:
        """A batch that failed before its records were merged fails `upserted` too, so the
        next batch is not started after it."""
        if upserted.done():
            return
        failure = None if done.cancelled() else done.exception()
        if failure is None:
            upserted.set_result(None)
        else:
            upserted.set_exception(failure)

    done = pool.submit(write)
    done.add_done_callback(settle)
    return BatchWrite(upserted, done)


@contextmanager
def _abandon_on_error(abandoned: threading.Event) -> Iterator[None]:
    """Sets `abandoned` when the block raises (the run terminated: SIGINT reaches the main
    thread only), before the pool is shut down, which waits for the writes in flight."""
    try:
        yield
    except BaseException:
        abandoned.set()
        raise


def load_file(
    landing: LandingZone,
    key: str,
    stores: Stores,
    load_run: str,
    batch_rows: int,
    progress: Callable[[LoadProgress], None] = lambda p: None,
) -> LoadProgress:
    """Streams one landed file into both stores; returns the counts of what happened."""
    heap.use_returning_allocator()
    landed = landing.stat(key)
    state = LoadProgress(key=key, size=landed.size)
    stream = _CountingStream(landing.open(key))
    loaded_at = datetime.now(UTC)
    in_flight: list[BatchWrite] = []
    abandoned = threading.Event()
    try:
        csv_file = open_csv(stream, batch_rows=batch_rows * READ_BATCH_FACTOR)
        with (
            FileNormalizer(
                key,
                load_run,
                loaded_at,
                companies_only=csv_file.header.companies_only,
                documents=False,  # the search documents are the merged records' projection
            ) as normalizer,
            ThreadPoolExecutor(3, thread_name_prefix="connectra-write") as pool,
            _abandon_on_error(abandoned),
        ):
            for raw in csv_file.prefetched():  # the next batch is parsed meanwhile
                batch = normalizer.process(raw)
                # The previous batch's records must be merged before this batch's (rows it
                # shares with them then wait for its commit), and the one before it done:
                # batch n is indexed while batch n+1 is merged, two batches at most in flight.
                if in_flight:
                    in_flight[-1].upserted.result()
                for write in in_flight[:-1]:
                    write.done.result()
                in_flight = in_flight[-1:]
                heap.trim()
                in_flight.append(write_batch(stores, batch, pool, abandoned))
                state.add(batch)
                state.bytes_read = stream.count
                progress(state)
            for write in in_flight:
                write.done.result()
    finally:
        stream.inner.close()
    stores.search.refresh()
    state.bytes_read = landed.size
    return state


def stores_agree(stores: Stores, key: str) -> Agreement:
    """Compares the ids each store holds for the file, service by service. Both stores hand
    their ids over in ascending order, so they are walked side by side and never held (as
    Python sets, a million-row file's ids raised the loader's peak by ~110 MB)."""
    contacts, companies = (
        _walk_both(stores.records.ids_for_file(s, key), stores.search.ids_for_file(s, key))
        for s in ("contacts", "companies")
    )
    return Agreement(
        records=contacts.records + companies.records,
        documents=contacts.documents + companies.documents,
        only_in_records=contacts.only_in_records + companies.only_in_records,
        only_in_search=contacts.only_in_search + companies.only_in_search,
    )


def _walk_both(records: Iterator[str], search: Iterator[str]) -> Agreement:
    """Merges two ascending id streams, counting the ids of each and those only one has."""
    in_records = in_search = only_in_records = only_in_search = 0
    r, s = next(records, None), next(search, None)
    while r is not None or s is not None:
        if s is None or (r is not None and r < s):
            in_records, only_in_records = in_records + 1, only_in_records + 1
            r = next(records, None)
        elif r is None or s < r:
            in_search, only_in_search = in_search + 1, only_in_search + 1
            s = next(search, None)
        else:
            in_records, in_search = in_records + 1, in_search + 1
            r, s = next(records, None), next(search, None)
    return Agreement(in_records, in_search, only_in_records, only_in_search)

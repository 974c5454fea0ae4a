"""Arrow table -> partial-update `_bulk` requests, sized by bytes, sent by a few threads.

`write_sources` writes whole documents as they come (`index` actions): what a load sends,
the records' projection (stores/postgres/scan.py). For partial documents (`write_all`),
each row becomes an `update` whose script (stores/search/lineage.py) applies the stores'
merge rule in the engine: a new non-null value wins (nulls are left out of the document, so
a null never erases), source_file gathers every contributing file, created_at and
first_seen stay, last_seen moves forward. The `_id` is the row's deterministic id, so a
reload rewrites the same documents. `require_alias` keeps a
write from auto-creating an unmapped index when the indices were never set up.

Per-item results are read, not assumed: items rejected for load (429, 502/503/504) are sent
again with backoff; any other rejected item (a mapping error names its field) ends the call
with TerminalStoreError, after the requests already in flight have finished. Nothing is
silently dropped.
"""

from __future__ import annotations

import contextvars
import json
import logging
import random
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from stores import abandon
from stores.errors import StoreError, TerminalStoreError, TransientStoreError
from stores.records import iso_utc_text
from stores.search.dialect import Dialect
from stores.search.errors import TIMEOUT_STATUSES, TRANSIENT_STATUSES, from_status, translate
from stores.search.lineage import merge_update


def _json_default(value: Any) -> Any:
    """Values json_ready could not reach (inside lists or structs)."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


try:  # orjson is several times faster when present; the standard library is the fallback
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value, default=_json_default)

except ImportError:  # pragma: no cover - depends on the environment
    _encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)

    def _dumps(value: Any) -> bytes:
        return _encoder.encode(value).encode("utf-8")


log = logging.getLogger(__name__)
# 409: another writer updated the same document between our read and write (after the
# engine's own retry_on_conflict attempts); the partial update is safe to apply again.
RETRY_STATUSES = TRANSIENT_STATUSES | TIMEOUT_STATUSES | {409}
RETRY_ON_CONFLICT = 3
FILTER_PATH = "errors,items.*.status,items.*.error"  # positions map results to items
BulkAction = Literal["update", "index"]


@dataclass(frozen=True)
class BulkOptions:
    chunk_bytes: int = 6 * 1024 * 1024
    max_actions: int = 10_000
    threads: int = 3
    max_attempts: int = 6  # per chunk, for load-shedding answers and transient failures
    backoff_seconds: float = 0.5
    timeout_seconds: float = 120.0
    rows_per_batch: int = 20_000  # rows turned into Python objects at a time


class BulkWriter:
    """`scripted`: updates run the merge script; False (an engine without Painless): they
    are plain `doc_as_upsert` partial updates of documents already merged by the caller."""

    def __init__(
        self, dialect: Dialect, options: BulkOptions | None = None, scripted: bool = True
    ) -> None:
        self.dialect = dialect
        self.options = options or BulkOptions()
        self.scripted = scripted

    def write(self, alias: str, documents: pa.Table) -> int:
        """Upserts every row of `documents` into `alias`; returns the number of actions sent."""
        if documents.num_rows == 0:
            return 0
        return self.write_all(alias, [documents])

    def write_all(
        self, alias: str, tables: Iterable[pa.Table], action: BulkAction = "update"
    ) -> int:
        """Writes every row of a stream of tables, keeping the senders busy across tables
        (a table is pulled when the chunks need more rows, so memory holds about one table
        plus the chunks in flight). `index` writes whole documents: for a new, empty index,
        where it is the cheaper action and means the same as an upsert."""
        return self._send_all(self._lines(alias, tables, action))

    def write_sources(self, alias: str, sources: Iterable[tuple[str, str]]) -> int:
        """Writes whole documents given as (id, JSON text) with `index` actions: for
        documents that are already the record as merged (the records' projection,
        stores/postgres/scan.py), which the engine stores as they are. Each is encoded
        as its chunk is built, so a batch's documents are held once, as text."""
        head = b'{"index":{"_index":' + _dumps(alias) + b',"_id":'
        tail = b',"require_alias":true}}\n'
        return self._send_all(
            (doc_id, b"".join((head, _dumps(doc_id), tail, source.encode(), b"\n")))
            for doc_id, source in sources
        )

    def _send_all(self, lines: Iterable[tuple[str, bytes]]) -> int:
        sent = 0
        inflight: deque[Future[None]] = deque()
        with ThreadPoolExecutor(self.options.threads, thread_name_prefix="bulk") as pool:
            try:
                for chunk in chunked(lines, self.options):
                    while len(inflight) >= self.options.threads + 1:
                        inflight.popleft().result()
                    abandon.check(self.dialect.engine)  # a stopped load sends no more
                    # The senders see this thread's abandon scope (stores/abandon.py).
                    inflight.append(pool.submit(contextvars.copy_context().run, self._send, chunk))
                    sent += len(chunk)
                while inflight:
                    inflight.popleft().result()
            except BaseException:
                for future in inflight:
                    future.cancel()
                raise
        return sent

    def _lines(
        self, alias: str, tables: Iterable[pa.Table], action: BulkAction
    ) -> Iterator[tuple[str, bytes]]:
        for table in tables:
            if table.num_rows:
                check_ids(self.dialect, table)
                yield from encode(alias, table, self.options, action, self.scripted)

    def _send(self, items: list[tuple[str, bytes]]) -> None:
        """One chunk, retried until every item is in or one fails for good."""
        pending = items
        last: StoreError | None = None
        for attempt in range(self.options.max_attempts):
            if attempt:
                self._pause(attempt)
            try:
                response = self.dialect.bulk(
                    b"".join(line for _, line in pending), FILTER_PATH, self.options.timeout_seconds
                )
            except Exception as exc:
                error = translate(self.dialect, exc, "bulk upsert")
                if not isinstance(error, TransientStoreError):
                    raise error from exc
                last = error
                continue
            if not response.get("errors"):
                return
            pending, last = self._rejected(pending, response.get("items", []))
            if not pending:
                return
            log.info("bulk upsert: %d documents rejected for load, sending again", len(pending))
        kind: type[TransientStoreError] = (
            type(last) if isinstance(last, TransientStoreError) else TransientStoreError
        )
        raise kind(
            self.dialect.engine,
            f"bulk upsert: {len(pending)} documents still rejected after "
            f"{self.options.max_attempts} attempts ({last.message if last else 'unknown'})",
        )

    def _rejected(
        self, pending: list[tuple[str, bytes]], results: list[dict[str, Any]]
    ) -> tuple[list[tuple[str, bytes]], StoreError | None]:
        """The items to send again; raises for an item that can never succeed."""
        if len(results) != len(pending):
            raise TerminalStoreError(
                self.dialect.engine,
                f"bulk upsert: {len(results)} results for {len(pending)} actions",
            )
        again: list[tuple[str, bytes]] = []
        last: StoreError | None = None
        for item, result in zip(pending, results, strict=True):
            outcome = next(iter(result.values()))
            status = int(outcome.get("status", 500))
            if status < 300:
                continue
            error = outcome.get("error") or {}
            if not isinstance(error, dict):
                error = {"reason": str(error)}
            cause = error.get("caused_by") or {}
            reason = str(error.get("reason") or "")
            caused = str(cause.get("reason") or "") if isinstance(cause, dict) else ""
            if caused and caused not in reason:
                reason = f"{reason}: {caused}"
            failure = from_status(
                self.dialect, status, str(error.get("type", "")), reason, f"document {item[0]}"
            )
            if status in RETRY_STATUSES:
                again.append(item)
                last = failure
                continue
            # Its own kind: a missing index (IndexMissing) is waited for, a bad document not.
            raise type(failure)(self.dialect.engine, f"bulk upsert: {failure.message}")
        return again, last

    def _pause(self, attempt: int) -> None:
        base = self.options.backoff_seconds * (2 ** (attempt - 1))
        abandon.pause(self.dialect.engine, min(base, 10.0) * (0.5 + random.random()))


def check_ids(dialect: Dialect, documents: pa.Table) -> None:
    if "id" not in documents.column_names:
        raise TerminalStoreError(dialect.engine, "bulk upsert: the documents have no id column")
    if documents.column("id").null_count:
        raise TerminalStoreError(dialect.engine, "bulk upsert: some documents have a null id")


def encode(
    alias: str,
    documents: pa.Table,
    options: BulkOptions,
    action: BulkAction = "update",
    scripted: bool = True,
) -> Iterator[tuple[str, bytes]]:
    """(id, action line + partial document line) per distinct id, in table order."""
    if action == "index":
        head = b'{"index":{"_index":' + _dumps(alias) + b',"_id":'
        tail = b',"require_alias":true}}\n'
    else:
        head = b'{"update":{"_index":' + _dumps(alias) + b',"_id":'
        tail = b',"require_alias":true,"retry_on_conflict":%d}}\n' % RETRY_ON_CONFLICT
    for doc_id, doc in documents_of(json_ready(documents), options.rows_per_batch):
        try:
            if action == "index":
                source = _dumps(doc)
            elif scripted:
                source = _dumps(merge_update(doc))
            else:
                source = _dumps({"doc": doc, "doc_as_upsert": True})
        except (TypeError, ValueError) as exc:
            raise TerminalStoreError("search", f"bulk upsert: document {doc_id}: {exc}") from exc
        yield doc_id, head + _dumps(doc_id) + tail + source + b"\n"


def documents_of(table: pa.Table, rows_per_batch: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Rows as dicts without their nulls; rows sharing an id merged (a later non-null wins).

    Merging here keeps the outcome independent of which thread sends which chunk first.
    """
    ids = table.column("id")
    if pc.count_distinct(ids).as_py() < table.num_rows:
        merged: dict[str, dict[str, Any]] = {}
        for doc_id, doc in _rows(table, rows_per_batch):
            merged.setdefault(doc_id, {}).update(doc)
        yield from merged.items()
        return
    yield from _rows(table, rows_per_batch)


def _rows(table: pa.Table, rows_per_batch: int) -> Iterator[tuple[str, dict[str, Any]]]:
    names = table.column_names
    at = names.index("id")
    for batch in table.to_batches(max_chunksize=rows_per_batch):
        columns = [column.to_pylist() for column in batch.columns]
        for row in zip(*columns, strict=True):
            yield str(row[at]), {n: v for n, v in zip(names, row, strict=True) if v is not None}


def chunked(
    items: Iterable[tuple[str, bytes]], options: BulkOptions
) -> Iterator[list[tuple[str, bytes]]]:
    chunk: list[tuple[str, bytes]] = []
    size = 0
    for item in items:
        chunk.append(item)
        size += len(item[1])
        if size >= options.chunk_bytes or len(chunk) >= options.max_actions:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def json_ready(table: pa.Table) -> pa.Table:
    """Columns the JSON encoder takes as they are: dates and times as ISO-8601 UTC strings.

    Done column-wise in Arrow, which is much faster than converting datetimes row by row.
    """
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_timestamp(kind):
            column = iso_utc_text(column)
        elif pa.types.is_date(kind):
            column = column.cast(pa.string())
        elif pa.types.is_decimal(kind):
            column = column.cast(pa.float64())
        elif pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)

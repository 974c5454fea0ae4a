"""The stores a profile uses, built from Settings in one place.

Production: PostgreSQL keeps the records, OpenSearch / Elasticsearch finds ids. Embedded:
one DuckDB file plays both roles. Cursors are signed with one secret per deployment, so a
cursor handed out by one API process is accepted by another.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import AbstractContextManager
from dataclasses import dataclass

from stores.base import RecordStore, SearchStore
from stores.settings import Settings
from vql import CursorCodec

# How long a load batch waits for a reindex's alias swap to finish (it takes seconds), and
# how long the swap waits for the batches in flight to be written (one read batch each).
BATCH_WAITS_FOR_SWAP_S = 120.0
SWAP_WAITS_FOR_BATCHES_S = 300.0


@dataclass(frozen=True)
class Stores:
    records: RecordStore
    search: SearchStore
    cursors: CursorCodec

    def index_writes(self, *, exclusive: bool = False) -> AbstractContextManager[None]:
        """The lock that orders writes to the search index against a reindex's alias swap
        (RecordStore.index_writes): a load batch holds it shared, the swap exclusively."""
        wait = SWAP_WAITS_FOR_BATCHES_S if exclusive else BATCH_WAITS_FOR_SWAP_S
        return self.records.index_writes(self.search.index_prefix, exclusive=exclusive, wait_s=wait)

    def close(self) -> None:
        self.records.close()
        if self.search is not self.records:
            self.search.close()


def cursor_secret(settings: Settings) -> bytes:
    """CURSOR_SECRET when set, else derived from the API keys (stable across processes)."""
    if settings.cursor_secret is not None:
        return settings.cursor_secret.get().encode()
    material = "\n".join(sorted(k.get() for k in settings.api_keys)) or str(settings.home)
    return hmac.new(b"connectra-cursor-v1", material.encode(), hashlib.sha256).digest()


def open_stores(settings: Settings, index_prefix: str | None = None) -> Stores:
    """The stores of the settings' profile; index_prefix overrides SEARCH_INDEX_PREFIX."""
    if index_prefix is None:
        index_prefix = settings.search_index_prefix
    cursors = CursorCodec(cursor_secret(settings))
    if settings.postgres is not None and settings.search is not None:
        from stores.postgres import PostgresRecordStore
        from stores.search import make_search_store

        return Stores(
            records=PostgresRecordStore(settings.postgres.url()),
            search=make_search_store(settings.search, index_prefix, cursors=cursors),
            cursors=cursors,
        )
    from stores.duckdb import DuckDBStore

    store = DuckDBStore(
        settings.duckdb_path, cursors=cursors, filter_cache_mb=settings.filter_cache_mb
    )
    return Stores(records=store, search=store, cursors=cursors)

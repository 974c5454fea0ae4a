"""The embedded DuckDB store: records and search on one file under CONNECTRA_HOME.

    store = DuckDBStore(settings.duckdb_path, cursors=codec)  # or DuckDBStore.from_settings
    store.migrate()                                          # `connectra migrate`; idempotent

One object plays both roles of stores/base.py (RecordStore and SearchStore). How several
processes share the file (the API reading while a Dagster run loads) is explained in
stores/duckdb/access.py.
"""

from __future__ import annotations

from stores.duckdb.access import FileAccess, Timing
from stores.duckdb.migrate import HEAD as SCHEMA_VERSION
from stores.duckdb.store import DuckDBStore

__all__ = ["SCHEMA_VERSION", "DuckDBStore", "FileAccess", "Timing"]

"""The embedded profile's data: the same normalized batches written through DuckDBStore.

The file is made fresh each run (bench work folder), the schema migrated, then each batch
upserted as the load would (companies, contacts, rejects), so the queries of the embedded
profile run on the very rows PostgreSQL and OpenSearch hold.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

from bench.data import NormalizedFile
from bench.env import BenchEnv
from bench.procstat import CpuMeter
from stores.duckdb import DuckDBStore


def load_duckdb(env: BenchEnv, normalized: NormalizedFile) -> dict[str, Any]:
    shutil.rmtree(env.duckdb_path.parent, ignore_errors=True)
    env.duckdb_path.parent.mkdir(parents=True)
    store = DuckDBStore(env.duckdb_path)
    store.migrate()
    spent = 0.0
    meter = CpuMeter().__enter__()
    for batch in range(normalized.batches):
        companies = normalized.table(batch, "companies")
        contacts = normalized.contacts_of(normalized.table(batch, "documents"))
        rejects = normalized.table(batch, "rejects")
        started = time.perf_counter()
        store.upsert_companies(companies)
        store.upsert_contacts(contacts)
        store.insert_rejects(rejects)
        spent += time.perf_counter() - started
    meter.__exit__(None, None, None)
    cores = meter.cores
    contacts_count = store.count_rows("contacts")
    store.close()
    return {"seconds": round(spent, 3), "contacts": contacts_count,
            "rows_per_s": round(normalized.rows_read / spent, 1), "cpu_cores": cores,
            "file_mb": round(env.duckdb_path.stat().st_size / 1e6, 1)}

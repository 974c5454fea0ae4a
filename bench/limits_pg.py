"""The PostgreSQL side's limits, on the normalized batches the load writes.

- raw COPY: each batch's companies and contacts, rendered to COPY text *before* the clock
  starts (with the store's own renderer, stores/postgres/staging.csv_chunks), COPYed into
  plain (logged) tables made `LIKE companies/contacts INCLUDING ALL` (same columns, keys
  and indexes), one transaction per batch: what PostgreSQL itself can take in.
- staged COPY + upsert: the store's own write path, PostgresRecordStore.upsert_companies /
  upsert_contacts / insert_rejects per batch, into the empty real tables: COPY into a temp
  staging table, then INSERT ... ON CONFLICT with the merge rule. The clock covers the store
  calls only (the Parquet batches are read before each call).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.data import NormalizedFile
from bench.env import BenchEnv
from bench.procstat import CpuMeter
from stores.postgres import PostgresRecordStore
from stores.postgres.schema import TABLES
from stores.postgres.staging import conform, csv_chunks

RAW_TABLES = {"companies": "bench_raw_companies", "contacts": "bench_raw_contacts"}


def truncate_records(env: BenchEnv) -> None:
    with psycopg.connect(env.pg_url(), autocommit=True) as conn:
        conn.execute("TRUNCATE contacts, companies, ingest_rejects")


def _render(normalized: NormalizedFile, out: Path) -> list[tuple[str, list[str], Path]]:
    """(raw table, columns, COPY text file) per batch and service, in load order."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    files = []
    for batch in range(normalized.batches):
        documents = normalized.table(batch, "documents")
        for service, rows in (("companies", normalized.table(batch, "companies")),
                              ("contacts", normalized.contacts_of(documents))):
            rows = conform(rows, TABLES[service])
            path = out / f"{batch:04d}.{service}.csv"
            with path.open("wb") as sink:
                for chunk in csv_chunks(rows):
                    sink.write(chunk)
            files.append((RAW_TABLES[service], rows.column_names, path))
    return files


def raw_copy(env: BenchEnv, normalized: NormalizedFile) -> dict[str, Any]:
    folder = env.work / "copy" / str(normalized.rows_read)
    files = _render(normalized, folder)
    try:
        with psycopg.connect(env.pg_url()) as conn:
            for service, raw in RAW_TABLES.items():
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(raw)))
                conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    sql.Identifier(raw), sql.Identifier(service)))
            conn.commit()
            with CpuMeter() as meter:
                started = time.perf_counter()
                for i in range(0, len(files), 2):  # companies then contacts: one transaction
                    for raw, columns, path in files[i:i + 2]:
                        copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                            sql.Identifier(raw),
                            sql.SQL(", ").join(map(sql.Identifier, columns)))
                        with conn.cursor() as cursor, cursor.copy(copy) as stream, \
                                path.open("rb") as source:
                            while data := source.read(1 << 20):
                                stream.write(data)
                    conn.commit()
                seconds = time.perf_counter() - started
            [(rows,)] = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(RAW_TABLES["contacts"]))
            ).fetchall()
            for raw in RAW_TABLES.values():
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(raw)))
            conn.commit()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": round(seconds, 3), "contacts": rows, "table": "logged, LIKE INCLUDING ALL",
            "rows_per_s": round(normalized.rows_read / seconds, 1), "cpu_cores": meter.cores}


def staged_upsert(env: BenchEnv, normalized: NormalizedFile) -> dict[str, Any]:
    """The store's upsert of every batch into the empty tables; truncated afterwards."""
    truncate_records(env)
    store = PostgresRecordStore(env.pg_url(driver="postgresql+psycopg"), statement_timeout_s=600)
    spent = {"upsert_companies": 0.0, "upsert_contacts": 0.0, "insert_rejects": 0.0}
    meter = CpuMeter().__enter__()
    try:
        for batch in range(normalized.batches):
            documents = normalized.table(batch, "documents")
            calls = (("upsert_companies", store.upsert_companies,
                      normalized.table(batch, "companies")),
                     ("upsert_contacts", store.upsert_contacts, normalized.contacts_of(documents)),
                     ("insert_rejects", store.insert_rejects, normalized.table(batch, "rejects")))
            for name, call, rows in calls:
                started = time.perf_counter()
                call(rows)
                spent[name] += time.perf_counter() - started
        meter.__exit__(None, None, None)
        contacts = store.count_rows("contacts")
    finally:
        store.close()
    truncate_records(env)
    seconds = sum(spent.values())
    return {"seconds": round(seconds, 3), "contacts": contacts,
            "calls_s": {k: round(v, 3) for k, v in spent.items()},
            "rows_per_s": round(normalized.rows_read / seconds, 1), "cpu_cores": meter.cores}

"""`python -m bench.pg_documents [ROWS]`: where PostgreSQL's CPU goes in a load (issue 17).

The ROWS-row sample (default 250,000), normalized once, is written batch by batch through
`PostgresRecordStore.upserted_documents` (the load's path, without the search engine) into a
fresh bench database; PostgreSQL's CPU-seconds (its processes in `/proc`, the store's
backend doing the work) are added up per step: the merge (staging COPY + INSERT ... ON
CONFLICT) and the documents' rendering (stores/postgres/scan.py: search_documents_select,
read to the end). Then the documents query of 20,000 random contact ids is timed alone,
three times per variant, two rounds: as shipped, the ids alone, the rows without JSON,
without `json_strip_nulls`, and with `jsonb`. Prints what it measured; drops the database at
the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import psycopg
from sqlalchemy.dialects import postgresql

from bench.data import normalize_file, sample_file
from bench.env import BenchEnv
from bench.procstat import CpuSnapshot, process_cpu_seconds
from stores.postgres.scan import search_documents_select
from stores.postgres.store import PostgresRecordStore

IDS = 20_000


def main(rows: int) -> None:
    env = BenchEnv.load()
    env.recreate_database()
    try:
        sample, _ = sample_file(env.landing, rows)
        normalized = normalize_file(sample, env.work / "norm-pg" / str(rows))
        steps = load(env, normalized)
        print(f"{rows:,} rows, PostgreSQL CPU-s: " + ", ".join(
            f"{step} {seconds:.2f}" for step, seconds in steps.items()), flush=True)
        variants(env)
    finally:
        env.drop_database()


def load(env: BenchEnv, normalized: Any) -> dict[str, float]:
    store = PostgresRecordStore(env.pg_url(driver="postgresql+psycopg"), statement_timeout_s=600)
    spent = {"merge": 0.0, "documents": 0.0}
    try:
        for batch in range(normalized.batches):
            contacts = normalized.contacts_of(normalized.table(batch, "documents"))
            companies = normalized.table(batch, "companies")
            before = _postgres_cpu()
            with store.upserted_documents(companies, contacts) as documents:
                merged = _postgres_cpu()
                for stream in documents.values():
                    for _ in stream:
                        pass
                rendered = _postgres_cpu()
            spent["merge"] += merged - before
            spent["documents"] += rendered - merged
    finally:
        store.close()
    return spent


def _postgres_cpu() -> float:
    """CPU-seconds of PostgreSQL's processes so far (the store's backend does the work)."""
    return CpuSnapshot.take().by_group.get("postgres", 0.0)


def variants(env: BenchEnv) -> None:
    shipped = str(search_documents_select("contacts").compile(dialect=postgresql.dialect()))
    shipped = shipped.replace("%(ids)s", "%s")
    rows = shipped.split("FROM (", 1)[1].rsplit(") AS d", 1)[0]
    queries: dict[str, str] = {
        "shipped": shipped,
        "ids alone": "SELECT id::text FROM contacts WHERE id = any(%s::text[]::uuid[])",
        "rows, no JSON": rows,
        "no json_strip_nulls": shipped.replace("json_strip_nulls(row_to_json(d))",
                                               "row_to_json(d)"),
        "jsonb_strip_nulls(to_jsonb)": shipped.replace("json_strip_nulls(row_to_json(d))",
                                                       "jsonb_strip_nulls(to_jsonb(d))"),
    }
    with psycopg.connect(env.pg_url()) as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT id::text FROM contacts ORDER BY random() LIMIT %s", (IDS,))]
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        for round_ in (1, 2):
            for name, sql in queries.items():
                wall, cpu = _timed(partial(_read, conn, sql, ids), pid)
                print(f"round {round_} {name:28s} {wall * 1000:6.0f} ms, "
                      f"backend {cpu * 1000:6.0f} ms CPU per {len(ids):,} ids", flush=True)


def _read(conn: psycopg.Connection[Any], sql: str, ids: list[str]) -> None:
    with conn.cursor(name="documents") as cursor:
        cursor.execute(sql, (ids,))  # type: ignore[arg-type]
        while cursor.fetchmany(2_000):
            pass


def _timed(read: Callable[[], None], pid: int, times: int = 3) -> tuple[float, float]:
    started, before = time.perf_counter(), process_cpu_seconds(pid)
    for _ in range(times):
        read()
    return ((time.perf_counter() - started) / times,
            (process_cpu_seconds(pid) - before) / times)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 250_000)

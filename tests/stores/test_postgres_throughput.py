"""Upsert throughput against a plain COPY: measured and printed, never asserted.

Run with `make test-slow` (or `pytest -m slow tests/stores/test_postgres_throughput.py -s`).
The reference is the cheapest way in: COPY of the same Arrow table, rendered the same way,
into an UNLOGGED copy of `contacts` (no WAL, no conflict handling, no merge).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Callable

import psycopg
import pyarrow as pa
import pytest
from psycopg import sql

from stores.postgres import PostgresRecordStore, migrate
from stores.postgres.staging import csv_chunks

ROWS = 100_000


def contacts_batch(rows: int, load_run: str) -> pa.Table:
    """Contacts shaped like a normalized CSV: ids from emails, a few list values each."""
    first = ["Ana", "Bob", "Chen", "Dana", "Eve"]
    departments = [[], ["sales"], ["engineering", "it"], ["marketing", "sales", "hr"]]
    emails = [f"{first[i % 5].lower()}.last{i}@example{i % 500}.com" for i in range(rows)]
    ids = [
        str(uuid.UUID(bytes=hashlib.md5(f"email:{e}".encode()).digest(), version=3))  # noqa: S324
        for e in emails
    ]
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    stamps = pa.array(
        [start + dt.timedelta(seconds=i) for i in range(rows)], pa.timestamp("us", tz="UTC")
    )
    return pa.table(
        {
            "id": ids,
            "first_name": [first[i % 5] for i in range(rows)],
            "last_name": [f"Last{i}" for i in range(rows)],
            "full_name": [f"{first[i % 5]} Last{i}" for i in range(rows)],
            "title": [("CEO", "VP Sales", "Software Engineer")[i % 3] for i in range(rows)],
            "seniority": [("c_suite", "vp", "entry")[i % 3] for i in range(rows)],
            "departments": pa.array(
                [departments[i % 4] for i in range(rows)], pa.list_(pa.string())
            ),
            "email": emails,
            "phone": [f"+1 555 {i:07d}" for i in range(rows)],
            "linkedin_url": [f"https://linkedin.com/in/person{i}" for i in range(rows)],
            "city": [("Paris", "New York", "Berlin")[i % 3] for i in range(rows)],
            "state": pa.nulls(rows, pa.string()),
            "country": [("france", "united states", "germany")[i % 3] for i in range(rows)],
            "company_id": [str(uuid.UUID(int=i % 5000 + 1, version=4)) for i in range(rows)],
            "created_at": stamps,
            "updated_at": stamps,
            "source_file": pa.array([["bench.csv"]] * rows, pa.list_(pa.string())),
            "load_run": pa.array([load_run] * rows),
        }
    )


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@pytest.mark.slow
def test_upsert_throughput_against_raw_copy(
    pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate(pg_database)
    batch = contacts_batch(ROWS, "bench-1")
    store = PostgresRecordStore(pg_database, statement_timeout_s=600)
    try:
        with psycopg.connect(pg_database) as conn:
            conn.execute("DELETE FROM contacts WHERE 'bench.csv' = ANY(source_file)")
            conn.execute("DROP TABLE IF EXISTS bench_raw_contacts")
            conn.execute("CREATE UNLOGGED TABLE bench_raw_contacts (LIKE contacts INCLUDING ALL)")
            conn.commit()
            columns = sql.SQL(", ").join(map(sql.Identifier, batch.column_names))
            copy = sql.SQL("COPY bench_raw_contacts ({}) FROM STDIN (FORMAT csv)").format(columns)

            def raw_copy() -> None:  # best of two: the first one also warms the caches
                conn.execute("TRUNCATE bench_raw_contacts")
                with conn.cursor() as cursor, cursor.copy(copy) as stream:
                    for chunk in csv_chunks(batch):
                        stream.write(chunk)
                conn.commit()

            raw = min(_timed(raw_copy), _timed(raw_copy))
            conn.execute("DROP TABLE bench_raw_contacts")
            conn.commit()
        fresh = _timed(lambda: store.upsert_contacts(batch))
        same = _timed(lambda: store.upsert_contacts(batch))
        changed = _timed(
            lambda: store.upsert_contacts(
                batch.set_column(
                    batch.schema.get_field_index("title"), "title", pa.array(["CTO"] * ROWS)
                )
            )
        )
        assert store.count_rows("contacts") >= ROWS
    finally:
        store.close()
    with capsys.disabled():
        print(
            f"\n{ROWS:,} contacts: raw COPY into UNLOGGED {raw:.2f}s; upsert new {fresh:.2f}s "
            f"({ROWS / fresh:,.0f} rows/s, {fresh / raw:.2f}x raw); same again {same:.2f}s "
            f"({same / raw:.2f}x); every row changed {changed:.2f}s ({changed / raw:.2f}x)"
        )

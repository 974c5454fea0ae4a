"""DuckDBStore figures at 100k and 1M contacts: measured and printed, never asserted.

Run with `make test-slow` (or `pytest -m slow tests/stores/test_duckdb_throughput.py -s`).
Printed: time to open the file read-only, a typical filter (page + exact total), a page of
contacts with their companies, 50k-row write batches (new rows, unchanged rows, a scalar or
a list changed), and how long an API-like reader waits while another process loads 50k-row
batches back to back (the worst case: a real load normalizes between batches).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from stores.duckdb import DuckDBStore
from vql import parse_query

ROOT = Path(__file__).resolve().parents[2]
BATCH = 50_000

COMPANIES_SQL = """
    SELECT md5('co' || i)::uuid::varchar AS id, 'Company ' || i AS name,
           'c' || i || '.com' AS domain, ['software', 'ind' || (i % 50)] AS industries,
           (i * 37) % 10000 AS employees_count, (1900 + i % 124)::int AS founded_year,
           'country' || (i % 30) AS country,
           TIMESTAMPTZ '2020-01-01' + to_seconds(i) AS created_at
    FROM range({n}) t(i)
"""
CONTACTS_SQL = """
    SELECT md5('ct' || i)::uuid::varchar AS id, 'First' || (i % 1000) AS first_name,
           'Last' || (i % 5000) AS last_name,
           'First' || (i % 1000) || ' Last' || (i % 5000) AS full_name,
           ['Software Engineer', 'Sales Manager', 'VP Marketing', 'CTO'][i % 4 + 1] AS title,
           ['senior', 'lead', 'vp', 'c_suite'][i % 4 + 1] AS seniority,
           ['eng', 'd' || (i % 7)] AS departments, 'p' || i || '@x.com' AS email,
           'country' || (i % 30) AS country,
           md5('co' || (hash(i) % {companies}))::uuid::varchar AS company_id,
           TIMESTAMPTZ '2021-01-01' + to_seconds(i) AS created_at,
           ['file' || (i // 50000) || '.csv'] AS source_file, 'r1' AS load_run
    FROM range({start}, {stop}) t(i)
"""


def generated(sql: str, **params: int) -> pa.Table:
    con = duckdb.connect()
    try:
        return con.sql(sql.format(**params)).to_arrow_table()
    finally:
        con.close()


def median_ms(action: Callable[[], object], repeat: int = 15, closed: bool = False) -> float:
    """Median time of `action`; `closed`: each run finds the file closed (the store's short
    grace after a read has passed), as a lone API request does."""
    times = []
    for _ in range(repeat):
        if closed:
            time.sleep(0.06)
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


TYPICAL = {
    "where": {
        "keyword_match": {"must": {"seniority": ["senior", "lead"], "country": "country3"}},
        "range_query": {"must": {"company_employees_count": {"gte": 100, "lte": 5000}}},
    },
    "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
    "limit": 25,
}

LOADER = """
    import sys, time, duckdb
    from stores.duckdb import DuckDBStore
    path, start, batches, rows, companies, sql = sys.argv[1:7]
    start, batches, rows, companies = int(start), int(batches), int(rows), int(companies)
    con = duckdb.connect()
    pending = [
        con.sql(sql.format(start=start + b * rows, stop=start + (b + 1) * rows,
                           companies=companies)).to_arrow_table()
        for b in range(batches)
    ]
    store = DuckDBStore(path)
    print("ready", flush=True)
    for batch in pending:
        began = time.perf_counter()
        store.upsert_contacts(batch)
        print(f"{time.perf_counter() - began:.4f}", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("n", [100_000, 1_000_000])
def test_figures(tmp_path: Path, n: int, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "connectra.duckdb"
    companies = n // 10
    store = DuckDBStore(path)
    store.migrate()
    store.upsert_companies(generated(COMPANIES_SQL, n=companies))
    started = time.perf_counter()
    for start in range(0, n, 100_000):
        batch = generated(CONTACTS_SQL, start=start, stop=min(n, start + 100_000),
                          companies=companies)
        store.upsert_contacts(batch)
    built = time.perf_counter() - started
    lines = [f"{n:,} contacts: built in {built:.1f} s, file {path.stat().st_size / 1e6:.0f} MB"]

    def open_close() -> None:
        duckdb.connect(str(path), read_only=True).close()

    query = parse_query("contacts", TYPICAL)
    page = store.search(query)
    def with_companies() -> None:
        store.companies_of_contacts(page.ids)

    def api_request() -> None:  # what POST /contacts/filter with populated companies does
        rows = store.fetch("contacts", store.search(query).ids)
        store.companies_of_contacts([r["id"] for r in rows])

    lines += [
        f"  open read-only + close       {median_ms(open_close, closed=True):7.1f} ms",
        f"  typical filter (page+total)  {median_ms(lambda: store.search(query)):7.1f} ms warm,"
        f" {median_ms(lambda: store.search(query), closed=True):.1f} ms file closed"
        f" ({page.total} hits)",
        f"  fetch 25 + their companies   {median_ms(with_companies):7.1f} ms warm,"
        f" {median_ms(with_companies, closed=True):.1f} ms file closed",
        f"  filter + rows + companies    {median_ms(api_request, closed=True):7.1f} ms"
        " (a whole API request, file closed)",
    ]

    def timed_upsert(rows: pa.Table) -> float:
        began = time.perf_counter()
        store.upsert_contacts(rows)
        return (time.perf_counter() - began) * 1000

    fresh = generated(CONTACTS_SQL, start=n, stop=n + BATCH, companies=companies)
    changed_title = fresh.set_column(
        fresh.column_names.index("title"), "title", pa.array(["Changed"] * BATCH)
    )
    changed_list = fresh.set_column(
        fresh.column_names.index("departments"), "departments", pa.array([["x"]] * BATCH)
    )
    lines.append(f"  write 50k new rows           {timed_upsert(fresh):7.0f} ms")
    lines.append(f"  write 50k unchanged rows     {timed_upsert(fresh):7.0f} ms")
    lines.append(f"  write 50k, a text changed    {timed_upsert(changed_title):7.0f} ms")
    lines.append(f"  write 50k, a list changed    {timed_upsert(changed_list):7.0f} ms")

    batches = 6
    loader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(LOADER), str(path), str(n + BATCH),
         str(batches), str(BATCH), str(companies), CONTACTS_SQL],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert loader.stdout is not None
    assert loader.stdout.readline().strip() == "ready"
    waits: list[float] = []
    while loader.poll() is None:
        began = time.perf_counter()
        store.search(query)
        waits.append((time.perf_counter() - began) * 1000)
    out = loader.stdout.read()
    loader.wait()
    writes = [float(line) * 1000 for line in out.split()]
    waits.sort()
    lines.append(
        f"  another process loading {batches} x 50k back to back: batches median "
        f"{statistics.median(writes):.0f} ms; {len(waits)} reader searches meanwhile, "
        f"median {statistics.median(waits):.0f} ms, p90 {waits[int(len(waits) * 0.9)]:.0f} ms,"
        f" max {waits[-1]:.0f} ms"
    )
    with capsys.disabled():
        print("\n" + "\n".join(lines))

"""The embedded search index stays derived from the DuckDB records: across a loader killed
between the DuckDB commit and the index commit, a lost index folder, and reads during a
load (stores/duckdb/indexing.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from dbt_like_sql.normalize import FileNormalizer
from orchestration.sample_data import write_sample_files
from stores.csvfile import open_csv
from stores.duckdb import DuckDBStore
from stores.duckdb.store import index_folder
from vql import parse_query, parse_where

ROOT = Path(__file__).resolve().parents[2]
QUERIES: list[dict[str, Any]] = [
    {"limit": 50},
    {"where": {"keyword_match": {"must": {"seniority": ["senior", "lead"]}}}, "limit": 100},
    {
        "where": {
            "text_matches": {
                "must": [
                    {
                        "filter_key": "title",
                        "text_value": "engineer",
                        "search_type": "shuffle",
                        "fuzzy": True,
                    }
                ]
            }
        },
        "order_by": [{"order_by": "company_employees_count", "order_direction": "desc"}],
        "limit": 100,
    },
    {
        "where": {
            "text_matches": {
                "must": [{"filter_key": "email", "text_value": "son@", "search_type": "substring"}]
            }
        },
        "limit": 100,
    },
]
# The child loads the batches in order; with CRASH_AT set it kills itself (SIGKILL) inside
# that index write of contacts: the DuckDB transaction of the batch is committed, the index
# commit is not.
LOADER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import pyarrow.parquet as pq
    from stores.duckdb import DuckDBStore
    from stores.duckdb.index import SearchIndex

    folder, db, crash_at = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    calls = 0
    write = SearchIndex.write

    def dying_write(self, service, ids, documents):
        global calls
        calls += service == "contacts"
        if service == "contacts" and calls == crash_at:
            list(documents)  # the documents are read: the index commit is all that is left
            os.kill(os.getpid(), signal.SIGKILL)
        write(self, service, ids, documents)

    SearchIndex.write = dying_write
    store = DuckDBStore(db)
    store.migrate()
    n = 0
    while (folder / f"{n}.companies.parquet").exists():
        store.upsert_companies(pq.read_table(folder / f"{n}.companies.parquet"))
        store.upsert_contacts(pq.read_table(folder / f"{n}.contacts.parquet"))
        n += 1
""")


@pytest.fixture(scope="module")
def batch_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("index-batches")
    [path] = write_sample_files(900, out, seed=3, write_manifest=False)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("rb") as stream, FileNormalizer("idx.csv", "run-1", now) as normalizer:
        for n, raw in enumerate(open_csv(stream, batch_rows=300)):
            batch = normalizer.process(raw)
            pq.write_table(batch.companies, out / f"{n}.companies.parquet")
            pq.write_table(batch.contacts, out / f"{n}.contacts.parquet")
    return out


def load(folder: Path, db: Path, crash_at: int = 0) -> int:
    child = subprocess.run(
        [sys.executable, "-c", LOADER, str(folder), str(db), str(crash_at)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crash_at or child.returncode == 0, child.stderr[-2000:]
    return child.returncode


def pending(db: Path) -> int:
    store = DuckDBStore(db, search_index=False)
    with store._cursor("read") as cursor:
        [(n,)] = cursor.execute("SELECT count(*) FROM search_index_pending").fetchall()
    return int(n)


def assert_index_agrees_with_sql(db: Path) -> None:
    indexed, sql = DuckDBStore(db), DuckDBStore(db, search_index=False)
    assert indexed.index is not None
    for service in ("contacts", "companies"):
        assert indexed.index.num_docs(service) == sql.count_rows(service) > 0
        assert indexed.count(service, None) == sql.count(service, None)
    for body in QUERIES:
        query = parse_query("contacts", body)
        a, b = indexed.search(query), sql.search(query)
        assert (a.ids, a.total) == (b.ids, b.total), body
        assert a.total > 0, body
        where = parse_where("contacts", body.get("where"))
        assert indexed.count("contacts", where) == sql.count("contacts", where)


def test_a_loader_killed_between_the_two_commits_leaves_both_agreeing_after_the_rerun(
    batch_folder: Path, tmp_path: Path
) -> None:
    db = tmp_path / "home" / "connectra.duckdb"
    # The second index write of contacts: batch 1's, new contacts among them.
    assert load(batch_folder, db, crash_at=2) == -9
    store = DuckDBStore(db)
    assert store.index is not None
    assert pending(db) > 0  # the committed batch is noted, not indexed
    assert store.index.num_docs("contacts") < store.count_rows("contacts")
    store.migrate()  # the rerun's first step: what was noted is indexed before any batch
    assert pending(db) == 0
    assert_index_agrees_with_sql(db)
    load(batch_folder, db)  # the rest of the rerun
    assert pending(db) == 0
    assert_index_agrees_with_sql(db)


def test_a_lost_index_folder_is_rebuilt_from_duckdb(batch_folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "connectra.duckdb"
    load(batch_folder, db)
    shutil.rmtree(index_folder(db))
    store = DuckDBStore(db)
    query = parse_query("contacts", QUERIES[1])
    assert store.search(query).total > 0  # answered by SQL while there is no index
    store.migrate()  # what `connectra migrate` and every load start run
    assert_index_agrees_with_sql(db)


def test_the_index_answers_while_a_loader_writes(batch_folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "connectra.duckdb"
    DuckDBStore(db).migrate()
    store = DuckDBStore(db)
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        where = parse_where("contacts", None)
        while not done.is_set():
            try:
                seen.append(store.count("contacts", where))
                store.search(parse_query("contacts", QUERIES[2]))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        load(batch_folder, db)
    finally:
        done.set()
        reader.join()
    assert errors == []
    assert len(seen) > 5 and seen == sorted(seen)  # never an error, never going back
    assert_index_agrees_with_sql(db)


def test_a_changed_company_reindexes_its_contacts_and_an_unchanged_one_none(
    tmp_path: Path,
) -> None:
    from tests.stores.rows import companies, contacts, new_id

    store = DuckDBStore(tmp_path / "c.duckdb")
    store.migrate()
    acme, person = new_id(), new_id()
    store.upsert_contacts(contacts([{"id": person, "company_id": acme, "title": "CTO"}]))
    store.upsert_companies(companies([{"id": acme, "name": "Acme", "employees_count": 10}]))
    where = parse_where(
        "contacts", {"range_query": {"must": {"company_employees_count": {"gte": 500}}}}
    )
    assert store.count("contacts", where) == 0
    store.upsert_companies(companies([{"id": acme, "name": "Acme", "employees_count": 900}]))
    assert store.count("contacts", where) == 1  # the contact's document carries the company
    assert store.search(
        parse_query("contacts", {"where": {"keyword_match": {"must": {"company_name": "ACME"}}}})
    ).ids == [person]
    with store._cursor("write") as cursor, indexing_noting(cursor) as noted:
        noted(companies([{"id": acme, "name": "Acme", "employees_count": 900}]))
        assert cursor.execute("SELECT service FROM search_index_pending").fetchall() == [
            ("companies",)
        ]


def indexing_noting(cursor: Any) -> Any:
    """The notes of one batch merged in a rolled-back transaction."""
    from contextlib import contextmanager

    from stores.duckdb import indexing
    from stores.duckdb.batches import ORDINAL, conform, has_repeated_ids
    from stores.duckdb.queries import table
    from stores.duckdb.schema import SPECS
    from stores.duckdb.upsert import BATCH, merge_statements
    from vql import to_duckdb

    @contextmanager
    def run() -> Any:
        cursor.execute("BEGIN TRANSACTION")

        def note(rows: Any) -> None:
            batch = conform(rows, "companies", SPECS["companies"])
            columns = [n for n in batch.column_names if n != ORDINAL]
            cursor.register(BATCH, batch)
            with indexing.noting(cursor, "companies", BATCH):
                for s in merge_statements(
                    table("companies"), SPECS["companies"], columns, has_repeated_ids(batch)
                ):
                    cursor.execute(*to_duckdb(s))
            cursor.unregister(BATCH)

        try:
            yield note
        finally:
            cursor.execute("ROLLBACK")

    return run()


def test_substring_on_chunks_is_exactly_python_in(tmp_path: Path) -> None:
    import json
    import random

    from stores.duckdb.index import SearchIndex, build

    rng = random.Random(7)
    alphabet = "ab c.@ÖöX"
    values = {
        f"{n:04d}": [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
            for _ in range(rng.randint(1, 2))
        ]
        for n in range(400)
    }
    index = SearchIndex(tmp_path / "i")
    index.write(
        "contacts", list(values), (json.dumps({"id": i, "title__s": v}) for i, v in values.items())
    )
    searcher, schema_ = index.searcher("contacts")
    for _ in range(60):
        needle = "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 6))).lower()
        hits = searcher.search(build(schema_, ("substring", "title", needle)), 1000).hits
        found = {searcher.doc(a)["id"][0] for _, a in hits}
        expected = {i for i, v in values.items() if any(needle in x.lower() for x in v)}
        assert found == expected, needle


def test_a_damaged_index_is_answered_around_then_rebuilt_by_migrate(
    batch_folder: Path, tmp_path: Path
) -> None:
    db = tmp_path / "connectra.duckdb"
    load(batch_folder, db)
    store = DuckDBStore(db)
    assert store.index is not None
    query = parse_query("contacts", QUERIES[1])
    expected = store.search(query)
    (store.index.path("contacts") / "meta.json").write_text("{damaged")
    store.index.forget()
    assert store.search(query) == expected  # SQL answered: no error reaches the caller
    assert store.count("contacts", None) == store.count_rows("contacts")
    store.migrate()
    assert_index_agrees_with_sql(db)

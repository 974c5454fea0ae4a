"""The record store's behaviour, once, on every engine: PostgreSQL (PostgresRecordStore, on the
server of `make services`) and the embedded DuckDB file (DuckDBStore).

Each test gets a fresh, migrated store (tests/stores/conftest.py). Batches go in as the
normalizer delivers them (tests/stores/rows.py). What only one engine has (migrations,
pools and timeouts, the file's turn taking, DuckDB's search role) is in test_postgres*.py
and test_duckdb*.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbt_like_sql.schemas import COMPANIES_SCHEMA, CONTACTS_SCHEMA, REJECTS_SCHEMA
from stores.base import RecordStore
from stores.duckdb import DuckDBStore, Timing
from stores.duckdb.schema import SPECS
from stores.duckdb.schema import arrow_type as duckdb_arrow_type
from stores.errors import TerminalStoreError
from stores.postgres import PostgresRecordStore
from stores.postgres.schema import TABLES, ingest_rejects
from stores.postgres.staging import arrow_type as postgres_arrow_type
from tests.stores.rows import T0, UTC, companies, contacts, new_id, rejects

Store = PostgresRecordStore | DuckDBStore
ENGINES = ["postgres", "duckdb"]
# How each engine words a write whose id is not a uuid (PostgreSQL's SQLSTATE; DuckDB checks
# the batch before writing).
NOT_A_UUID = {"postgres": "22P02", "duckdb": "not uuids"}


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(engine: str, request: pytest.FixtureRequest) -> Store:
    """A fresh, migrated store of the engine (tests/stores/conftest.py)."""
    fixture: Store = request.getfixturevalue(f"{engine}_store")
    return fixture


def store_columns(engine: str, table: str) -> list[tuple[str, pa.DataType]]:
    """The table's columns with the Arrow type a write batch is cast to, in table order."""
    if engine == "postgres":
        sql_table = ingest_rejects if table == "ingest_rejects" else TABLES[table]
        return [(c.name, postgres_arrow_type(c.type)) for c in sql_table.c]
    return [(name, duckdb_arrow_type(sql_type)) for name, sql_type in SPECS[table]]


@contextmanager
def counted_reads(store: Store) -> Iterator[tuple[Store, Callable[[], int]]]:
    """A store on the same data and a count of the reads it makes meanwhile: statements sent
    to PostgreSQL; for DuckDB, opens of the file by a store that opens once per read."""
    if isinstance(store, PostgresRecordStore):
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        sa.event.listen(store.engine, "before_cursor_execute", count)
        try:
            yield store, lambda: len(statements)
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", count)
    else:
        one_open_per_read = DuckDBStore(store.path, timing=Timing(linger_s=0))
        time.sleep(0.1)  # past the grace of the previous read: one open is then one read
        opens = store.access.opens
        yield one_open_per_read, lambda: store.access.opens - opens


def test_it_is_a_record_store(store: Store) -> None:
    record_store: RecordStore = store  # mypy checks the Protocol; this checks the wiring
    record_store.ping()


def test_the_tables_take_the_normalizers_output_as_it_is(engine: str) -> None:
    for table, schema in (("companies", COMPANIES_SCHEMA), ("contacts", CONTACTS_SCHEMA)):
        assert store_columns(engine, table) == [(f.name, f.type) for f in schema], table
    # rejects: the normalizer gives all but the store's own id and created_at
    types = dict(store_columns(engine, "ingest_rejects"))
    assert [(f.name, types.get(f.name)) for f in REJECTS_SCHEMA] == [
        (f.name, f.type) for f in REJECTS_SCHEMA
    ]


# -- upsert and fetch ------------------------------------------------------------------------


def full_company(company_id: str, source_file: str) -> dict[str, Any]:
    return {
        "id": company_id,
        "name": 'Acme, "Rockets" Inc.',
        "domain": "acme.example",
        "website": "https://www.acme.example/",
        "industries": ["aerospace", "defense, civil"],
        "employees_count": 51,
        "employees_count_min": 51,
        "employees_count_max": 200,
        "annual_revenue": 3_500_000_000_000,
        "founded_year": 1949,
        "city": "Düsseldorf",
        "state": None,
        "country": "germany",
        "linkedin_url": "https://linkedin.com/company/acme",
        "keywords": ["rockets", "{braces}", "back\\slash", "NULL"],
        "technologies": [],
        "created_at": T0,
        "updated_at": T0 + dt.timedelta(microseconds=250),
        "source_file": [source_file],
        "load_run": "run-1",
        "first_seen": T0,
        "last_seen": T0,
    }


def test_upsert_then_fetch_every_column_json_ready(store: Store) -> None:
    company_id = new_id()
    store.upsert_companies(companies([full_company(company_id, "full.csv")]))

    [row] = store.fetch("companies", [company_id])

    expected = full_company(company_id, "full.csv")
    expected.update(
        created_at="2024-03-01T12:00:00Z",
        updated_at="2024-03-01T12:00:00.000250Z",  # microseconds survive
        technologies=None,  # an empty list is "no value", like an empty string
        first_seen="2024-03-01T12:00:00Z",
        last_seen="2024-03-01T12:00:00Z",
    )
    assert row == expected
    assert list(row) == COMPANIES_SCHEMA.names


def test_fetch_keeps_the_given_order_selects_columns_and_skips_unknown_ids(
    store: Store,
) -> None:
    ids = [new_id() for _ in range(5)]
    store.upsert_contacts(
        contacts([{"id": i, "title": f"t{n}", "email": f"{n}@x.io"} for n, i in enumerate(ids)])
    )
    asked = [ids[3], new_id(), ids[0], "not-a-uuid", ids[4].upper(), ids[3]]

    rows = store.fetch("contacts", asked, ["title", "id"])

    assert rows == [
        {"title": "t3", "id": ids[3]},
        {"title": "t0", "id": ids[0]},
        {"title": "t4", "id": ids[4]},
        {"title": "t3", "id": ids[3]},
    ]
    assert store.fetch("contacts", []) == []
    assert store.fetch("contacts", ids[:2], []) == [{}, {}]
    with pytest.raises(TerminalStoreError, match="password_hash"):
        store.fetch("contacts", ids, ["id", "password_hash"])


def test_ids_are_stored_lowercase(store: Store) -> None:
    cid, company = new_id(), new_id()
    store.upsert_contacts(contacts([{"id": cid.upper(), "company_id": company.upper()}]))
    assert store.fetch("contacts", [cid], ["id", "company_id"]) == [
        {"id": cid, "company_id": company}
    ]


def test_reupserting_the_same_batch_changes_nothing(store: Store) -> None:
    ids = [new_id() for _ in range(3)]
    batch = contacts(
        [
            # a retried batch of one load: the same load time
            {"id": i, "first_name": "Ana", "departments": ["sales"], "source_file": ["same.csv"],
             "last_seen": T0}
            for i in ids
        ]
    )
    store.upsert_contacts(batch)
    before = store.fetch("contacts", ids)

    store.upsert_contacts(batch)

    assert store.fetch("contacts", ids) == before  # updated_at included: nothing changed


def test_merge_rule_new_non_null_wins_and_updated_at_moves_only_on_change(store: Store) -> None:
    cid = new_id()
    store.upsert_contacts(
        contacts(
            [
                {
                    "id": cid,
                    "first_name": "Ana",
                    "title": "Engineer",
                    "city": "Paris",
                    "departments": ["engineering"],
                    "created_at": T0,
                    "updated_at": T0,
                    "source_file": ["a.csv"],
                    "load_run": "run-1",
                }
            ]
        )
    )
    later = T0 + dt.timedelta(days=1)
    store.upsert_contacts(
        contacts(
            [
                {
                    "id": cid,
                    "first_name": None,
                    "title": "CTO",
                    "city": "",
                    "departments": [],
                    "created_at": later,
                    "updated_at": later,
                    "source_file": ["b.csv"],
                    "load_run": "run-2",
                }
            ]
        )
    )
    [row] = store.fetch("contacts", [cid])
    assert (row["first_name"], row["title"], row["city"], row["departments"]) == (
        "Ana",
        "CTO",
        "Paris",
        ["engineering"],
    )
    assert row["created_at"] == "2024-03-01T12:00:00Z"  # never overwritten
    assert row["updated_at"] == "2024-03-02T12:00:00Z"
    assert (row["source_file"], row["load_run"]) == (["a.csv", "b.csv"], "run-2")

    # Same values from another run: provenance follows the newest load, updated_at stays.
    even_later = later + dt.timedelta(days=1)
    store.upsert_contacts(
        contacts([{"id": cid, "title": "CTO", "updated_at": even_later, "load_run": "run-3"}])
    )
    [row] = store.fetch("contacts", [cid], ["updated_at", "load_run", "source_file"])
    assert row == {
        "updated_at": "2024-03-02T12:00:00Z",
        "load_run": "run-3",
        "source_file": ["a.csv", "b.csv"],
    }


def test_repeated_ids_in_one_batch_merge_like_consecutive_batches(store: Store) -> None:
    a, b = new_id(), new_id()
    store.upsert_contacts(
        contacts(
            [
                {"id": a, "title": "first", "city": "Paris", "phone": None, "created_at": T0},
                {"id": b, "title": "only"},
                {
                    "id": a,
                    "title": "second",
                    "city": None,
                    "phone": "+33 1",
                    "created_at": T0 + dt.timedelta(days=9),
                },
                {"id": a, "title": None, "city": "", "phone": "+33 2"},
            ]
        )
    )
    rows = store.fetch("contacts", [a, b], ["title", "city", "phone", "created_at"])
    assert [{k: v for k, v in r.items() if k != "created_at"} for r in rows] == [
        {"title": "second", "city": "Paris", "phone": "+33 2"},  # the last non-empty value
        {"title": "only", "city": None, "phone": None},
    ]
    assert rows[0]["created_at"] == "2024-03-01T12:00:00Z"  # the first one given


def test_lineage_merges_alike_in_one_batch_and_across_batches(store: Store) -> None:
    """Every file kept once, in the order it first came; first_seen the earliest given,
    last_seen the latest (an older load written last moves only first_seen)."""
    a, b = new_id(), new_id()

    def seen(file: list[str] | None, day: int, cid: str = a) -> dict[str, Any]:
        stamp = T0 + dt.timedelta(days=day)
        return {"id": cid, "source_file": file, "first_seen": stamp, "last_seen": stamp}

    store.upsert_contacts(contacts([seen(["x.csv"], 1), seen(["y.csv"], 2), seen(["x.csv"], 3),
                                    seen(None, 0, b)]))
    store.upsert_contacts(contacts([seen(["z.csv", "y.csv"], 5), seen(["x.csv"], 4)]))
    store.upsert_contacts(contacts([seen(["w.csv"], 0)]))  # an older load, written last
    rows = store.fetch("contacts", [a, b], ["source_file", "first_seen", "last_seen"])
    assert rows == [
        {"source_file": ["x.csv", "y.csv", "z.csv", "w.csv"],
         "first_seen": "2024-03-01T12:00:00Z", "last_seen": "2024-03-06T12:00:00Z"},
        {"source_file": None, "first_seen": "2024-03-01T12:00:00Z",
         "last_seen": "2024-03-01T12:00:00Z"},
    ]  # fmt: skip
    assert set(store.ids_for_file("contacts", "y.csv")) == {a}


def test_rows_without_timestamps_get_the_load_time(store: Store) -> None:
    cid = new_id()
    before = dt.datetime.now(UTC) - dt.timedelta(seconds=5)
    store.upsert_contacts(contacts([{"id": cid, "title": "x"}]))
    [row] = store.fetch("contacts", [cid], ["created_at", "updated_at"])
    created = dt.datetime.fromisoformat(row["created_at"])
    assert created >= before and row["updated_at"] == row["created_at"]


def test_bad_batches_are_terminal_and_leave_nothing(engine: str, store: Store) -> None:
    good = new_id()
    with pytest.raises(TerminalStoreError, match="no column"):
        store.upsert_contacts(pa.table({"id": [good], "shoe_size": ["44"]}))
    with pytest.raises(TerminalStoreError, match="null id"):
        store.upsert_contacts(contacts([{"id": good}, {"id": None}]))
    with pytest.raises(TerminalStoreError, match=NOT_A_UUID[engine]):  # one transaction
        store.upsert_contacts(contacts([{"id": good, "title": "x"}, {"id": "nope"}]))
    with pytest.raises(TerminalStoreError, match=NOT_A_UUID[engine]) as caught:
        store.upsert_contacts(contacts([{"id": good, "company_id": "acme"}]))
    assert "acme" not in str(caught.value)  # row values are personal data
    assert store.fetch("contacts", [good]) == []


def test_a_value_of_the_wrong_type_is_terminal_names_its_column_not_the_value(
    store: Store,
) -> None:
    good = new_id()
    with pytest.raises(TerminalStoreError, match="employees_count") as caught:
        store.upsert_companies(pa.table({"id": [good], "employees_count": ["many"]}))
    assert "many" not in str(caught.value)  # row values are personal data
    assert store.fetch("companies", [good]) == []


def test_ids_for_file(store: Store) -> None:
    file = f"landing/{uuid.uuid4().hex}.csv"
    ids = {new_id() for _ in range(25)}
    store.upsert_companies(companies([{"id": i, "source_file": [file]} for i in ids]))
    # ascending: stores_agree walks a record store's ids beside a search store's
    assert list(store.ids_for_file("companies", file)) == sorted(ids)
    assert list(store.ids_for_file("contacts", file)) == []


def test_rejects_round_trip_and_a_retried_run_stores_them_once(store: Store) -> None:
    file = f"landing/{uuid.uuid4().hex}.csv"
    batch = rejects(
        [
            {
                "source_file": file,
                "load_run": "r1",
                "line": 7,
                "reason": "bad_email",
                "raw": 'Ana,"not an email",x\r\n',
            },
            {
                "source_file": file,
                "load_run": "r1",
                "line": 3,
                "reason": "no_identity",
                "raw": None,
            },
        ]
    )
    store.insert_rejects(batch)
    store.insert_rejects(batch)

    rows = store.rejects(source_file=file)
    assert [(r["line"], r["reason"], r["raw"], r["load_run"]) for r in rows] == [
        (3, "no_identity", None, "r1"),
        (7, "bad_email", 'Ana,"not an email",x\r\n', "r1"),
    ]
    assert all(r["created_at"].endswith("Z") for r in rows)
    assert store.count_rows("ingest_rejects") == 2
    assert store.rejects(load_run="r1") == rows
    assert store.rejects(source_file=file, load_run="r2") == []
    with pytest.raises(TerminalStoreError, match="reason"):
        store.insert_rejects(pa.table({"source_file": [file], "load_run": ["r"], "line": [1]}))


def test_a_page_of_contacts_gets_its_companies_in_one_read(store: Store) -> None:
    company_ids = [new_id() for _ in range(3)]
    store.upsert_companies(
        companies([{"id": c, "name": f"Co {n}"} for n, c in enumerate(company_ids)])
    )
    contact_ids = [new_id() for _ in range(6)]
    store.upsert_contacts(
        contacts(
            [
                {"id": c, "company_id": company_ids[n % 3] if n < 5 else None}
                for n, c in enumerate(contact_ids)
            ]
        )
    )

    with counted_reads(store) as (reader, reads):
        by_id = reader.companies_of_contacts(contact_ids, ["name"])

    assert reads() == 1
    assert by_id == {c: {"id": c, "name": f"Co {n}"} for n, c in enumerate(company_ids)}


# Any Unicode but NUL (PostgreSQL text cannot hold it) and lone surrogates (not UTF-8).
storable_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=storable_text, departments=st.lists(storable_text | st.none(), max_size=4))
def test_any_text_and_list_round_trips(
    store: Store, title: str, departments: list[str | None]
) -> None:
    cid = new_id()
    store.upsert_contacts(contacts([{"id": cid, "title": title, "departments": departments}]))
    [row] = store.fetch("contacts", [cid], ["title", "departments"])
    assert row == {"title": title or None, "departments": departments or None}


def test_concurrent_overlapping_batches_do_not_deadlock(store: Store) -> None:
    ids = [new_id() for _ in range(1500)]
    errors: list[BaseException] = []

    def load(order: list[str], title: str) -> None:
        try:
            store.upsert_contacts(contacts([{"id": i, "title": title} for i in order]))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(target=load, args=(ids if n % 2 else ids[::-1], f"t{n}")) for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.fetch("contacts", ids, ["id"])) == len(ids)

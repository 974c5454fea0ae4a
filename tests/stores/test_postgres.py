"""PostgresRecordStore against the real PostgreSQL of `make services` (migrations: own file)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores.base import RecordStore
from stores.errors import StoreTimeout, TerminalStoreError, TransientStoreError
from stores.postgres import PostgresRecordStore, migrate
from stores.postgres.errors import translated
from stores.postgres.schema import TABLES, ingest_rejects
from stores.postgres.staging import arrow_type
from stores.settings import PostgresSettings, Secret
from tests.conftest import Services

UTC = dt.UTC
T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def rows_for(table: sa.Table, records: list[dict[str, Any]]) -> pa.Table:
    """An Arrow table typed as the ingestion delivers it, with the records' columns only."""
    names = list(dict.fromkeys(k for r in records for k in r))
    schema = pa.schema([pa.field(n, arrow_type(table.c[n].type)) for n in names])
    return pa.Table.from_pylist(records, schema=schema)


def contacts(records: list[dict[str, Any]]) -> pa.Table:
    return rows_for(TABLES["contacts"], records)


def companies(records: list[dict[str, Any]]) -> pa.Table:
    return rows_for(TABLES["companies"], records)


@pytest.fixture(scope="module")
def store(pg_database: str) -> Iterator[PostgresRecordStore]:
    migrate(pg_database)
    record_store = PostgresRecordStore(pg_database)
    yield record_store
    record_store.close()


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
        "updated_at": T0,
        "source_file": source_file,
        "load_run": "run-1",
    }


def test_upsert_then_fetch_every_column_json_ready(store: PostgresRecordStore) -> None:
    company_id = new_id()
    store.upsert_companies(companies([full_company(company_id, "full.csv")]))

    [row] = store.fetch("companies", [company_id])

    expected = full_company(company_id, "full.csv")
    expected.update(
        created_at="2024-03-01T12:00:00Z",
        updated_at="2024-03-01T12:00:00Z",
        technologies=None,  # an empty list is "no value", like an empty string
    )
    assert row == expected
    assert list(row) == [c.name for c in TABLES["companies"].c]


def test_fetch_keeps_the_given_order_selects_columns_and_skips_unknown_ids(
    store: PostgresRecordStore,
) -> None:
    ids = [new_id() for _ in range(5)]
    store.upsert_contacts(
        contacts([{"id": i, "title": f"t{n}", "email": f"{n}@x.io"} for n, i in enumerate(ids)])
    )
    asked = [ids[3], new_id(), ids[0], "not-a-uuid", ids[4], ids[3]]

    rows = store.fetch("contacts", asked, ["title", "id"])

    assert rows == [
        {"title": "t3", "id": ids[3]},
        {"title": "t0", "id": ids[0]},
        {"title": "t4", "id": ids[4]},
        {"title": "t3", "id": ids[3]},
    ]
    assert store.fetch("contacts", []) == []
    with pytest.raises(TerminalStoreError, match="password_hash"):
        store.fetch("contacts", ids, ["id", "password_hash"])


def test_reupserting_the_same_table_writes_nothing(store: PostgresRecordStore) -> None:
    ids = [new_id() for _ in range(3)]
    batch = contacts(
        [
            {"id": i, "first_name": "Ana", "departments": ["sales"], "source_file": "same.csv"}
            for i in ids
        ]
    )
    store.upsert_contacts(batch)
    before, versions = store.fetch("contacts", ids), _row_versions(store, ids)

    store.upsert_contacts(batch)

    assert store.fetch("contacts", ids) == before
    assert _row_versions(store, ids) == versions  # no new tuple: the rows were not touched


def test_merge_rule_new_non_null_wins_and_updated_at_moves_only_on_change(
    store: PostgresRecordStore,
) -> None:
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
                    "source_file": "a.csv",
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
                    "source_file": "b.csv",
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
    assert (row["source_file"], row["load_run"]) == ("b.csv", "run-2")

    # Same values from another run: provenance follows the newest load, updated_at stays.
    even_later = later + dt.timedelta(days=1)
    store.upsert_contacts(
        contacts([{"id": cid, "title": "CTO", "updated_at": even_later, "load_run": "run-3"}])
    )
    [row] = store.fetch("contacts", [cid], ["updated_at", "load_run", "source_file"])
    assert row == {
        "updated_at": "2024-03-02T12:00:00Z",
        "load_run": "run-3",
        "source_file": "b.csv",
    }


def test_repeated_ids_in_one_batch_merge_like_consecutive_batches(
    store: PostgresRecordStore,
) -> None:
    a, b = new_id(), new_id()
    store.upsert_contacts(
        contacts(
            [
                {"id": a, "title": "first", "city": "Paris", "phone": None},
                {"id": b, "title": "only"},
                {"id": a, "title": "second", "city": None, "phone": "+33 1"},
                {"id": a, "title": None, "city": None, "phone": "+33 2"},
            ]
        )
    )
    rows = store.fetch("contacts", [a, b], ["title", "city", "phone"])
    assert rows == [
        {"title": "second", "city": "Paris", "phone": "+33 2"},
        {"title": "only", "city": None, "phone": None},
    ]


def test_rows_without_timestamps_get_the_load_time(store: PostgresRecordStore) -> None:
    cid = new_id()
    before = dt.datetime.now(UTC) - dt.timedelta(seconds=5)
    store.upsert_contacts(contacts([{"id": cid, "title": "x"}]))
    [row] = store.fetch("contacts", [cid], ["created_at", "updated_at"])
    created = dt.datetime.fromisoformat(row["created_at"])
    assert created >= before and row["updated_at"] == row["created_at"]


def test_bad_batches_are_terminal_and_leave_nothing(store: PostgresRecordStore) -> None:
    good = new_id()
    with pytest.raises(TerminalStoreError, match="no column"):
        store.upsert_contacts(pa.table({"id": [good], "shoe_size": ["44"]}))
    with pytest.raises(TerminalStoreError, match="null id"):
        store.upsert_contacts(contacts([{"id": good}, {"id": None}]))
    with pytest.raises(TerminalStoreError, match="22P02"):  # invalid uuid, one transaction
        store.upsert_contacts(contacts([{"id": good, "title": "x"}, {"id": "nope"}]))
    assert store.fetch("contacts", [good]) == []


def test_ids_for_file(store: PostgresRecordStore) -> None:
    file = f"landing/{uuid.uuid4().hex}.csv"
    ids = {new_id() for _ in range(3)}
    store.upsert_companies(companies([{"id": i, "source_file": file} for i in ids]))
    assert store.ids_for_file("companies", file) == ids
    assert store.ids_for_file("contacts", file) == set()


def test_rejects_round_trip_and_a_retried_run_stores_them_once(
    store: PostgresRecordStore,
) -> None:
    file = f"landing/{uuid.uuid4().hex}.csv"
    batch = rows_for(
        ingest_rejects,
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
        ],
    )
    store.insert_rejects(batch)
    store.insert_rejects(batch)

    rows = store.rejects(source_file=file)
    assert [(r["line"], r["reason"], r["raw"], r["load_run"]) for r in rows] == [
        (3, "no_identity", None, "r1"),
        (7, "bad_email", 'Ana,"not an email",x\r\n', "r1"),
    ]
    assert all(r["created_at"].endswith("Z") for r in rows)
    with pytest.raises(TerminalStoreError, match="reason"):
        store.insert_rejects(pa.table({"source_file": [file], "load_run": ["r"], "line": [1]}))


def test_a_page_of_contacts_gets_its_companies_in_one_query(
    store: PostgresRecordStore,
) -> None:
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
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        by_id = store.companies_of_contacts(contact_ids, ["name"])
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)

    assert len(statements) == 1
    assert by_id == {c: {"id": c, "name": f"Co {n}"} for n, c in enumerate(company_ids)}


# Any Unicode but NUL (PostgreSQL text cannot hold it) and lone surrogates (not UTF-8).
storable_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=storable_text, departments=st.lists(storable_text | st.none(), max_size=4))
def test_any_text_and_list_round_trips(
    store: PostgresRecordStore, title: str, departments: list[str | None]
) -> None:
    cid = new_id()
    store.upsert_contacts(contacts([{"id": cid, "title": title, "departments": departments}]))
    [row] = store.fetch("contacts", [cid], ["title", "departments"])
    assert row == {"title": title or None, "departments": departments or None}


def test_concurrent_overlapping_batches_do_not_deadlock(store: PostgresRecordStore) -> None:
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


# -- errors ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_wrong_port_is_transient_quickly_and_never_shows_the_password() -> None:
    password = "s3cret-Pa55word"
    down = PostgresRecordStore(f"postgresql://connectra:{password}@127.0.0.1:{_free_port()}/db")
    started = time.monotonic()
    try:
        with pytest.raises(TransientStoreError) as caught:
            down.ping()
    finally:
        down.close()
    assert time.monotonic() - started < 5
    assert not isinstance(caught.value, StoreTimeout)
    chain: BaseException | None = caught.value
    while chain is not None:
        assert password not in str(chain) and password not in repr(chain)
        chain = chain.__cause__


def test_from_settings_reaches_the_same_server(services: Services, pg_database: str) -> None:
    e = services.env
    settings = PostgresSettings(
        host=e["PG_DB_HOST"],
        port=int(e["PG_DB_PORT"]),
        database=pg_database.rsplit("/", 1)[1],
        username=e["PG_DB_USERNAME"],
        password=Secret(e["PG_DB_PASSWORD"]),
    )
    store = PostgresRecordStore.from_settings(settings, pool_size=1)
    try:
        store.ping()
    finally:
        store.close()


def test_a_wrong_password_is_terminal(services: Services, pg_database: str) -> None:
    wrong = pg_database.replace(f":{services.env['PG_DB_PASSWORD']}@", ":not-the-password@")
    store = PostgresRecordStore(wrong)
    try:
        with pytest.raises(TerminalStoreError, match="authentication failed") as caught:
            store.ping()
    finally:
        store.close()
    assert "not-the-password" not in str(caught.value)


def test_the_statement_timeout_is_a_store_timeout(pg_database: str) -> None:
    impatient = PostgresRecordStore(pg_database, statement_timeout_s=0.2)
    try:
        with (
            pytest.raises(StoreTimeout, match="57014"),
            translated(),
            impatient.engine.connect() as connection,
        ):
            connection.execute(sa.text("SELECT pg_sleep(2)"))
        impatient.ping()  # the pool recovers
    finally:
        impatient.close()


def _row_versions(store: PostgresRecordStore, ids: list[str]) -> list[tuple[str, str]]:
    """(id, xmin): xmin changes whenever PostgreSQL writes a new version of the row."""
    query = sa.text(
        "SELECT id::text, xmin::text FROM contacts WHERE id::text = ANY(:ids) ORDER BY id"
    )
    with store.engine.connect() as connection:
        return [(r[0], r[1]) for r in connection.execute(query.bindparams(ids=ids))]


def test_it_is_a_record_store(store: PostgresRecordStore) -> None:
    record_store: RecordStore = store  # mypy checks the Protocol; this checks the wiring
    record_store.ping()

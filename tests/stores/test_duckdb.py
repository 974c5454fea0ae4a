"""What only DuckDBStore has: its file's schema and migrations, and the search role it plays
beside the record role.

Data goes in as Arrow tables typed like the normalizer's output (tests/stores/rows.py); reads
go through VQL exactly as the API sends it. The record role's behaviour, shared with
PostgreSQL, is in test_record_store.py; cross-process behaviour in
test_duckdb_concurrency.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores.base import ValueCount
from stores.duckdb import SCHEMA_VERSION, DuckDBStore
from stores.duckdb.migrate import STEPS
from stores.duckdb.schema import COMPANIES, CONTACTS, CONTACTS_SEARCH, SPECS
from stores.errors import TerminalStoreError, TransientStoreError
from tests.stores.rows import T0, UTC, companies, contacts, new_id
from vql import CursorCodec, CursorError, VQLUnsupportedError, parse_query, parse_where
from vql.nodes import SortValues

CODEC = CursorCodec(b"duckdb-store-tests-secret")


@pytest.fixture
def store(duckdb_store: DuckDBStore) -> DuckDBStore:
    """A fresh, migrated file (tests/stores/conftest.py)."""
    return duckdb_store


# -- schema ----------------------------------------------------------------------------------


def test_migrate_builds_the_schema_once(tmp_path: Path) -> None:
    path = tmp_path / "home" / "connectra.duckdb"
    s = DuckDBStore(path)
    assert s.migrate() == list(range(1, len(STEPS) + 1))
    assert s.migrate() == []
    assert s.schema_version() == SCHEMA_VERSION == len(STEPS)
    con = duckdb.connect(str(path), read_only=True)
    try:
        for name, spec in (
            ("companies", COMPANIES),
            ("contacts", CONTACTS),
            ("contacts_search", CONTACTS_SEARCH),
            ("ingest_rejects", SPECS["ingest_rejects"]),
        ):
            described = con.execute(f"DESCRIBE {name}").fetchall()
            got = [(r[0], r[1].replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"))
                   for r in described]
            assert got == list(spec), name
    finally:
        con.close()


def test_step_2_turns_each_file_into_a_list_and_backfills_the_load_times(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.duckdb"
    old = DuckDBStore(path)
    assert old.migrate(STEPS[:1]) == [1]
    company, contact = new_id(), new_id()
    created, updated = T0, T0 + dt.timedelta(days=30)
    con = duckdb.connect(str(path))
    try:  # rows as a step-1 loader wrote them
        con.execute(
            "INSERT INTO companies (id, name, created_at, updated_at, source_file, load_run) "
            "VALUES (?, 'Acme', ?, ?, 'a.csv', 'run-a')",
            [company, created, updated],
        )
        con.execute(
            "INSERT INTO contacts (id, full_name, company_id, created_at, updated_at, "
            "source_file, load_run) VALUES (?, 'Ana B', ?, ?, ?, 'b.csv', 'run-b')",
            [contact, company, created, updated],
        )
    finally:
        con.close()

    store = DuckDBStore(path)
    assert store.migrate() == [2, 3, 4, 5, 6]  # lineage, versions, facts, token, compression
    lineage = ["source_file", "load_run", "first_seen", "last_seen"]
    assert store.fetch("contacts", [contact], lineage) == [
        {"source_file": ["b.csv"], "load_run": "run-b",
         "first_seen": "2024-03-01T12:00:00Z", "last_seen": "2024-03-31T12:00:00Z"}
    ]
    assert store.fetch("companies", [company], ["source_file"]) == [{"source_file": ["a.csv"]}]
    where = parse_where(service="contacts", where_json={
        "keyword_match": {"must": {"source_file": "b.csv", "company_name": "acme"}}})
    assert store.count("contacts", where) == 1
    store.upsert_contacts(contacts([{"id": contact, "source_file": ["c.csv"]}]))
    [row] = store.fetch("contacts", [contact], ["source_file", "first_seen"])
    assert row == {"source_file": ["b.csv", "c.csv"], "first_seen": "2024-03-01T12:00:00Z"}


def test_a_later_step_upgrades_in_place_and_a_newer_database_is_refused(
    store: DuckDBStore,
) -> None:
    cid = new_id()
    store.upsert_contacts(contacts([{"id": cid, "title": "kept"}]))
    later = (*STEPS, ("ALTER TABLE contacts ADD COLUMN nickname VARCHAR",))

    assert store.migrate(later) == [len(STEPS) + 1]
    assert store.migrate(later) == []
    assert store.fetch("contacts", [cid], ["title"]) == [{"title": "kept"}]
    with pytest.raises(TerminalStoreError, match="newer than this code"):
        store.migrate()  # this code knows fewer steps than the file has
    with pytest.raises(TerminalStoreError, match="run `connectra migrate`"):
        store.ping()


def test_writes_migrate_a_fresh_file_and_reads_of_a_missing_one_are_transient(
    tmp_path: Path,
) -> None:
    missing = DuckDBStore(tmp_path / "nothing-here.duckdb")
    with pytest.raises(TransientStoreError, match="does not exist"):
        missing.ping()
    fresh = DuckDBStore(tmp_path / "sub" / "fresh.duckdb")
    fresh.upsert_companies(companies([{"id": new_id(), "name": "Acme"}]))
    fresh.ping()
    assert fresh.count_rows("companies") == 1


# -- plain text columns: words cut by the quick split where every value allows it ------------


def _facts(store: DuckDBStore, fact: str) -> set[tuple[str, str]]:
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        rows = con.execute("SELECT table_name, column_name FROM column_facts WHERE fact = ?",
                           [fact]).fetchall()
        return {(t, c) for t, c in rows}
    finally:
        con.close()


def _plain(store: DuckDBStore) -> set[tuple[str, str]]:
    return _facts(store, "plain")


def _words_count(store: DuckDBStore, field: str, text: str, **more: Any) -> int:
    where = parse_where("contacts", {"text_matches": {"must": [
        {"filter_key": field, "text_value": text, "search_type": "shuffle", **more}]}})
    return store.count("contacts", where)


def test_step_4_copies_the_word_rule_and_columns_of_the_code() -> None:
    """Step 4 is frozen SQL; if the code's CONTEXT or fact columns move, a new step must
    fill column_facts again, and this fails until one does."""
    from stores.duckdb import migrate
    from stores.duckdb.schema import FACT_COLUMNS
    from vql.text import CONTEXT

    assert migrate._CONTEXT == CONTEXT
    frozen = {(f, t, c, False) for f, t, scalars, _ in migrate._FACT_COLUMNS for c in scalars}
    frozen |= {(f, t, c, True) for f, t, _, lists in migrate._FACT_COLUMNS for c in lists}
    types = {t: dict(SPECS[t]) for t in ("companies", "contacts")}
    code = {(fact, t, c, types[t][c] == "VARCHAR[]")
            for fact, services in FACT_COLUMNS.items()
            for fields in services.values() for t, c in fields.values()}
    assert frozen == code


def test_a_column_stays_lowercase_until_a_value_with_a_capital_arrives(
    store: DuckDBStore,
) -> None:
    """Where every value is lowercase ASCII, queries compare it without lower(); the first
    value that is not (a capital, a non-ASCII letter) ends that in the batch's transaction."""
    store.upsert_contacts(contacts([
        {"id": new_id(), "email": "ann@acme.io", "seniority": "senior", "title": "Head"},
        {"id": new_id(), "email": "bob@acme.io", "seniority": "lead"},
    ]))
    lowercase = _facts(store, "lowercase")
    assert {("contacts", "email"), ("contacts", "seniority")} <= lowercase
    assert ("contacts", "title") not in lowercase  # "Head"

    def count(where: dict[str, Any]) -> int:
        return store.count("contacts", parse_where("contacts", where))

    substring = {"text_matches": {"must": [
        {"filter_key": "email", "text_value": "ACME", "search_type": "substring"}]}}
    keyword = {"keyword_match": {"must": {"seniority": ["Senior", "LEAD"]}}}
    assert (count(substring), count(keyword)) == (2, 2)
    store.upsert_contacts(contacts([{"id": new_id(), "email": "Cy@ACME.io",
                                     "seniority": "Sénior"}]))
    assert not {("contacts", "email"), ("contacts", "seniority")} & _facts(store, "lowercase")
    assert (count(substring), count(keyword)) == (3, 2)


def test_a_column_stays_plain_until_a_value_with_context_arrives(store: DuckDBStore) -> None:
    everything = _plain(store)
    assert ("contacts", "title") in everything and ("companies", "industries") in everything
    store.upsert_contacts(contacts([
        {"id": new_id(), "title": "Head of Sales", "first_name": "Ana"},
        {"id": new_id(), "title": "Sales Lead", "first_name": "Foo"},
    ]))
    assert _plain(store) == everything
    assert _words_count(store, "title", "sales") == 2
    # One value whose words the quick split would cut otherwise ("foo" and "bar"): the
    # column is cut by the full rule from this batch on, as the engine cuts it.
    store.upsert_contacts(contacts([{"id": new_id(), "title": "foo_bar lead"}]))
    assert _plain(store) == everything - {("contacts", "title")}
    assert _words_count(store, "title", "foo") == 0
    assert _words_count(store, "title", "foo_bar") == 1
    assert _words_count(store, "title", "lead") == 2
    assert _words_count(store, "first_name", "foo") == 1  # still plain, still answered
    store.upsert_companies(companies([{"id": new_id(), "name": "Acme",
                                       "industries": ["R&D", "x.y"]}]))
    assert ("companies", "industries") not in _plain(store)
    assert ("companies", "name") in _plain(store)


def test_step_4_lists_the_columns_whose_stored_values_keep_a_fact(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    assert DuckDBStore(path).migrate(STEPS[:3]) == [1, 2, 3]
    con = duckdb.connect(str(path))
    try:  # rows as a step-3 loader wrote them
        for title, first, email in (("Engineer", "José", "a.b@x.io"),
                                    ("Senior Engineer", "Ana", "ab@x")):
            con.execute(
                "INSERT INTO contacts (id, title, first_name, email, created_at, updated_at, "
                "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [new_id(), title, first, email, T0, T0, T0, T0])
        con.execute(
            "INSERT INTO companies (id, name, industries, created_at, updated_at, first_seen, "
            "last_seen) VALUES (?, 'Acme', ['IT'], ?, ?, ?, ?)", [new_id(), T0, T0, T0, T0])
    finally:
        con.close()

    store = DuckDBStore(path)
    assert store.migrate() == [4, 5, 6]
    listed = _plain(store)
    assert {("contacts", "title"), ("companies", "name"), ("companies", "industries")} <= listed
    assert not {("contacts", "first_name"), ("contacts", "email")} & listed
    assert _words_count(store, "first_name", "josé") == 1
    assert _words_count(store, "email", "a.b") == 1
    assert _words_count(store, "title", "engineer") == 2
    lowercase = _facts(store, "lowercase")
    assert ("contacts", "email") in lowercase and ("contacts", "title") not in lowercase

def test_step_6_stores_the_distinct_columns_uncompressed_and_keeps_every_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.duckdb"
    old = DuckDBStore(path)
    assert old.migrate(STEPS[:5]) == [1, 2, 3, 4, 5]
    company = new_id()
    old.upsert_companies(companies([{"id": company, "name": "Acme", "domain": "acme.io"}]))
    rows = [{"id": new_id(), "title": ("Engineer", "Lead")[i % 2], "company_id": company,
             "seniority": ("senior", "entry")[i % 2], "email": f"person{i}@acme.io"}
            for i in range(3000)]
    old.upsert_contacts(contacts(rows))
    before = old.fetch("contacts", [r["id"] for r in rows], None)
    old.close()

    store = DuckDBStore(path)
    assert store.migrate() == [6]
    assert store.fetch("contacts", [r["id"] for r in rows], None) == before
    store.upsert_contacts(contacts([{**rows[0], "title": "Chief"}]))  # the key still holds
    assert store.count_rows("contacts") == 3000
    assert store.fetch("contacts", [rows[0]["id"]], ["title"]) == [{"title": "Chief"}]
    where = parse_where(service="contacts", where_json={
        "keyword_match": {"must": {"company_name": "acme", "seniority": "entry"}}})
    assert store.count("contacts", where) == 1500  # the view joins the new tables
    store.close()
    con = duckdb.connect(str(path))
    try:
        con.execute("CHECKPOINT")
        stored = dict(con.execute(
            "SELECT column_name, string_agg(DISTINCT compression, ',') FROM "
            "pragma_storage_info('contacts') WHERE segment_type = 'VARCHAR' GROUP BY ALL"
        ).fetchall())
    finally:
        con.close()
    assert stored["email"] == stored["id"] == "Uncompressed"
    assert stored["title"] != "Uncompressed"  # repeated values keep DuckDB's choice


# -- the search role ------------------------------------------------------------------------


def test_the_search_role_shares_the_records(store: DuckDBStore) -> None:
    cid = new_id()
    store.upsert_contacts(contacts([{"id": cid, "title": "x"}]))
    store.bulk_upsert("contacts", contacts([{"id": new_id(), "title": "never written"}]))
    store.refresh()
    store.ensure_indices()
    assert store.count("contacts", None) == 1
    assert store.search(parse_query("contacts", {})).ids == [cid]
    with pytest.raises(TerminalStoreError, match="unknown service"):
        store.bulk_upsert("people", contacts([]))  # type: ignore[arg-type]
    time.sleep(0.2)
    assert not store.access.is_open  # nothing stays open between operations


# -- search: a small hand-made data set ------------------------------------------------------

CA, CB, CC = (str(uuid.UUID(int=n, version=4)) for n in (1, 2, 3))
COMPANY_ROWS: list[dict[str, Any]] = [
    {"id": CA, "name": "Acme Rockets", "domain": "acme.example",
     "industries": ["Aerospace", "software"], "employees_count": 500, "country": "germany"},
    {"id": CB, "name": "Beta Soft", "domain": "beta.example", "industries": ["software"],
     "employees_count": 50, "country": "france"},
    {"id": CC, "name": "Cloud Nine", "country": "united states"},
]


def _contact(n: int, first: str | None, last: str, title: str | None, seniority: str | None,
             departments: list[str] | None, company: str | None, days: int) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=100 + n, version=4)), "first_name": first, "last_name": last,
        "full_name": " ".join(p for p in (first, last) if p), "title": title,
        "seniority": seniority, "departments": departments,
        "email": f"{(first or 'x').lower()}.{last.lower()}@example.com", "city": "Paris",
        "country": "france", "company_id": company,
        "created_at": T0 + dt.timedelta(days=days), "source_file": ["hand.csv"],
    }


CONTACT_ROWS = [
    _contact(1, "Ana", "Smith", "Senior Software Engineer", "senior", ["engineering"], CA, 0),
    _contact(2, "Bob", "Jones", "Software Sales Manager", "manager", ["sales"], CB, 1),
    _contact(3, "Chen", "Li", "Engineer, Software", "senior", ["engineering", "it"], CC, 1),
    _contact(4, "Dana", "Ng", "Sofware Enginer", "entry", None, None, 2),
    _contact(5, "Eve", "Stone", None, None, ["Marketing"], CA, 2),
    _contact(6, "Frank", "Müller", "VP Engineering", "vp", ["engineering"], CA, 3),
    _contact(7, "ana", "García", "Software Engineer", "senior", ["sales", "engineering"], CB, 4),
]
C = {n + 1: row["id"] for n, row in enumerate(CONTACT_ROWS)}


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    s = DuckDBStore(tmp_path_factory.mktemp("hand") / "connectra.duckdb", cursors=CODEC)
    s.migrate()
    s.upsert_contacts(contacts(CONTACT_ROWS))  # before their companies: the view joins late
    s.upsert_companies(companies(COMPANY_ROWS))
    return s


def ids_of(store: DuckDBStore, body: dict[str, Any]) -> list[str]:
    page = store.search(parse_query("contacts", {"limit": 100, **body}))
    assert page.total == len(page.ids)
    return page.ids


def numbers(ids: list[str]) -> list[int]:
    by_id = {v: k for k, v in C.items()}
    return [by_id[i] for i in ids]


def text(field: str, value: str, search_type: str, **extra: Any) -> dict[str, Any]:
    return {"filter_key": field, "text_value": value, "search_type": search_type, **extra}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"keyword_match": {"must": {"seniority": ["SENIOR", "vp"]}}}, {1, 3, 6, 7}),
        ({"keyword_match": {"must": {"departments": "marketing"}}}, {5}),
        ({"keyword_match": {"must": {"first_name": "ANA"}}}, {1, 7}),
        ({"keyword_match": {"must": {"company_industries": "aerospace"}}}, {1, 5, 6}),
        ({"keyword_match": {"must": {"company_name": "beta soft"}}}, {2, 7}),
        ({"range_query": {"must": {"company_employees_count": {"gte": 100}}}}, {1, 5, 6}),
        ({"range_query": {"must": {"company_employees_count": {"lt": 100}}}}, {2, 7}),
        ({"range_query": {"must": {"created_at": {"gt": "2024-03-02T12:00:00Z",
                                                  "lte": "2024-03-04"}}}}, {4, 5}),
        ({"keyword_match": {"must_not": {"seniority": "senior"}}}, {2, 4, 5, 6}),
        ({"range_query": {"must_not": {"company_employees_count": {"gte": 100}}}},
         {2, 3, 4, 7}),
        ({"text_matches": {"should": [text("title", "vp", "shuffle"),
                                      text("title", "sales", "shuffle")]}}, {2, 6}),
        ({"text_matches": {"must": [text("title", "software engineer", "exact")]}}, {1, 7}),
        ({"text_matches": {"must": [text("title", "engineer software", "exact", slop=2)]}},
         {1, 3, 7}),
        ({"text_matches": {"must": [text("title", "engineer software", "shuffle")]}},
         {1, 3, 7}),
        ({"text_matches": {"must": [text("title", "vp sales", "shuffle", operator="or")]}},
         {2, 6}),
        ({"text_matches": {"must": [text("title", "software engineer", "shuffle",
                                         fuzzy=True)]}}, {1, 3, 4, 7}),
        ({"text_matches": {"must": [text("full_name", "ARC", "substring")]}}, {7}),
        ({"text_matches": {"must": [text("company_name", "rocket", "substring")]}},
         {1, 5, 6}),
        ({"text_matches": {"must": [text("title", "engineer", "shuffle")]},
          "keyword_match": {"must_not": {"company_country": "germany"}}}, {3, 7}),
    ],
)
def test_where_selects_the_expected_contacts(
    hand: DuckDBStore, where: dict[str, Any], expected: set[int]
) -> None:
    got = numbers(ids_of(hand, {"where": where}))
    assert set(got) == expected
    assert len(got) == len(expected)
    assert hand.count("contacts", parse_where("contacts", where)) == len(expected)


def test_order_by_puts_nulls_last_both_ways_and_breaks_ties_by_id(hand: DuckDBStore) -> None:
    def order(field: str, direction: str) -> list[int]:
        return numbers(
            ids_of(hand, {"order_by": [{"order_by": field, "order_direction": direction}]})
        )

    # employees: 500 (1, 5, 6), 50 (2, 7), null (3: no figure, 4: no company)
    assert order("company_employees_count", "desc") == [1, 5, 6, 2, 7, 3, 4]
    assert order("company_employees_count", "asc") == [2, 7, 1, 5, 6, 3, 4]
    assert order("seniority", "asc") == [4, 2, 1, 3, 7, 6, 5]
    assert order("seniority", "desc") == [6, 1, 3, 7, 2, 4, 5]
    # first names compare lowercased: "ana" ties "Ana", and the id decides
    assert order("first_name", "asc") == [1, 7, 2, 3, 4, 5, 6]
    # no order_by: created_at desc, then id
    assert numbers(ids_of(hand, {})) == [7, 6, 4, 5, 2, 3, 1]


def test_values_prefix_first_then_most_frequent_under_a_where(hand: DuckDBStore) -> None:
    assert hand.values("contacts", "departments", "", 10) == [
        ValueCount("engineering", 4), ValueCount("sales", 2),
        ValueCount("it", 1), ValueCount("marketing", 1),
    ]
    # "ana" starts with "a" and comes first; the others only contain it
    assert hand.values("contacts", "first_name", "a", 10) == [
        ValueCount("ana", 2), ValueCount("dana", 1), ValueCount("frank", 1),
    ]
    senior = parse_where("contacts", {"keyword_match": {"must": {"seniority": "senior"}}})
    assert hand.values("contacts", "company_industries", "WARE", 5, senior) == [
        ValueCount("software", 2),
    ]
    assert hand.values("contacts", "departments", "E", 10, senior) == [
        ValueCount("engineering", 3), ValueCount("sales", 1),
    ]
    assert hand.values("contacts", "departments", "i", 2) == [
        ValueCount("it", 1), ValueCount("engineering", 4),
    ]
    plain = DuckDBStore(hand.path, values_prefix_first=False)
    assert plain.values("contacts", "departments", "i", 2) == [
        ValueCount("engineering", 4), ValueCount("it", 1),
    ]
    with pytest.raises(VQLUnsupportedError, match="no value list"):
        hand.values("contacts", "company_id", "", 5)


def test_companies_search_and_fetch(hand: DuckDBStore) -> None:
    page = hand.search(
        parse_query(
            "companies",
            {"where": {"keyword_match": {"must": {"industries": "SOFTWARE"}}},
             "order_by": [{"order_by": "employees_count", "order_direction": "desc"}]},
        )
    )
    assert (page.ids, page.total, page.next_cursor) == ([CA, CB], 2, None)
    assert hand.fetch("companies", page.ids, ["name"]) == [
        {"name": "Acme Rockets"}, {"name": "Beta Soft"},
    ]


def test_a_cursor_of_the_search_engine_is_refused(hand: DuckDBStore) -> None:
    query = parse_query("contacts", {"limit": 2})
    foreign = SortValues("search", (), ())
    with pytest.raises(CursorError):
        hand.search(dataclasses.replace(query, cursor=foreign))


# -- paging over a generated data set --------------------------------------------------------

N_BULK = 240
LOAD_TIME = dt.datetime(9999, 1, 1, tzinfo=UTC)  # stands for "now", after every given stamp
ORDERABLE = ("first_name", "seniority", "country", "company_name",
             "company_employees_count", "created_at", "updated_at")


def _bulk_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(7)
    comps = [
        {"id": new_id(), "name": rng.choice(["Acme", "acme", "Beta", None, "Zeta"]),
         "employees_count": rng.choice([None, 10, 10, 500, 7])}
        for _ in range(12)
    ]
    stamps = [T0 + dt.timedelta(hours=rng.randint(0, 30)) for _ in range(8)]
    people = [
        {"id": new_id(), "first_name": rng.choice(["Ana", "ana", "Bob", "Zoë", None]),
         "seniority": rng.choice(["senior", "vp", None]),
         "country": rng.choice(["france", "germany", None]),
         "company_id": rng.choice([*(c["id"] for c in comps), None]),
         "created_at": rng.choice(stamps), "updated_at": rng.choice([*stamps, None])}
        for _ in range(N_BULK)
    ]
    return comps, people


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDBStore, list[dict[str, Any]]]:
    comps, people = _bulk_rows()
    s = DuckDBStore(tmp_path_factory.mktemp("bulk") / "connectra.duckdb", cursors=CODEC)
    s.upsert_companies(companies(comps))
    s.upsert_contacts(contacts(people))
    by_company = {c["id"]: c for c in comps}
    view = []
    for p in people:
        company = by_company.get(p["company_id"] or "", {})
        updated = p["updated_at"] or LOAD_TIME  # the store stamps a missing one, later
        view.append({**p, "updated_at": updated, "company_name": company.get("name"),
                     "company_employees_count": company.get("employees_count")})
    return s, view


def reference_order(rows: list[dict[str, Any]], field: str, descending: bool) -> list[str]:
    """Sort key: lowercased text (code point = byte order) or the value; NULLs last both
    ways; id ascending last."""
    def key(value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    present = [r for r in rows if r[field] is not None]
    missing = [r for r in rows if r[field] is None]
    present.sort(key=lambda r: r["id"])
    present.sort(key=lambda r: key(r[field]), reverse=descending)  # stable: ids stay asc
    return [r["id"] for r in present] + sorted(r["id"] for r in missing)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(ORDERABLE),
    descending=st.booleans(),
    limit=st.integers(min_value=15, max_value=100),
    seniority=st.sampled_from([None, "senior", "vp"]),
)
def test_page_and_cursor_paging_visit_every_id_once_in_order(
    bulk: tuple[DuckDBStore, list[dict[str, Any]]],
    field: str,
    descending: bool,
    limit: int,
    seniority: str | None,
) -> None:
    store, rows = bulk
    where = {"keyword_match": {"must": {"seniority": seniority}}} if seniority else {}
    rows = [r for r in rows if seniority is None or r["seniority"] == seniority]
    expected = reference_order(rows, field, descending)
    body: dict[str, Any] = {
        "where": where, "limit": limit,
        "order_by": [{"order_by": field, "order_direction": "desc" if descending else "asc"}],
    }

    by_page: list[str] = []
    for page_no in range(1, len(expected) // limit + 2):
        page = store.search(parse_query("contacts", {**body, "page": page_no}))
        assert page.total == len(expected)
        by_page += page.ids
    by_cursor: list[str] = []
    cursor = None
    while True:
        page = store.search(parse_query("contacts", {**body, "cursor": cursor}, CODEC))
        assert page.total == len(expected)
        by_cursor += page.ids
        cursor = page.next_cursor
        if cursor is None:
            break
    assert by_page == by_cursor == expected


@pytest.fixture(scope="module")
def close_stamps(tmp_path_factory: pytest.TempPathFactory) -> DuckDBStore:
    """Contacts whose created_at values share milliseconds (they differ in microseconds),
    some before 1970, with companies of few employee counts (and none)."""
    rng = random.Random(18)
    comps = [{"id": new_id(), "employees_count": rng.choice([None, 10, 10, 500])}
             for _ in range(30)]
    bases = [dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), T0,
             T0 + dt.timedelta(milliseconds=1), T0 + dt.timedelta(seconds=1)]
    people = [
        {"id": new_id(), "company_id": rng.choice([*(c["id"] for c in comps), None]),
         "created_at": rng.choice(bases) + dt.timedelta(microseconds=rng.choice([0, 1, 999]))}
        for _ in range(60)
    ]
    s = DuckDBStore(tmp_path_factory.mktemp("stamps") / "connectra.duckdb", cursors=CODEC)
    s.upsert_companies(companies(comps))
    s.upsert_contacts(contacts(people))
    return s


@pytest.mark.parametrize(("service", "field"), [("contacts", "created_at"),
                                              ("contacts", "company_employees_count"),
                                              ("companies", "employees_count")])
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("limit", [1, 4, 7])
def test_pages_bounded_by_their_first_key_equal_the_whole_sort(
    close_stamps: DuckDBStore, service: str, field: str, descending: bool, limit: int
) -> None:
    """A page is sorted among the rows its first key's window lets through
    (stores/duckdb/queries.py, window_statement): the same ids as sorting every row."""
    from stores.duckdb import queries
    from vql.sql_dialects import to_duckdb

    body = {"limit": limit, "order_by": [
        {"order_by": field, "order_direction": "desc" if descending else "asc"}]}
    cursor = None
    for page_no in range(1, 60 // limit + 2):
        for query in (parse_query(service, {**body, "page": page_no}),
                      parse_query(service, {**body, "cursor": cursor}, CODEC)):
            with close_stamps._cursor("read") as con:
                whole = con.execute(*to_duckdb(queries.page_statement(query))).fetchall()
            page = close_stamps.search(query)
            assert page.ids == [r[0] for r in whole[:limit]], (page_no, query.cursor)
        cursor = page.next_cursor

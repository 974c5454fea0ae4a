"""The search store's behaviour, once per client library, against the real OpenSearch node.

`opensearch` runs opensearch-py against the node; `elasticsearch` runs elasticsearch-py 9
against the same node through tests/stores/es_proxy.py; `elasticsearch8` runs it against the
real Elasticsearch 8.15 node of `CONNECTRA_ES=1 make services` (skipped when none is up),
which has no analysis-common module, so its indices answer substring with wildcard queries.
All detect their engine from `GET /`. Expected answers come from plain-Python oracles over
the same rows, so a wrong query shape shows up as a set difference, not a count.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from stores.base import SearchPage
from stores.errors import IndexMissing, TerminalStoreError, TransientStoreError
from stores.search import SearchEngineStore, index_name, make_search_store
from stores.settings import SearchSettings, Secret
from tests.conftest import Services
from tests.stores.es_proxy import ElasticsearchProxy
from vql.cursor import CursorCodec
from vql.errors import CursorError
from vql.nodes import Query
from vql.parser import parse_query, parse_where
from vql.text import auto_fuzziness, words

pytestmark = pytest.mark.services
CODEC = CursorCodec(b"connectra-test-cursor-secret-0123456789")
T0 = datetime(2024, 1, 1, tzinfo=UTC)

# -- the data set -------------------------------------------------------------------------

FIRST_NAMES = ["Ann"] * 9 + ["Bob"] * 7 + ["Dana"] * 5 + ["Joanna"] * 3 + ["Eve"] * 2 + ["José"]
TITLES = [
    "Senior Software Engineer",
    "Software Engineer",
    "Software Engineering Manager",
    "Engineer of Software",
    "Sofware Engineer",
    "Sales Lead",
    "Data Scientist",
    None,
]
COMPANIES = ["Acme Corp", "Umbrella (Holdings)", "a.b*c Labs", "axb*c Labs", "Initech"]
SENIORITIES = ["senior", "lead", "entry", "vp", None]
COUNTRIES = ["united states", "germany", "france"]
EMPLOYEES = [10, 50, 50, 200, None, 5000]
N_CONTACTS = 130


def make_id(key: str) -> str:
    digest = hashlib.md5(key.encode(), usedforsecurity=False).digest()
    return str(uuid.UUID(bytes=digest, version=3))


def contact_rows(n: int = N_CONTACTS) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        rows.append(
            {
                "id": make_id(f"contact:{i}"),
                "first_name": first,
                "last_name": f"Last{i % 11}",
                "full_name": f"{first} Last{i % 11}",
                "title": TITLES[i % len(TITLES)],
                "seniority": SENIORITIES[i % len(SENIORITIES)],
                "departments": ["engineering", "sales"][: 1 + i % 2],
                "email": f"person{i}@example.com",
                "country": COUNTRIES[i % len(COUNTRIES)],
                "company_name": COMPANIES[i % len(COMPANIES)],
                "company_employees_count": EMPLOYEES[i % len(EMPLOYEES)],
                "created_at": T0 + timedelta(hours=i * 7),
                "updated_at": T0 + timedelta(hours=i * 7),
                "source_file": ["landing/file_a.csv" if i % 4 else "landing/file_b.csv"],
                "load_run": "run-1",
            }
        )
    return rows


def company_rows() -> list[dict[str, Any]]:
    return [
        {
            "id": make_id(f"company:{i}"),
            "name": name,
            "domain": f"c{i}.example.com",
            "industries": ["software", "security"][: 1 + i % 2],
            "employees_count": EMPLOYEES[i % len(EMPLOYEES)],
            "country": COUNTRIES[i % len(COUNTRIES)],
            "created_at": T0 + timedelta(days=i),
            "source_file": ["landing/file_a.csv"],
        }
        for i, name in enumerate(COMPANIES)
    ]


def table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows)


# -- oracles --------------------------------------------------------------------------------


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def phrase(value: str | None, text: str) -> bool:
    have, want = words(value or ""), words(text)
    return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


def all_words(value: str | None, text: str, fuzzy: bool = False) -> bool:
    have = words(value or "")
    return all(
        any(levenshtein(w, h) <= (auto_fuzziness(w) if fuzzy else 0) for h in have)
        for w in words(text)
    )


def ids(rows: list[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]) -> set[str]:
    return {r["id"] for r in rows if keep(r)}


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["opensearch", "elasticsearch", "elasticsearch8"])
def engine(request: pytest.FixtureRequest, services: Services, opensearch: Any) -> Iterator[Any]:
    """(engine name, settings): the OpenSearch node itself, the node behind the Elasticsearch
    proxy, or the real Elasticsearch 8 node."""
    if request.param == "elasticsearch8":
        host, port = request.getfixturevalue("elasticsearch8")
        yield "elasticsearch", SearchSettings(host, port)
        return
    if request.param == "opensearch":
        host, port = services.env["ELASTICSEARCH_HOST"], int(services.env["ELASTICSEARCH_PORT"])
        yield "opensearch", SearchSettings(host, port)
        return
    with ElasticsearchProxy(services.search_url) as proxy:
        yield "elasticsearch", SearchSettings("127.0.0.1", proxy.port)


def _store(settings: SearchSettings, prefix: str) -> SearchEngineStore:
    return make_search_store(settings, prefix, cursors=CODEC, replicas=0)


@pytest.fixture
def store(engine: Any, unique_name: str) -> Iterator[SearchEngineStore]:
    """An empty store of its own (indices created), deleted afterwards."""
    s = _store(engine[1], f"{unique_name}_")
    s.ensure_indices()
    try:
        yield s
    finally:
        s.drop_indices()
        s.close()


@pytest.fixture(scope="module")
def loaded(engine: Any) -> Iterator[tuple[SearchEngineStore, list[dict[str, Any]]]]:
    """A store holding the data set, shared by the read-only tests of one engine."""
    s = _store(engine[1], f"t{uuid.uuid4().hex[:10]}_")
    rows = contact_rows()
    try:
        s.ensure_indices()
        s.bulk_upsert("contacts", table(rows))
        s.bulk_upsert("companies", table(company_rows()))
        s.refresh()
        yield s, rows
    finally:
        s.drop_indices()
        s.close()


def query(service: str, body: dict[str, Any]) -> Query:
    """A parsed request, cursor checked with the codec the store signs with."""
    return parse_query(service=service, body=body, cursors=CODEC)


def search_ids(s: SearchEngineStore, where: dict[str, Any], service: str = "contacts") -> set[str]:
    page = s.search(query(service, {"where": where, "limit": 100}))
    assert page.total == len(page.ids)  # the data set is small: one page holds everything
    return set(page.ids)


def every_page(s: SearchEngineStore, body: dict[str, Any]) -> list[str]:
    """All ids of a query, following next_cursor from the first page to the last."""
    out: list[str] = []
    cursor = None
    for _ in range(1000):
        page = s.search(query("contacts", {**body, "cursor": cursor}))
        out.extend(page.ids)
        cursor = page.next_cursor
        if cursor is None:
            return out
    raise AssertionError("cursor paging did not end")


# -- tests ----------------------------------------------------------------------------------


def test_engine_detected_and_pings(loaded: Any, engine: Any) -> None:
    s, _ = loaded
    assert s.engine == engine[0]
    s.ping()


def test_ensure_indices_idempotent_and_race_safe(engine: Any, unique_name: str) -> None:
    prefix = f"{unique_name}_"
    stores = [_store(engine[1], prefix) for _ in range(3)]
    errors: list[BaseException] = []

    def ensure(s: SearchEngineStore) -> None:
        try:
            s.ensure_indices()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=ensure, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        stores[0].ensure_indices()
        d = stores[0].dialect
        for service in ("contacts", "companies"):
            assert d.alias_indices(f"{prefix}{service}") == [index_name(prefix, service)]
        # An index left without its alias (an interrupted older setup) gets the alias back.
        d.client.indices.delete_alias(
            index=index_name(prefix, "contacts"), name=f"{prefix}contacts"
        )
        stores[1].ensure_indices()
        assert d.alias_indices(f"{prefix}contacts") == [index_name(prefix, "contacts")]
    finally:
        stores[0].drop_indices()
        for s in stores:
            s.close()


def test_bulk_upsert_then_search_finds_everything(loaded: Any) -> None:
    s, rows = loaded
    assert s.count("contacts", None) == len(rows)
    assert search_ids(s, {}, "companies") == {c["id"] for c in company_rows()}
    assert set(s.ids_for_file("contacts", "landing/file_b.csv")) == ids(
        rows, lambda r: "landing/file_b.csv" in r["source_file"]
    )
    assert set(s.ids_for_file("contacts", "landing/none.csv")) == set()


def test_keyword_filters_are_case_insensitive(loaded: Any) -> None:
    s, rows = loaded
    where = {
        "keyword_match": {"must": {"seniority": ["Senior", "lead"], "country": "United States"}}
    }
    expected = ids(
        rows, lambda r: r["seniority"] in {"senior", "lead"} and r["country"] == "united states"
    )
    assert expected and search_ids(s, where) == expected
    where = {
        "keyword_match": {"must": {"departments": "SALES", "company_name": "umbrella (holdings)"}}
    }
    expected = ids(
        rows, lambda r: "sales" in r["departments"] and r["company_name"] == "Umbrella (Holdings)"
    )
    assert expected and search_ids(s, where) == expected
    companies = search_ids(s, {"keyword_match": {"must": {"industries": "security"}}}, "companies")
    assert companies == ids(company_rows(), lambda r: "security" in r["industries"])


def test_ranges_on_numbers_and_dates(loaded: Any) -> None:
    s, rows = loaded
    where: dict[str, Any] = {
        "range_query": {"must": {"company_employees_count": {"gte": 50, "lt": 5000}}}
    }
    count = "company_employees_count"
    expected = ids(rows, lambda r: r[count] is not None and 50 <= r[count] < 5000)
    assert expected and search_ids(s, where) == expected
    since = T0 + timedelta(days=10)
    where = {"range_query": {"must": {"created_at": {"gte": since.isoformat()}}}}
    assert search_ids(s, where) == ids(rows, lambda r: r["created_at"] >= since)


@pytest.mark.parametrize(
    ("condition", "keep"),
    [
        (
            {"search_type": "exact", "text_value": "SOFTWARE engineer"},
            lambda t: phrase(t, "software engineer"),
        ),
        (
            {"search_type": "shuffle", "text_value": "engineer software"},
            lambda t: all_words(t, "engineer software"),
        ),
        (
            {"search_type": "shuffle", "text_value": "enginer sofware", "fuzzy": True},
            lambda t: all_words(t, "enginer sofware", fuzzy=True),
        ),
        (
            {"search_type": "substring", "text_value": "WARE eng"},
            lambda t: "ware eng" in (t or "").lower(),
        ),
    ],
    ids=["exact", "shuffle", "fuzzy", "substring"],
)
def test_text_matches(loaded: Any, condition: dict[str, Any], keep: Callable[[Any], bool]) -> None:
    s, rows = loaded
    where = {"text_matches": {"must": [{"filter_key": "title", **condition}]}}
    expected = ids(rows, lambda r: keep(r["title"]))
    assert expected and search_ids(s, where) == expected


def test_must_not_and_should(loaded: Any) -> None:
    s, rows = loaded
    where = {
        "text_matches": {
            "must_not": [
                {"filter_key": "title", "text_value": "engineer", "search_type": "shuffle"}
            ],
            "should": [
                {"filter_key": "title", "text_value": "sales lead", "search_type": "exact"},
                {"filter_key": "company_name", "text_value": "holdings", "search_type": "shuffle"},
            ],
        },
        "keyword_match": {"must_not": {"country": "germany"}},
    }
    expected = ids(
        rows,
        lambda r: (
            not all_words(r["title"], "engineer")
            and r["country"] != "germany"
            and (phrase(r["title"], "sales lead") or "Holdings" in r["company_name"])
        ),
    )
    assert expected and search_ids(s, where) == expected


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_order_by_nulls_last_with_id_tie_breaker(loaded: Any, direction: str) -> None:
    s, rows = loaded
    field = "company_employees_count"
    sign = 1 if direction == "asc" else -1
    expected = [
        r["id"]
        for r in sorted(rows, key=lambda r: (r[field] is None, sign * (r[field] or 0), r["id"]))
    ]
    body = {"order_by": [{"order_by": field, "order_direction": direction}], "limit": 9}
    assert every_page(s, body) == expected
    by_page = []
    for page in range(1, len(rows) // 9 + 2):
        by_page += s.search(query("contacts", {**body, "page": page})).ids
    assert by_page == expected


def test_default_order_and_cursor_paging_give_every_id_once(loaded: Any) -> None:
    s, rows = loaded
    expected = [
        r["id"] for r in sorted(rows, key=lambda r: (-r["created_at"].timestamp(), r["id"]))
    ]
    got = every_page(s, {"limit": 7})
    assert got == expected and len(set(got)) == len(rows)
    # relevance order (text matches score): still every id once, in a stable order
    where = {
        "text_matches": {
            "must": [{"filter_key": "title", "text_value": "engineer", "search_type": "shuffle"}]
        }
    }
    got = every_page(s, {"where": where, "limit": 4})
    assert sorted(got) == sorted(ids(rows, lambda r: all_words(r["title"], "engineer")))
    assert every_page(s, {"where": where, "limit": 4}) == got


def test_page_totals_and_next_cursor(loaded: Any) -> None:
    s, rows = loaded
    first = s.search(query("contacts", {"limit": 50}))
    assert (first.total, len(first.ids), first.next_cursor is not None) == (len(rows), 50, True)
    last = s.search(query("contacts", {"limit": 50, "page": 3}))
    assert (len(last.ids), last.next_cursor) == (len(rows) - 100, None)
    # a cursor continues where a numbered page ended
    after = s.search(query("contacts", {"limit": 50, "cursor": first.next_cursor}))
    second = s.search(query("contacts", {"limit": 50, "page": 2}))
    assert after.ids == second.ids and after.total == len(rows)


def test_count_is_exact(loaded: Any) -> None:
    s, rows = loaded
    where = parse_where("contacts", {"keyword_match": {"must": {"country": "france"}}})
    assert s.count("contacts", where) == len(ids(rows, lambda r: r["country"] == "france"))
    assert s.count("contacts", parse_where("contacts", {})) == len(rows)


def test_values_prefix_substring_most_frequent_first(loaded: Any) -> None:
    s, rows = loaded
    counts = Counter(r["first_name"].lower() for r in rows)
    got = s.values("contacts", "first_name", "AN", 10)
    want = sorted(((n, c) for n, c in counts.items() if "an" in n), key=lambda p: (-p[1], p[0]))
    assert [(v.value, v.count) for v in got] == want
    assert [v.value for v in s.values("contacts", "first_name", "", 2)] == ["ann", "bob"]
    assert [v.value for v in s.values("contacts", "first_name", "jo", 10)] == ["joanna", "josé"]
    where = parse_where("contacts", {"keyword_match": {"must": {"seniority": "senior"}}})
    under = Counter(r["first_name"].lower() for r in rows if r["seniority"] == "senior")
    got = s.values("contacts", "first_name", "", 10, where)
    assert {(v.value, v.count) for v in got} == set(under.items())


def test_values_escape_regex_metacharacters(loaded: Any) -> None:
    s, _ = loaded
    assert [v.value for v in s.values("contacts", "company_name", "(HOLD", 5)] == [
        "umbrella (holdings)"
    ]
    assert [v.value for v in s.values("contacts", "company_name", "a.b*", 5)] == ["a.b*c labs"]
    assert s.values("contacts", "company_name", ".*", 5) == []
    assert s.values("contacts", "company_name", 'x"|@~<>#&\\', 5) == []


def test_edited_or_foreign_cursor_is_rejected(loaded: Any) -> None:
    s, _ = loaded
    cursor = s.search(query("contacts", {"limit": 5})).next_cursor
    assert cursor is not None
    head, mac = cursor.split(".")
    edited = f"{head[:-2]}{'A' if head[-2] != 'A' else 'B'}{head[-1]}.{mac}"
    with pytest.raises(CursorError):
        query("contacts", {"limit": 5, "cursor": edited})
    other_where = {
        "where": {"keyword_match": {"must": {"country": "france"}}},
        "limit": 5,
        "cursor": cursor,
    }
    with pytest.raises(CursorError):
        query("contacts", other_where)


def test_reupsert_is_idempotent_and_merges_partially(store: SearchEngineStore) -> None:
    doc_id = make_id("merge")
    first = {
        "id": doc_id,
        "first_name": "Ann",
        "title": "CTO",
        "seniority": "vp",
        "company_employees_count": 10,
        "departments": ["engineering"],
        "city": None,
    }
    store.bulk_upsert("contacts", table([first]))
    store.bulk_upsert("contacts", table([first]))
    later = {
        "id": doc_id,
        "first_name": None,
        "title": "CEO",
        "seniority": None,
        "company_employees_count": None,
        "departments": None,
        "city": "Paris",
    }
    store.bulk_upsert("contacts", table([later]))
    # duplicates inside one table merge the same way (a later non-null wins)
    store.bulk_upsert("contacts", table([{**later, "city": "Lyon"}, {**later, "city": None}]))
    store.refresh()
    assert store.count("contacts", None) == 1
    source = store.dialect.client.get(index=store.alias("contacts"), id=doc_id)["_source"]
    assert source == {
        "id": doc_id,
        "first_name": "Ann",
        "title": "CEO",
        "seniority": "vp",
        "company_employees_count": 10,
        "departments": ["engineering"],
        "city": "Lyon",
    }


def _stamp(days: int) -> str:
    return (T0 + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


@pytest.mark.parametrize("in_engine", [True, False], ids=["script", "read-then-write"])
def test_lineage_merges_like_the_record_stores(
    engine: Any, unique_name: str, in_engine: bool
) -> None:
    """source_file gathers every file, created_at / first_seen stay, last_seen only moves
    forward; with the script, updated_at moves only on a change of the data
    (stores/search/lineage.py). Without Painless the store merges the lineage itself."""
    store = SearchEngineStore(engine[1], f"{unique_name}_", cursors=CODEC, replicas=0,
                              merge_in_engine=in_engine)
    if in_engine and "painless" not in store.dialect.script_languages():
        # This engine cannot run the script: a store left to find out merges by itself.
        store.close()
        store = SearchEngineStore(engine[1], f"{unique_name}_", cursors=CODEC, replicas=0)
        assert not store.merges_in_engine()
        in_engine = False
    try:
        _lineage_story(store, in_engine)
    finally:
        store.drop_indices()
        store.close()


def _lineage_story(store: SearchEngineStore, in_engine: bool) -> None:
    doc_id = make_id("lineage")

    def load(file: str, day: int, title: str, run: str) -> None:
        store.bulk_upsert("contacts", pa.Table.from_pylist([{
            "id": doc_id, "title": title, "source_file": [file], "load_run": run,
            "created_at": T0 + timedelta(days=day), "updated_at": T0 + timedelta(days=day),
            "first_seen": T0 + timedelta(days=day), "last_seen": T0 + timedelta(days=day),
        }]))  # fmt: skip

    def source() -> dict[str, Any]:
        return dict(store.dialect.client.get(index=store.alias("contacts"), id=doc_id)["_source"])

    load("a.csv", 1, "CTO", "run-1")
    load("b.csv", 5, "CEO", "run-2")  # a change: updated_at moves
    load("a.csv", 9, "CEO", "run-3")  # a reload with nothing new: only last_seen and run
    load("c.csv", 3, "CEO", "run-0")  # an older load finishing last: last_seen stays
    got = source()
    assert got["source_file"] == ["a.csv", "b.csv", "c.csv"]
    assert (got["created_at"], got["first_seen"]) == (_stamp(1), _stamp(1))
    # the script moves updated_at on a change only; a plain update, with every write
    assert (got["updated_at"], got["last_seen"]) == (_stamp(5 if in_engine else 3), _stamp(9))
    assert (got["title"], got["load_run"]) == ("CEO", "run-0")

    version = store.dialect.client.get(index=store.alias("contacts"), id=doc_id)["_version"]
    load("c.csv", 3, "CEO", "run-0")  # a retried batch: nothing changes, nothing is written
    after = store.dialect.client.get(index=store.alias("contacts"), id=doc_id)["_version"]
    assert after == version
    store.refresh()
    where = parse_where("contacts", {"keyword_match": {"must": {"source_file": "b.csv"}},
                                     "range_query": {"must": {"last_seen": {"gte": "2024-01-10"}}}})
    assert store.count("contacts", where) == 1


def test_an_index_made_before_lineage_gains_its_fields(
    engine: Any, unique_name: str
) -> None:
    """An index created with an older mapping (no first_seen / last_seen) is given the new
    fields by ensure_indices, and its documents' single file becomes the first of a list."""
    old = _store(engine[1], f"{unique_name}_")
    body = old._index_body("contacts")  # what this engine's indices are made with
    for name in ("first_seen", "last_seen"):
        del body["mappings"]["properties"][name]
    body["aliases"] = {old.alias("contacts"): {}}
    old.dialect.create_index(index_name(f"{unique_name}_", "contacts"), body)
    doc_id = make_id("before-lineage")
    client = old.dialect.client
    client.index(index=old.alias("contacts"), id=doc_id, refresh=True,
                 body={"id": doc_id, "source_file": "old.csv", "title": "CTO"})
    new = _store(engine[1], f"{unique_name}_")
    try:
        new.bulk_upsert("contacts", pa.Table.from_pylist([{
            "id": doc_id, "source_file": ["new.csv"], "last_seen": T0,
        }]))  # fmt: skip  (ensure_indices runs first, as in every load)
        new.refresh()
        source = client.get(index=new.alias("contacts"), id=doc_id)["_source"]
        assert source["source_file"] == ["old.csv", "new.csv"]
        since = {"range_query": {"must": {"last_seen": {"gte": "2024-01-01"}}}}
        seen = parse_where("contacts", since)
        assert new.count("contacts", seen) == 1
    finally:
        new.drop_indices()
        new.close()
        old.close()


def test_concurrent_writers_of_the_same_documents_both_land(store: SearchEngineStore) -> None:
    n = 2_000
    keys = [make_id(f"shared:{i}") for i in range(n)]
    tables = [
        pa.table({"id": keys, "city": ["Paris"] * n}),
        pa.table({"id": keys, "state": ["IDF"] * n}),
    ]
    errors: list[BaseException] = []

    def write(t: pa.Table) -> None:
        try:
            store.bulk_upsert("contacts", t)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in tables]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store.refresh()
    both = parse_where("contacts", {"keyword_match": {"must": {"city": "paris", "state": "idf"}}})
    assert store.count("contacts", both) == n


def test_mapping_errors_are_terminal_and_name_the_field(store: SearchEngineStore) -> None:
    bad = pa.table(
        {"id": [make_id("good"), make_id("bad")], "company_employees_count": ["5", "lots"]}
    )
    with pytest.raises(TerminalStoreError, match="company_employees_count"):
        store.bulk_upsert("contacts", bad)
    with pytest.raises(TerminalStoreError, match="favourite_colour"):
        store.bulk_upsert("contacts", table([{"id": make_id("x"), "favourite_colour": "red"}]))
    with pytest.raises(TerminalStoreError, match="null id"):
        store.bulk_upsert("contacts", pa.table({"id": pa.array([None], pa.string())}))


def test_a_missing_index_is_index_missing_for_reads_writes_and_ping(
    engine: Any, unique_name: str
) -> None:
    """A transient state (the index is rebuilt from the records), never a bare terminal error:
    reads raise it, the health ping raises it, and a write meets it per bulk item (the alias is
    required, so a write never auto-creates an index with a guessed mapping)."""
    s = _store(engine[1], f"{unique_name}_never_")
    try:
        with pytest.raises(IndexMissing, match="index_not_found"):
            s.count("contacts", None)
        with pytest.raises(IndexMissing):
            s.search(query("companies", {}))
        with pytest.raises(IndexMissing, match="no index behind"):
            s.ping()
        s._ensured = True  # as if created earlier in this process, then lost by the node
        with pytest.raises(IndexMissing):
            s.bulk_upsert("companies", table([{"id": make_id("lost"), "name": "Lost"}]))
        # The next write ensures the indices again instead of failing the same way.
        s.bulk_upsert("companies", table([{"id": make_id("lost"), "name": "Lost"}]))
        s.refresh()
        assert s.count("companies", None) == 1
        s.ping()
    finally:
        s.drop_indices()
        s.close()


def test_file_counts_and_documents_by_id(store: SearchEngineStore) -> None:
    """What the drift check reads: exact counts per source file past one aggregation page,
    and the stored documents of given ids (missing ones left out)."""
    n = 2_500  # more files than one composite page holds
    rows: list[dict[str, Any]] = [
        {"id": make_id(f"fc:{i}"), "source_file": [f"f{i % 1_200:04d}.csv"], "name": f"N{i}"}
        for i in range(n)
    ]
    store.bulk_upsert("companies", table(rows))
    store.refresh()
    expected: dict[str, int] = {}
    for row in rows:
        [file] = row["source_file"]
        expected[file] = expected.get(file, 0) + 1
    assert store.file_counts("companies") == expected
    assert store.file_counts("contacts") == {}
    docs = store.get_documents("companies", [rows[0]["id"], rows[7]["id"], make_id("absent")])
    assert set(docs) == {rows[0]["id"], rows[7]["id"]}
    assert docs[rows[7]["id"]]["name"] == "N7"


def test_twelve_thousand_documents_counted_exactly(store: SearchEngineStore) -> None:
    n = 12_000
    store.bulk_upsert(
        "companies",
        pa.table({"id": [make_id(f"many:{i}") for i in range(n)],
                  "source_file": [["big.csv"]] * n}),
    )
    store.refresh()
    page = store.search(query("companies", {"limit": 1}))
    assert page.total == n and page.next_cursor is not None
    assert store.count("companies", None) == n
    walked = list(store.ids_for_file("companies", "big.csv"))  # several scan pages
    assert walked == sorted({make_id(f"many:{i}") for i in range(n)})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("engine_name", [None, "opensearch", "elasticsearch"])
def test_closed_port_is_transient_and_quick(engine_name: Any) -> None:
    settings = SearchSettings(
        "127.0.0.1",
        _closed_port(),
        username="admin",
        password=Secret("s3cr3t-pw"),
        engine=engine_name,
    )
    s = make_search_store(settings)
    started = time.monotonic()
    for call in (s.ping, lambda: s.count("contacts", None), s.ensure_indices):
        with pytest.raises(TransientStoreError) as caught:
            call()
        assert "s3cr3t-pw" not in str(caught.value) and "refused" in str(caught.value)
    assert time.monotonic() - started < 3
    s.close()


def test_search_page_shape(loaded: Any) -> None:
    s, _ = loaded
    page = s.search(query("contacts", {"limit": 3}))
    assert isinstance(page, SearchPage)
    assert all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in page.ids)


def test_a_node_list_fails_over_from_a_dead_node_to_a_live_one(
    engine: Any, unique_name: str
) -> None:
    """A cluster given as several nodes (ELASTICSEARCH_HOST=a,b,c): requests that meet a node
    that is away are retried on another, so no call fails while one node is up; with every
    node away, the error is transient and names them all."""
    name, live = engine
    dead = ("127.0.0.1", _closed_port())
    settings = dataclasses.replace(live, host=dead[0], port=dead[1],
                                   more_hosts=((live.host, live.port),), engine=name)
    s = _store(settings, f"{unique_name}_")
    try:
        s.ensure_indices()
        s.bulk_upsert("contacts", pa.table({"id": [str(uuid.uuid4())], "first_name": ["Ada"]}))
        s.refresh()
        for _ in range(8):  # round robin: every other request is first sent to the dead node
            assert s.count("contacts", None) == 1
    finally:
        s.drop_indices()
        s.close()
    gone = dataclasses.replace(settings, more_hosts=(("127.0.0.1", _closed_port()),))
    s = _store(gone, f"{unique_name}_")
    with pytest.raises(TransientStoreError) as caught:
        s.count("contacts", None)
    assert f"127.0.0.1:{dead[1]}" in str(caught.value)
    s.close()

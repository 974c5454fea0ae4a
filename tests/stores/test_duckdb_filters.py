"""The embedded store's filter cache (stores/duckdb/filters.py): the same answers as plain
SQL, from memory while the file holds the same data, and never after a write changed it."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores.duckdb import DuckDBStore
from tests.stores.rows import T0, companies, contacts, new_id
from vql import CursorCodec, parse_query, parse_where

CODEC = CursorCodec(b"duckdb-filter-cache-tests")
N = 400


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(11)
    comps = [
        {"id": new_id(), "name": rng.choice(["Acme Rockets", "acme", "Beta Soft", None]),
         "employees_count": rng.choice([None, 10, 120, 500, 5000]),
         "industries": rng.choice([["software"], ["aerospace", "software"], None])}
        for _ in range(15)
    ]
    titles = ["Senior Software Engineer", "Software Sales Manager", "Engineer, Software",
              "Sofware Enginer", "VP Engineering", "Data Engineer", None]
    people = [
        {"id": new_id(),
         "first_name": rng.choice(["Ana", "ana", "Bob", "Zoë", None]),
         "last_name": rng.choice(["Smith", "Müller", "Li", "Stone"]),
         "title": rng.choice(titles),
         "seniority": rng.choice(["senior", "vp", "entry", None]),
         "departments": rng.choice([["engineering"], ["sales", "engineering"], None]),
         "email": f"p{n}@{rng.choice(['acme.example', 'logic.example', 'beta.example'])}",
         "country": rng.choice(["france", "germany", "united states", None]),
         "company_id": rng.choice([*(c["id"] for c in comps), None]),
         "created_at": T0 + dt.timedelta(hours=rng.randint(0, 40),
                                         microseconds=rng.choice([0, 1, 999]))}
        for n in range(N)
    ]
    return comps, people


def _text(field: str, value: str, kind: str, **more: Any) -> dict[str, Any]:
    return {"filter_key": field, "text_value": value, "search_type": kind, **more}


CONDITIONS: list[tuple[str, str, Any]] = [  # (group, must/must_not/should, condition)
    ("keyword_match", "must", ("seniority", ["senior", "vp"])),
    ("keyword_match", "must", ("departments", "engineering")),
    ("keyword_match", "must", ("company_industries", "aerospace")),
    ("keyword_match", "must_not", ("country", "united states")),
    ("keyword_match", "must_not", ("company_name", "beta soft")),
    ("range_query", "must", ("company_employees_count", {"gte": 100, "lte": 1000})),
    ("range_query", "must", ("created_at", {"gte": "2024-03-01T20:00:00Z"})),
    ("range_query", "must_not", ("company_employees_count", {"gte": 1000})),
    ("text_matches", "must", _text("title", "software engineer", "shuffle", fuzzy=True)),
    ("text_matches", "must", _text("title", "engineer software", "exact", slop=2)),
    ("text_matches", "must", _text("email", "logic", "substring")),
    ("text_matches", "must_not", _text("title", "sales", "shuffle")),
    ("text_matches", "should", _text("title", "vp", "shuffle")),
    ("text_matches", "should", _text("company_name", "rocket", "substring")),
]
ORDERS = ("created_at", "first_name", "company_employees_count", "company_name", None)


def _where(picked: list[int]) -> dict[str, Any]:
    where: dict[str, Any] = {}
    for i in picked:
        group, part, condition = CONDITIONS[i]
        if group == "text_matches":
            where.setdefault(group, {}).setdefault(part, []).append(condition)
        else:
            field, value = condition
            where.setdefault(group, {}).setdefault(part, {})[field] = value
    return where


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDBStore, DuckDBStore]:
    """The same file through a store that caches from the first use and one that never
    caches."""
    path = tmp_path_factory.mktemp("filters") / "connectra.duckdb"
    comps, people = _rows()
    writer = DuckDBStore(path, filter_cache_mb=0)
    writer.upsert_companies(companies(comps))
    writer.upsert_contacts(contacts(people))
    cached = DuckDBStore(path, cursors=CODEC, filter_min_uses=1)
    plain = DuckDBStore(path, cursors=CODEC, filter_cache_mb=0)
    return cached, plain


def _walk(store: DuckDBStore, body: dict[str, Any]) -> tuple[list[list[str]], list[int]]:
    """Every page through next_cursor: the ids of each page and each page's total."""
    pages, totals, cursor = [], [], None
    while True:
        page = store.search(parse_query("contacts", {**body, "cursor": cursor}, CODEC))
        pages.append(page.ids)
        totals.append(page.total)
        cursor = page.next_cursor
        if cursor is None or len(pages) > N:
            return pages, totals


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picked=st.lists(st.integers(0, len(CONDITIONS) - 1), max_size=4, unique=True),
    order=st.sampled_from(ORDERS),
    descending=st.booleans(),
    limit=st.integers(1, 60),
    page=st.integers(1, 4),
)
def test_cached_answers_equal_plain_sql(
    pair: tuple[DuckDBStore, DuckDBStore], picked: list[int], order: str | None,
    descending: bool, limit: int, page: int,
) -> None:
    cached, plain = pair
    where = _where(picked)
    body: dict[str, Any] = {"where": where, "limit": limit}
    if order:
        direction = "desc" if descending else "asc"
        body["order_by"] = [{"order_by": order, "order_direction": direction}]
    parsed = parse_where("contacts", where)
    expected = plain.count("contacts", parsed)
    for _ in range(2):  # the first read fills the cache, the second reads it
        assert cached.count("contacts", parsed) == expected
        query = parse_query("contacts", {**body, "page": page})
        got, want = cached.search(query), plain.search(query)
        assert (got.ids, got.total) == (want.ids, want.total)
    if limit >= 20:
        assert _walk(cached, body) == _walk(plain, body)
    assert cached.filter_cache is not None and (cached.filter_cache.hits > 0 or not picked)


def _token(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        return str(con.execute("SELECT token FROM write_token").fetchall()[0][0])


def test_every_write_draws_a_new_token_and_a_read_does_not(tmp_path: Path) -> None:
    path = tmp_path / "connectra.duckdb"
    store = DuckDBStore(path)
    store.migrate()
    first = _token(path)
    store.upsert_contacts(contacts([{"id": new_id(), "seniority": "vp", "created_at": T0}]))
    second = _token(path)
    store.count("contacts", parse_where("contacts", {}))
    assert first != second == _token(path)
    store.mark_loaded("run-1")
    assert _token(path) != second


def _vp(store: DuckDBStore) -> int:
    where = parse_where("contacts", {"keyword_match": {"must": {"seniority": "vp"}}})
    return store.count("contacts", where)


def _vp_page(store: DuckDBStore) -> list[str]:
    body = {"where": {"keyword_match": {"must": {"seniority": "vp"}}}, "limit": 50}
    return store.search(parse_query("contacts", body)).ids


def test_a_write_by_another_store_is_seen_at_once(tmp_path: Path) -> None:
    """The reading store answers from memory until a write changes the file; the next read
    sees the write (new rows, a changed row, in its count and its page)."""
    path = tmp_path / "connectra.duckdb"
    writer = DuckDBStore(path, filter_cache_mb=0)
    first = {"id": new_id(), "seniority": "vp", "created_at": T0}
    writer.upsert_contacts(contacts([first, {"id": new_id(), "seniority": "entry",
                                             "created_at": T0}]))
    reader = DuckDBStore(path, filter_min_uses=1)
    assert (_vp(reader), _vp(reader)) == (1, 1)
    assert _vp_page(reader) == _vp_page(reader) == [first["id"]]
    assert reader.filter_cache is not None and reader.filter_cache.hits >= 2

    later = {"id": new_id(), "seniority": "vp", "created_at": T0 + dt.timedelta(days=1)}
    writer.upsert_contacts(contacts([later]))
    assert _vp(reader) == 2
    assert _vp_page(reader) == [later["id"], first["id"]]
    writer.upsert_contacts(contacts([{"id": first["id"], "seniority": "entry"}]))
    assert _vp(reader) == 1
    assert _vp_page(reader) == [later["id"]]


def test_a_file_made_anew_at_the_same_path_is_not_answered_from_memory(tmp_path: Path) -> None:
    path = tmp_path / "connectra.duckdb"
    rows = [{"id": str(uuid.UUID(int=n, version=4)), "seniority": "vp", "created_at": T0}
            for n in range(1, 4)]
    DuckDBStore(path, filter_cache_mb=0).upsert_contacts(contacts(rows))
    reader = DuckDBStore(path, filter_min_uses=1)
    assert _vp(reader) == _vp(reader) == 3
    path.unlink()
    DuckDBStore(path, filter_cache_mb=0).upsert_contacts(contacts(rows[:1]))
    assert _vp(reader) == 1


def test_a_cursor_whose_row_changed_still_pages_right(tmp_path: Path) -> None:
    """A cursor from before a write, ending at a row the write moved: the page is SQL's."""
    path = tmp_path / "connectra.duckdb"
    writer = DuckDBStore(path, filter_cache_mb=0)
    rows = [{"id": new_id(), "seniority": "vp", "created_at": T0 + dt.timedelta(hours=h)}
            for h in range(6)]
    writer.upsert_contacts(contacts(rows))
    reader = DuckDBStore(path, cursors=CODEC, filter_min_uses=1)
    plain = DuckDBStore(path, cursors=CODEC, filter_cache_mb=0)
    body = {"where": {"keyword_match": {"must": {"seniority": "vp"}}}, "limit": 2}
    first = reader.search(parse_query("contacts", body))
    assert first.next_cursor is not None
    moved = {"id": first.ids[-1], "created_at": T0 - dt.timedelta(days=1)}
    writer.upsert_contacts(contacts([moved]))
    for _ in range(2):
        query = parse_query("contacts", {**body, "cursor": first.next_cursor}, CODEC)
        assert reader.search(query).ids == plain.search(query).ids


@pytest.mark.parametrize("order", [o for o in ORDERS if o])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_cursor_pages_are_picked_along_the_ranking(
    pair: tuple[DuckDBStore, DuckDBStore], order: str, direction: str
) -> None:
    cached, plain = pair
    cache = cached.filter_cache
    assert cache is not None
    body = {"where": _where([0]), "limit": 7,
            "order_by": [{"order_by": order, "order_direction": direction}]}
    _walk(cached, body)  # conditions and order now kept
    before = cache.pages
    pages, _ = _walk(cached, body)
    assert cache.pages - before == len(pages) > 3  # the first page and every cursor page
    assert (pages, _) == _walk(plain, body)


def test_memory_stays_within_its_bound_and_answers_stay_right(
    pair: tuple[DuckDBStore, DuckDBStore], tmp_path: Path
) -> None:
    _, plain = pair
    small = DuckDBStore(plain.path, filter_min_uses=1, filter_cache_mb=1)
    small.filter_cache.max_bytes = 3 * N  # type: ignore[union-attr]  # three bitmaps
    for picked in ([0], [1, 2], [3, 4, 5], [6, 7], [0, 8]):
        where = parse_where("contacts", _where(picked))
        for _ in range(2):
            assert small.count("contacts", where) == plain.count("contacts", where)
        gen = small.filter_cache._gen  # type: ignore[union-attr]
        assert gen is not None and gen.nbytes <= 3 * N


def test_a_condition_is_cached_from_its_second_use_by_default(
    pair: tuple[DuckDBStore, DuckDBStore],
) -> None:
    _, plain = pair
    store = DuckDBStore(plain.path)
    cache = store.filter_cache
    assert cache is not None
    where = parse_where("contacts", _where([0, 3]))
    counts = []
    for _ in range(3):
        counts.append(store.count("contacts", where))
        counts.append((cache.misses, cache.hits))
    assert counts[1::2] == [(0, 0), (2, 0), (2, 2)]  # plain SQL, filled, read
    assert len(set(counts[0::2])) == 1
    assert DuckDBStore(plain.path, filter_cache_mb=0).filter_cache is None


def test_fuzzy_words_are_expanded_once_per_write_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stores.duckdb import queries

    made: list[str] = []
    real = queries.fuzzy_terms_statement

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "fuzzy_terms_statement", counted)
    path = tmp_path / "connectra.duckdb"
    writer = DuckDBStore(path, filter_cache_mb=0)
    writer.upsert_contacts(contacts([{"id": new_id(), "title": "Software Engineer",
                                      "created_at": T0}]))
    store = DuckDBStore(path, filter_min_uses=10)  # plain SQL every time, expansions kept
    where = parse_where("contacts", {"text_matches": {"must": [
        _text("title", "enginer", "shuffle", fuzzy=True)]}})
    assert [store.count("contacts", where) for _ in range(3)] == [1, 1, 1]
    assert made == ["title"]
    writer.upsert_contacts(contacts([{"id": new_id(), "title": "Engineers Lead",
                                      "created_at": T0}]))
    assert store.count("contacts", where) == 2  # "engineers" is one edit away too
    assert made == ["title", "title"]


def test_a_file_before_the_write_token_is_answered_by_plain_sql(tmp_path: Path) -> None:
    from stores.duckdb.migrate import STEPS

    path = tmp_path / "connectra.duckdb"
    DuckDBStore(path).migrate(STEPS[:4])
    with duckdb.connect(str(path)) as con:  # lowercase: step 4 listed it as such
        con.execute("INSERT INTO contacts (id, seniority, title, created_at, updated_at, "
                    "first_seen, last_seen) "
                    "VALUES (?, 'vp', 'data engineer', now(), now(), now(), now())",
                    [new_id()])
    store = DuckDBStore(path, filter_min_uses=1)
    fuzzy = {"where": {"text_matches": {"must": [
        _text("title", "enginer", "shuffle", fuzzy=True)]}}}
    for _ in range(2):
        assert _vp(store) == 1
        assert _vp_page(store) != []
        assert store.search(parse_query("contacts", fuzzy)).total == 1
    assert store.filter_cache is not None and store.filter_cache.hits == 0
    store.migrate()
    assert (_vp(store), _vp(store)) == (1, 1)
    assert store.filter_cache.hits > 0

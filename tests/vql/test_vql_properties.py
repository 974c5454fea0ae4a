"""Property tests: any valid query compiles on both compilers and runs on DuckDB exactly as
the reference says; no input whatsoever raises anything but VQLError, and every error
points into the input (or at a missing member of an object that is there)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vql
from vql.registry import ServiceRegistry

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

VOCAB = ["software", "engineer", "Senior", "sales", "york", "new", "zürich", "são", "o'neil",
         "smith", "jon", "enginer", "vp", "data", "cloud", "acme", "tech", "of", "li", "de"]
KEYWORDS = ["senior", "VP", "united states", "France", "sales", "it", "software", "retail",
            "new york", "Acme", "x"]


def phrase(min_words: int = 1) -> st.SearchStrategy[str]:
    words = st.lists(st.sampled_from(VOCAB) | st.text("abcxyzé'-", min_size=1, max_size=6),
                     min_size=min_words, max_size=4)
    return words.map(" ".join).filter(lambda s: any(c.isalnum() for c in s) and s.strip())


def text_condition(reg: ServiceRegistry) -> st.SearchStrategy[dict[str, Any]]:
    field = st.sampled_from(reg.names("text"))
    exact = st.fixed_dictionaries(
        {"filter_key": field, "text_value": phrase(), "search_type": st.just("exact")},
        optional={"slop": st.integers(0, 3), "fuzzy": st.just(False)})
    shuffle = st.fixed_dictionaries(
        {"filter_key": field, "text_value": phrase(), "search_type": st.just("shuffle")},
        optional={"fuzzy": st.booleans(), "operator": st.sampled_from(["and", "or", ""])})
    substring = st.fixed_dictionaries(
        {"filter_key": st.sampled_from(reg.names("substring")), "search_type": st.just("substring"),
         "text_value": phrase().filter(lambda s: len(s) >= 3).map(lambda s: s[:8])
         .filter(lambda s: len(s) >= 3 and s.strip())})
    return exact | shuffle | substring


def keyword_map(reg: ServiceRegistry) -> st.SearchStrategy[dict[str, Any]]:
    value = st.sampled_from(KEYWORDS) | st.lists(st.sampled_from(KEYWORDS), min_size=1,
                                                 max_size=3)
    return st.dictionaries(st.sampled_from(reg.names("keyword")), value, max_size=2)


def range_map(reg: ServiceRegistry) -> st.SearchStrategy[dict[str, Any]]:
    def bounds(name: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        is_date = reg[name].data_type == "date"
        value: st.SearchStrategy[Any] = (
            st.tuples(st.datetimes(datetime(2019, 6, 1), datetime(2025, 1, 1)),
                      st.sampled_from(["", "Z", "+02:00"])).map(lambda d: d[0].isoformat() + d[1])
            if is_date else st.integers(0, 20000) | st.floats(0, 2 * 10**9)
        )
        lower = st.fixed_dictionaries({}, optional={"gte": value}) | st.fixed_dictionaries(
            {}, optional={"gt": value})
        upper = st.fixed_dictionaries({}, optional={"lte": value}) | st.fixed_dictionaries(
            {}, optional={"lt": value})
        return st.tuples(st.just(name), st.tuples(lower, upper).map(
            lambda lu: {**lu[0], **lu[1]}).filter(bool))

    return st.lists(st.sampled_from(reg.names("range")).flatmap(bounds), max_size=2).map(dict)


def clauses(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={c: inner for c in ("must", "must_not", "should")})


@st.composite
def valid_request(draw: st.DrawFn, service: str) -> dict[str, Any]:
    reg = vql.registry(service)
    where = draw(st.fixed_dictionaries({}, optional={
        "text_matches": clauses(st.lists(text_condition(reg), max_size=2)),
        "keyword_match": clauses(keyword_map(reg)),
        "range_query": clauses(range_map(reg)),
    }))
    sortable = reg.names("sort")
    order = draw(st.lists(st.sampled_from(sortable), unique=True, max_size=3))
    limit = draw(st.integers(1, 100))
    return {
        "where": where,
        "order_by": [{"order_by": f, "order_direction": draw(st.sampled_from(["asc", "desc"]))}
                     for f in order],
        "limit": limit,
        "page": draw(st.integers(1, 3)),
    }


@SETTINGS
@given(st.sampled_from(["contacts", "companies"])
       .flatmap(lambda s: st.tuples(st.just(s), valid_request(s))))
def test_valid_queries_compile_on_both_compilers(case: tuple[str, dict[str, Any]]) -> None:
    service, request = case
    query = vql.parse_query(service, json.loads(json.dumps(request)))
    body = vql.compile_search(query)
    json.dumps(body, allow_nan=False)  # a plain JSON tree
    assert body["size"] == query.limit
    name = "contacts_search" if service == "contacts" else service
    source = sa.table(name, *(sa.column(f.name) for f in vql.registry(service)))
    select = vql.compile_sql(query, source)
    sql, params = vql.to_duckdb(select)
    # every ? outside the constant string literals (the word pattern holds some) is a parameter
    assert re.sub(r"'(?:[^']|'')*'", "", sql).count("?") == len(params)
    assert vql.to_postgres(select)[0]


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["contacts", "companies"])
       .flatmap(lambda s: st.tuples(st.just(s), valid_request(s))))
def test_valid_queries_run_like_the_reference(
    run_sql: Callable[[vql.Query], list[tuple[Any, ...]]],
    reference: Callable[[vql.Query], list[str]],
    case: tuple[str, dict[str, Any]],
) -> None:
    service, request = case
    query = vql.parse_query(service, request)
    expected = reference(query)[query.offset: query.offset + query.limit]
    assert [row[0] for row in run_sql(query)] == expected


# ---------------------------------------------------------------- hostile input
KEYS = ["where", "order_by", "page", "limit", "cursor", "select_columns", "company_config",
        "text_matches", "keyword_match", "range_query", "must", "must_not", "should",
        "filter_key", "text_value", "search_type", "fuzzy", "slop", "operator", "title",
        "created_at", "seniority", "gte", "lt", "populate", "a/b", "~0"]
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
           | st.sampled_from(["exact", "shuffle", "substring", "asc", "or", "2024-01-01",
                              "\ud800", "a\x00b", "software engineer"]))
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=4),
    max_leaves=25,
)


def pointer_tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def resolves(doc: Any, tokens: list[str]) -> bool:
    for token in tokens:
        if isinstance(doc, dict) and token in doc:
            doc = doc[token]
        elif isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
            doc = doc[int(token)]
        else:
            return False
    return True


def check_errors(doc: Any, call: Callable[[], Any], prefix: str = "") -> None:
    try:
        call()
    except vql.VQLError as exc:
        assert exc.errors
        for error in exc.errors:
            assert error.message
            assert error.path.startswith(prefix)
            tokens = pointer_tokens(error.path[len(prefix):])
            assert resolves(doc, tokens) or (tokens and resolves(doc, tokens[:-1])), error


@SETTINGS
@given(JSON)
def test_any_json_only_raises_vql_errors(doc: Any) -> None:
    check_errors(doc, lambda: vql.parse_query("contacts", doc))
    check_errors(doc, lambda: vql.parse_where("companies", doc, "/where"), "/where")


@st.composite
def mutated_request(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request with one part replaced, dropped, or joined by a stray member."""
    request = draw(valid_request("contacts"))
    paths: list[list[Any]] = []

    def collect(node: Any, path: list[Any]) -> None:
        paths.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
            node, list) else []
        for key, child in items:
            collect(child, [*path, key])

    collect(request, [])
    path = draw(st.sampled_from(paths[1:]))
    parent = request
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "drop", "stray"]))
    if action == "replace":
        parent[path[-1]] = draw(JSON)
    elif action == "drop" and isinstance(parent, dict):
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(KEYS))] = draw(JSON)
    return request


@SETTINGS
@given(mutated_request())
def test_mutated_requests_only_raise_vql_errors(request: dict[str, Any]) -> None:
    codec = vql.CursorCodec(b"property-test-secret")
    check_errors(request, lambda: vql.parse_query("contacts", request, codec))


def test_huge_and_odd_numbers() -> None:
    for value in [2**1000, -(2**1000), math.inf, -math.inf, math.nan, 1e308, True, False]:
        request = {"limit": value, "page": value, "where": {"range_query": {"must": {
            "company_employees_count": {"gte": value}, "created_at": {"lt": value}}}}}
        check_errors(request, lambda: vql.parse_query("contacts", request))  # noqa: B023

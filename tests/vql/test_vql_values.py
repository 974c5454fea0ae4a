"""The filter-values request: parsing, both compilers, and DuckDB against a Python count."""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

import vql
from vql import ValuesRequest, Where


def test_parse() -> None:
    where = {"keyword_match": {"must": {"country": "france"}}}
    request = vql.parse_values_request("contacts", {
        "filter_key": "departments", "search_text": "Eng", "limit": 5, "where": where})
    assert request == ValuesRequest("contacts", "departments", "Eng", 5,
                                    vql.parse_where("contacts", where))
    empty = {"filter_key": "city", "search_text": "", "where": None}
    assert vql.parse_values_request("contacts", empty) == ValuesRequest("contacts", "city")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "/filter_key"),
        ({"filter_key": "title"}, "/filter_key"),
        ({"filter_key": "company_id"}, "/filter_key"),
        ({"filter_key": "city", "limit": 0}, "/limit"),
        ({"filter_key": "city", "search_text": 3}, "/search_text"),
        ({"filter_key": "city", "where": {"keyword_match": {"must": {"x": "y"}}}},
         "/where/keyword_match/must/x"),
        ({"filter_key": "city", "serch_text": "a"}, "/serch_text"),
        ([], ""),
    ],
)
def test_parse_errors(body: Any, path: str) -> None:
    with pytest.raises(vql.VQLError) as info:
        vql.parse_values_request("contacts", body)
    assert info.value.errors[0].path == path


def test_search_body() -> None:
    request = vql.parse_values_request(
        "contacts", {"filter_key": "city", "search_text": "St. J", "limit": 3,
         "where": {"keyword_match": {"must": {"seniority": "vp"}}}})
    assert vql.compile_search_values(request) == {
        "size": 0,
        "track_total_hits": False,
        "query": {"bool": {"must": [{"term": {"seniority": "vp"}}]}},
        "aggs": {"values": {"terms": {
            "field": "city.keyword", "size": 3, "order": [{"_count": "desc"}, {"_key": "asc"}],
            "include": ".*st\\.\\ j.*"}}},
    }
    assert "include" not in vql.compile_search_values(
        ValuesRequest("contacts", "seniority"))["aggs"]["values"]["terms"]


def python_values(rows: list[dict[str, Any]], request: ValuesRequest,
                  where_holds: Any) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    where = request.where or Where(request.service)
    for row in rows:
        if not where_holds(row, where):
            continue
        value = row[request.field]
        elements = value if isinstance(value, list) else [] if value is None else [value]
        for v in {e.lower() for e in elements}:
            if request.search_text is None or request.search_text.lower() in v:
                counts[v] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[: request.limit]


@pytest.mark.parametrize(
    "body",
    [
        {"filter_key": "departments", "search_text": "ing"},
        {"filter_key": "first_name", "search_text": "JO", "limit": 5,
         "where": {"keyword_match": {"must": {"country": "france"}}}},
        {"filter_key": "city", "limit": 100},
        {"filter_key": "company_industries", "search_text": "co"},
        {"filter_key": "seniority", "where": {"text_matches": {"must": [
            {"filter_key": "title", "text_value": "engineer", "search_type": "shuffle",
             "fuzzy": True}]}}},
    ],
)
def test_sql_values_match_python(body: dict[str, Any], duck: duckdb.DuckDBPyConnection,
                                 contacts_source: sa.Table,
                                 contact_rows: list[dict[str, Any]],
                                 where_holds_fn: Any) -> None:
    request = vql.parse_values_request("contacts", body)
    sql, params = vql.to_duckdb(vql.compile_sql_values(request, contacts_source))
    expected = python_values(contact_rows, request, where_holds_fn)
    assert expected
    assert duck.execute(sql, params).fetchall() == expected

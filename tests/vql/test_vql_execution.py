"""Compiled SQL, run on DuckDB, gives exactly the ids (in order) of the Python reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import vql
from vql import Query

RunSql = Callable[[Query], list[tuple[Any, ...]]]
Reference = Callable[[Query], list[str]]


def text(field: str, value: str, search_type: str, **kw: Any) -> dict[str, Any]:
    return {"filter_key": field, "text_value": value, "search_type": search_type, **kw}


WHERES: dict[str, dict[str, Any]] = {
    "keyword": {"keyword_match": {"must": {"seniority": "VP"}}},
    "keyword any of": {"keyword_match": {"must": {"seniority": ["senior", "Owner", "nobody"]}}},
    "keyword mixed case text": {"keyword_match": {"must": {"city": ["NEW YORK", "zürich"]}}},
    "keyword on list": {"keyword_match": {"must": {"departments": ["Sales", "legal"]}}},
    "keyword company list": {"keyword_match": {"must": {"company_industries": "Retail"}}},
    "keyword must_not keeps nulls": {"keyword_match": {"must_not": {"country": "france",
                                                                    "departments": "it"}}},
    "keyword should": {"keyword_match": {"should": {"seniority": "vp", "country": "india"}}},
    "range numbers": {"range_query": {"must": {"company_employees_count": {"gte": 51,
                                                                           "lt": 1000}}}},
    "range fractional": {"range_query": {"must": {"company_annual_revenue": {"gt": 10.5e8},
                                                  "company_founded_year": {"lte": 1999.9}}}},
    "range dates": {"range_query": {"must": {"created_at": {
        "gte": "2021-03-01", "lt": "2022-06-01T12:00:00.5+02:00"}}}},
    "range must_not": {"range_query": {"must_not": {"updated_at": {"gte": "2022-01-01"}}}},
    "exact phrase": {"text_matches": {"must": [text("title", "Software Engineer", "exact")]}},
    "exact punctuation": {"text_matches": {"must": [text("last_name", "O'Neil", "exact")]}},
    "exact hyphen": {"text_matches": {"must": [text("first_name", "jean luc", "exact")]}},
    "exact accents": {"text_matches": {"must": [text("city", "SÃO paulo", "exact")]}},
    "exact slop 1": {"text_matches": {"must": [text("title", "senior engineer", "exact",
                                                    slop=1)]}},
    "exact slop reversed": {"text_matches": {"must": [text("title", "engineer software",
                                                           "exact", slop=2)]}},
    "exact slop 3 words": {"text_matches": {"must": [text("title", "head of data", "exact",
                                                          slop=3)]}},
    "shuffle and": {"text_matches": {"must": [text("title", "engineer SENIOR", "shuffle")]}},
    "shuffle or": {"text_matches": {"must": [text("title", "vp chief", "shuffle",
                                                  operator="or")]}},
    "fuzzy": {"text_matches": {"must": [text("title", "Sofware Enginer", "shuffle",
                                             fuzzy=True)]}},
    "fuzzy short words": {"text_matches": {"must": [text("first_name", "jon li", "shuffle",
                                                         fuzzy=True, operator="or")]}},
    "fuzzy accents": {"text_matches": {"must": [text("city", "zurich", "shuffle", fuzzy=True)]}},
    "substring": {"text_matches": {"must": [text("full_name", "N SM", "substring")]}},
    "substring with space": {"text_matches": {"must": [text("title", "r en", "substring")]}},
    "substring email": {"text_matches": {"must": [text("email", "@example.", "substring")]}},
    "text must_not and should": {"text_matches": {
        "must_not": [text("title", "manager", "shuffle")],
        "should": [text("company_name", "tech", "substring"),
                   text("last_name", "smith", "exact")]}},
    "everything": {
        "text_matches": {"must": [text("title", "engineer", "shuffle", fuzzy=True)]},
        "keyword_match": {"must_not": {"seniority": "entry"},
                          "should": {"country": ["germany", "france"]}},
        "range_query": {"should": {"company_employees_count": {"lte": 200}}},
    },
}

ORDERS: list[list[dict[str, str]]] = [
    [],
    [{"order_by": "first_name", "order_direction": "asc"}],
    [{"order_by": "last_name", "order_direction": "desc"}],
    [{"order_by": "email", "order_direction": "desc"}],
    [{"order_by": "seniority", "order_direction": "asc"}, {"order_by": "country",
                                                          "order_direction": "desc"}],
    [{"order_by": "company_name", "order_direction": "asc"}],
    [{"order_by": "company_employees_count", "order_direction": "desc"}],
    [{"order_by": "company_employees_count", "order_direction": "asc"}],
    [{"order_by": "created_at", "order_direction": "asc"}],
    [{"order_by": "updated_at", "order_direction": "desc"}],
]


@pytest.mark.parametrize("name", list(WHERES))
def test_where(name: str, run_sql: RunSql, reference: Reference,
               count_sql: Callable[[vql.Where], int]) -> None:
    query = vql.parse_query("contacts", {"where": WHERES[name], "limit": 100})
    expected = reference(query)
    assert 0 < len(expected) < 2000, "the data set should make this case meaningful"
    assert [row[0] for row in run_sql(query)] == expected[:100]
    assert count_sql(query.where) == len(expected)


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: ",".join(
    f"{k['order_by']}:{k['order_direction']}" for k in o) or "default")
def test_order(order: list[dict[str, str]], run_sql: RunSql, reference: Reference) -> None:
    query = vql.parse_query("contacts", {"order_by": order, "limit": 100, "page": 3})
    assert [row[0] for row in run_sql(query)] == reference(query)[200:300]


COMPANY_WHERES: dict[str, dict[str, Any]] = {
    "shuffle across list elements": {"text_matches": {"must": [
        text("industries", "software cloud", "shuffle")]}},
    "exact within one element": {"text_matches": {"must": [
        text("industries", "software computer", "exact", slop=2)]}},
    "substring on a website": {"text_matches": {"must": [
        text("website", "1.COM/ABOUT", "substring")]}},
    "fuzzy on lists": {"text_matches": {"must": [text("keywords", "enginer", "shuffle",
                                                      fuzzy=True)]}},
    "keyword on list": {"keyword_match": {"must": {"technologies": "open search"}}},
    "range": {"range_query": {"must": {"founded_year": {"gte": 2000}}}},
}


@pytest.mark.parametrize("name", list(COMPANY_WHERES))
def test_companies(name: str, run_sql: RunSql, reference: Reference) -> None:
    query = vql.parse_query("companies",
                            {"where": COMPANY_WHERES[name], "limit": 100,
                             "order_by": [{"order_by": "name", "order_direction": "asc"}]})
    expected = reference(query)
    assert expected
    assert [row[0] for row in run_sql(query)] == expected[:100]


def walk(run_sql: RunSql, codec: vql.CursorCodec, request: dict[str, Any],
         service: str = "contacts") -> list[str]:
    """Follow next_cursor from the first page to the end."""
    ids: list[str] = []
    token = None
    while True:
        query = vql.parse_query(service, {**request, "cursor": token}, codec)
        rows = run_sql(query)
        ids += [row[0] for row in rows]
        if len(rows) < query.limit:
            return ids
        token = codec.encode(query, vql.sort_values_from_row(query, rows[-1]))


@pytest.mark.parametrize("order", ORDERS[:1] + ORDERS[2:7] + ORDERS[8:], ids=lambda o: ",".join(
    f"{k['order_by']}:{k['order_direction']}" for k in o) or "default")
def test_cursor_walks_every_row_once(order: list[dict[str, str]], run_sql: RunSql,
                                     reference: Reference, codec: vql.CursorCodec) -> None:
    request = {"order_by": order, "limit": 100}
    assert walk(run_sql, codec, request) == reference(vql.parse_query("contacts", request))


def test_cursor_walk_with_filters_and_small_pages(run_sql: RunSql, reference: Reference,
                                                  codec: vql.CursorCodec) -> None:
    request = {"where": WHERES["everything"], "limit": 7,
               "order_by": [{"order_by": "seniority", "order_direction": "desc"}]}
    assert walk(run_sql, codec, request) == reference(vql.parse_query("contacts", request))


def test_offset_pages_match_cursor_pages(run_sql: RunSql, reference: Reference) -> None:
    request: dict[str, Any] = {"where": WHERES["keyword must_not keeps nulls"], "limit": 37,
                               "order_by": [{"order_by": "company_name",
                                             "order_direction": "desc"}]}
    expected = reference(vql.parse_query("contacts", request))
    ids: list[str] = []
    for page in range(1, len(expected) // 37 + 2):
        ids += [row[0] for row in run_sql(vql.parse_query("contacts",
                                                          {**request, "page": page}))]
    assert ids == expected

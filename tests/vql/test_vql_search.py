"""Golden tests of the search-DSL compiler: every construct against a literal dict."""

from __future__ import annotations

import json
from typing import Any

import pytest

import vql


def where(service: str = "contacts", **clauses: Any) -> dict[str, Any]:
    return vql.compile_search_where(vql.parse_where(service, clauses))


def one(kind: str, clause: str, value: Any, service: str = "contacts") -> dict[str, Any]:
    return where(service, **{kind: {clause: value}})


def test_design_example(design_example: str) -> None:
    body = vql.compile_search(vql.parse_query("contacts", json.loads(design_example)))
    assert body == {
        "query": {"bool": {"must": [
            {"match": {"title": {"query": "Software Engineer", "operator": "and",
                                 "fuzziness": "AUTO", "fuzzy_transpositions": False}}},
            {"terms": {"seniority": ["senior", "lead"]}},
            {"term": {"country.keyword": "united states"}},
            {"range": {"company_employees_count": {"gte": 100, "lte": 1000}}},
        ]}},
        "sort": [{"created_at": {"order": "desc", "missing": "_last"}}, {"id": {"order": "asc"}}],
        "size": 25,
        "from": 0,
        "track_total_hits": True,
        "_source": False,
    }


def test_empty_where_matches_all() -> None:
    assert where() == {"match_all": {}}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"filter_key": "title", "text_value": "Head of Sales", "search_type": "exact"},
         {"match_phrase": {"title": {"query": "Head of Sales", "slop": 0}}}),
        ({"filter_key": "title", "text_value": "sales head", "search_type": "exact", "slop": 3},
         {"match_phrase": {"title": {"query": "sales head", "slop": 3}}}),
        ({"filter_key": "full_name", "text_value": "Ana Lee", "search_type": "shuffle"},
         {"match": {"full_name": {"query": "Ana Lee", "operator": "and"}}}),
        ({"filter_key": "city", "text_value": "york paris", "search_type": "shuffle",
          "operator": "or"},
         {"match": {"city": {"query": "york paris", "operator": "or"}}}),
        ({"filter_key": "title", "text_value": "enginer", "search_type": "shuffle",
          "operator": "or", "fuzzy": True},
         {"match": {"title": {"query": "enginer", "operator": "or", "fuzziness": "AUTO",
                              "fuzzy_transpositions": False}}}),
        ({"filter_key": "email", "text_value": "@Acme.", "search_type": "substring"},
         {"match_phrase": {"email.ngram": {"query": "@acme."}}}),
        ({"filter_key": "company_domain", "text_value": "Acme.I", "search_type": "substring"},
         {"match_phrase": {"company_domain.ngram": {"query": "acme.i"}}}),
    ],
)
def test_text_matches(condition: dict[str, Any], expected: dict[str, Any]) -> None:
    assert one("text_matches", "must", [condition]) == {"bool": {"must": [expected]}}


def test_keyword_values_are_lowercased_and_deduplicated() -> None:
    assert one("keyword_match", "must", {"seniority": "VP"}) == {
        "bool": {"must": [{"term": {"seniority": "vp"}}]}}
    assert one("keyword_match", "must", {"company_name": ["Acme", "ACME", "Beta"]}) == {
        "bool": {"must": [{"terms": {"company_name.keyword": ["acme", "beta"]}}]}}
    assert one("keyword_match", "must", {"departments": ["Sales", "IT"]}) == {
        "bool": {"must": [{"terms": {"departments": ["sales", "it"]}}]}}
    assert one("keyword_match", "must", {"industries": "Retail"}, "companies") == {
        "bool": {"must": [{"term": {"industries.keyword": "retail"}}]}}


def test_ranges() -> None:
    assert one("range_query", "must", {"company_annual_revenue": {"gt": 10, "lt": 99.5}}) == {
        "bool": {"must": [{"range": {"company_annual_revenue": {"gt": 10, "lte": 99}}}]}}
    assert one("range_query", "must", {"created_at": {"gte": "2024-01-01",
                                                      "lt": "2024-01-01T01:00:00.5+01:00"}}) == {
        "bool": {"must": [{"range": {"created_at": {
            "gte": 1704067200000, "lt": 1704067200500, "format": "epoch_millis"}}}]}}


def test_boolean_clauses() -> None:
    compiled = where(
        text_matches={"should": [{"filter_key": "title", "text_value": "cto",
                                  "search_type": "exact"}],
                      "must_not": [{"filter_key": "title", "text_value": "intern",
                                    "search_type": "shuffle"}]},
        keyword_match={"must": {"country": "france"}, "should": {"seniority": "vp"}},
        range_query={"must_not": {"created_at": {"lt": "2020-01-01"}}},
    )
    assert compiled == {"bool": {
        "must": [{"term": {"country.keyword": "france"}}],
        "must_not": [
            {"match": {"title": {"query": "intern", "operator": "and"}}},
            {"range": {"created_at": {"lt": 1577836800000, "format": "epoch_millis"}}},
        ],
        "should": [
            {"match_phrase": {"title": {"query": "cto", "slop": 0}}},
            {"term": {"seniority": "vp"}},
        ],
        "minimum_should_match": 1,
    }}


def search_body(body: dict[str, Any], service: str = "contacts") -> dict[str, Any]:
    return vql.compile_search(vql.parse_query(service, body))


def test_sort_orders() -> None:
    body = search_body({"order_by": [{"order_by": "company_name", "order_direction": "asc"},
                                     {"order_by": "company_employees_count",
                                      "order_direction": "desc"},
                                     {"order_by": "seniority"}]})
    assert body["sort"] == [
        {"company_name.keyword": {"order": "asc", "missing": "_last"}},
        {"company_employees_count": {"order": "desc", "missing": "_last"}},
        {"seniority": {"order": "asc", "missing": "_last"}},
        {"id": {"order": "asc"}},
    ]
    text = {"where": {"text_matches": {"must": [{"filter_key": "name", "text_value": "acme",
                                                 "search_type": "exact"}]}}}
    assert search_body(text, "companies")["sort"] == [
        {"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]
    not_scored = {"where": {"text_matches": {"must_not": [
        {"filter_key": "name", "text_value": "acme", "search_type": "exact"}]}}}
    assert search_body(not_scored, "companies")["sort"][0] == {
        "created_at": {"order": "desc", "missing": "_last"}}


def test_paging() -> None:
    body = search_body({"page": 3, "limit": 10})
    assert (body["size"], body["from"]) == (10, 20)
    assert "search_after" not in body


def test_search_after_from_a_cursor(codec: vql.CursorCodec) -> None:
    request = {"order_by": [{"order_by": "company_employees_count", "order_direction": "desc"},
                            {"order_by": "last_name"}], "limit": 5, "page": 7}
    first = vql.parse_query("contacts", request, codec)
    hit = {"_id": "x", "sort": [-(2**63), None, "0b5c"]}  # a missing count, sorted last
    values = vql.sort_values_from_hit(first, hit)
    assert values.values == (None, None, "0b5c")
    nxt = vql.parse_query("contacts", {**request, "cursor": codec.encode(first, values)}, codec)
    body = vql.compile_search(nxt)
    assert body["search_after"] == [-(2**63), None, "0b5c"]
    assert "from" not in body
    assert body["size"] == 5


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("@Acme.", "*@acme.*"),
        ("b*c L", "*b\\*c l*"),  # wildcard metacharacters are literal
        ("a?b", "*a\\?b*"),
        ("c:\\Tmp", "*c:\\\\tmp*"),  # and so is the escape character itself
    ],
)
def test_substring_on_an_index_without_ngram_is_a_wildcard_on_the_keyword(
    text: str, pattern: str
) -> None:
    condition = {"filter_key": "email", "text_value": text, "search_type": "substring"}
    where = vql.parse_where("contacts", {"text_matches": {"must": [condition]}})
    assert vql.compile_search_where(where, "wildcard") == {
        "bool": {"must": [{"wildcard": {"email.keyword": {"value": pattern}}}]}
    }
    query = vql.parse_query("contacts", {"where": {"text_matches": {"must": [condition]}}})
    assert vql.compile_search(query, "wildcard")["query"] == vql.compile_search_where(
        where, "wildcard"
    )


def test_substring_on_each_field_that_takes_it_reads_its_ngram_subfield() -> None:
    for service in ("contacts", "companies"):
        for name in vql.registry(service).names("substring"):
            condition = {"filter_key": name, "text_value": "Ab C", "search_type": "substring"}
            assert one("text_matches", "must_not", [condition], service) == {
                "bool": {"must_not": [{"match_phrase": {f"{name}.ngram": {"query": "ab c"}}}]}
            }

"""The facets and explain compilers: golden bodies, the disjunctive wheres, the pure parts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

import vql
from vql.explain import count_plan, parse_explain_request
from vql.facets import KeywordFacet, bucket_key, parse_facets_request
from vql.facets_search import compile_search_facets, read_search_facets
from vql.facets_sql import compile_sql_facets
from vql.nodes import KeywordMatch, Where

SENIOR_IN_GERMANY = {"keyword_match": {"must": {"seniority": "senior", "country": "germany"}}}


def test_search_facets_golden() -> None:
    request = parse_facets_request("contacts", {
        "where": SENIOR_IN_GERMANY,
        "facets": [{"field": "seniority", "size": 2},
                   {"field": "company_employees_count", "ranges": [{"lt": 50}]}],
    })
    senior = {"bool": {"must": [{"term": {"seniority": "senior"}}]}}
    assert compile_search_facets(request) == {
        "size": 0,
        "track_total_hits": False,
        # what every facet applies; the must on the faceted seniority is per facet
        "query": {"bool": {"must": [{"term": {"country.keyword": "germany"}}]}},
        "aggs": {
            "total": {"filter": senior},
            "f0": {"filter": {"match_all": {}}, "aggs": {
                "values": {"terms": {"field": "seniority", "size": 2,
                                     "order": [{"_count": "desc"}, {"_key": "asc"}],
                                     "shard_size": 10_000, "show_term_doc_count_error": True}},
                "missing": {"missing": {"field": "seniority"}}}},
            "f1": {"filter": senior, "aggs": {"ranges": {"filters": {"filters": {
                "0": {"range": {"company_employees_count": {"lt": 50}}}}}}}},
        },
    }


def test_sql_facets_apply_the_other_fields_musts_per_facet(contacts_source: sa.Table) -> None:
    request = parse_facets_request("contacts", {
        "where": SENIOR_IN_GERMANY,
        "facets": [{"field": "seniority"}, {"field": "country"}],
    })
    statements = compile_sql_facets(request, contacts_source)
    first, seniority, country = (vql.to_duckdb(s)[0] for s in statements)
    # one statement for the total and the missing counts, over what the where shares
    assert first.count("count(*) FILTER (WHERE") == 3
    assert first.split("FROM", 1)[1].strip() == "contacts_search"
    # each facet's select drops the must on its own field and keeps the other one
    assert "lower(contacts_search.seniority) IN" not in seniority
    assert "lower(contacts_search.country) IN" in seniority
    assert "lower(contacts_search.country) IN" not in country
    assert "lower(contacts_search.seniority) IN" in country


def test_facet_where_drops_only_musts_on_the_field() -> None:
    request = parse_facets_request("contacts", {
        "where": {"keyword_match": {"must": {"seniority": "senior"},
                                    "must_not": {"seniority": "lead"},
                                    "should": {"seniority": "vp"}}},
        "facets": [{"field": "seniority"}],
    })
    assert request.facet_where("seniority") == Where(
        "contacts", must_not=(KeywordMatch("seniority", ("lead",)),),
        should=(KeywordMatch("seniority", ("vp",)),))


@pytest.mark.parametrize(("interval", "start", "key"), [
    ("day", datetime(2026, 1, 31, 23, 59, tzinfo=UTC), "2026-01-31"),
    ("week", datetime(2026, 1, 1, tzinfo=UTC), "2025-12-29"),  # a Thursday: Monday before
    ("month", datetime(2026, 2, 1), "2026-02"),  # naive is UTC
    ("year", datetime(2026, 1, 1, tzinfo=UTC), "2026"),
])
def test_bucket_keys(interval: Any, start: datetime, key: str) -> None:
    assert bucket_key(interval, start) == key


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(vql.VQLError) as caught:
        parse_facets_request("contacts", {
            "facets": [{"field": "nope"}, {"field": "seniority", "size": 500},
                       {"field": "created_at", "interval": "decade"}],
            "search_text": 3,
        })
    assert {e.path for e in caught.value.errors} == {
        "/facets/0/field", "/facets/1/size", "/facets/2/interval", "/search_text"}


def test_an_estimated_facet_is_recounted_exactly() -> None:
    """On an index of several shards the engine may only estimate a terms aggregation; the
    store then pages every value with a composite aggregation and ranks them itself."""
    request = parse_facets_request("contacts", {"facets": [{"field": "country", "size": 1}]})
    response = {"aggregations": {"total": {"doc_count": 9}, "f0": {
        "doc_count": 9, "missing": {"doc_count": 1},
        "values": {"doc_count_error_upper_bound": 2, "sum_other_doc_count": 3,
                   "buckets": [{"key": "germany", "doc_count": 4}]}}}}
    asked: list[int] = []

    def recount(index: int) -> list[tuple[str, int]]:
        asked.append(index)
        return [("germany", 3), ("france", 5)]

    total, [counts] = read_search_facets(request, response, recount)
    assert asked == [0] and total == 9
    assert isinstance(request.facets[0], KeywordFacet)
    assert vql.facets.facets_payload(request, total, [counts])["facets"]["country"] == {
        "values": [{"value": "france", "count": 5}], "other": 3, "missing": 1}


def test_explain_plan_removes_one_occurrence_and_keeps_must_not_alone() -> None:
    request = parse_explain_request("contacts", {"where": {"keyword_match": {
        "must": {"country": "germany"}, "must_not": {"country": "germany"}}}})
    plan = count_plan(request)
    germany = KeywordMatch("country", ("germany",))
    assert plan["m1"] == Where("contacts", must_not=(germany,))
    assert plan["w0"] == Where("contacts", must_not=(germany,))
    assert plan["w1"] == Where("contacts", must=(germany,))
    assert [c.path for c in request.conditions] == [
        "/where/keyword_match/must/country", "/where/keyword_match/must_not/country"]

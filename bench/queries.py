"""The queries of the bench: DESIGN.md section 6's example and the other typical ones.

Each is a POST body for /contacts/filter (or /contacts/count), with values that exist in the
generated data (orchestration/sample_rows.py), so every query finds rows and the engines do
real work. The deep page is reached by walking `next_cursor` DEEP_PAGES times first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEEP_PAGES = 50


@dataclass(frozen=True)
class BenchQuery:
    name: str
    endpoint: str  # "filter" or "count"
    body: dict[str, Any]
    deep: bool = False  # walk DEEP_PAGES cursors first, then time the next page
    about: str = ""


DESIGN_EXAMPLE: dict[str, Any] = {
    "where": {
        "text_matches": {"must": [{"filter_key": "title", "text_value": "Software Engineer",
                                   "search_type": "shuffle", "fuzzy": True}],
                         "must_not": [], "should": []},
        "keyword_match": {"must": {"seniority": ["senior", "lead"], "country": "united states"},
                          "must_not": {}},
        "range_query": {"must": {"company_employees_count": {"gte": 100, "lte": 1000}},
                        "must_not": {}},
    },
    "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
    "page": 1, "limit": 25, "cursor": None, "select_columns": None,
    "company_config": {"populate": True, "select_columns": ["name", "website", "industries"]},
}

QUERIES: tuple[BenchQuery, ...] = (
    BenchQuery("design_example", "filter", DESIGN_EXAMPLE,
               about="DESIGN.md section 6: fuzzy shuffle + keywords + range, companies populated"),
    BenchQuery("keyword_only", "filter", {
        "where": {"keyword_match": {"must": {"company_industries": ["financial services",
                                                                    "biotechnology"]},
                                    "must_not": {"country": "united states"}}},
        "limit": 100}, about="keyword any-of on a list field, must_not, 100 rows"),
    BenchQuery("range_only", "filter", {
        "where": {"range_query": {"must": {"company_employees_count": {"gte": 200,
                                                                       "lte": 5000}}}},
        "order_by": [{"order_by": "company_employees_count", "order_direction": "desc"}]},
        about="numeric range, sorted by it"),
    BenchQuery("substring", "filter", {
        "where": {"text_matches": {"must": [{"filter_key": "email", "text_value": "logic",
                                             "search_type": "substring"}]}}},
        about="email containing 'logic' (n-grams / strpos)"),
    BenchQuery("fuzzy", "filter", {
        "where": {"text_matches": {"must": [{"filter_key": "title",
                                             "text_value": "Finanse Manger",
                                             "search_type": "shuffle", "fuzzy": True}]}}},
        about="fuzzy shuffle with two typos, relevance order"),
    BenchQuery("browse", "filter", {"limit": 25},
               about="no filter: newest first, the first screen of a UI"),
    BenchQuery("deep_cursor", "filter", {
        "where": {"keyword_match": {"must": {"country": "united states"}}},
        "order_by": [{"order_by": "created_at", "order_direction": "desc"}], "limit": 25},
        deep=True, about=f"page {DEEP_PAGES + 1} through next_cursor (created_at desc)"),
    BenchQuery("count", "count", {"where": DESIGN_EXAMPLE["where"]},
               about="POST /contacts/count with the section 6 where (exact)"),
)


def by_name(names: str | None) -> tuple[BenchQuery, ...]:
    if not names:
        return QUERIES
    wanted = set(names.split(","))
    return tuple(q for q in QUERIES if q.name in wanted)

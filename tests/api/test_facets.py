"""POST /{service}/facets on both profiles, against tests/api/oracle.py (plain Python)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from falcon import testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api import oracle

pytestmark = pytest.mark.services

EMPLOYEE_RANGES = [{"lt": 50}, {"gte": 50, "lt": 200}, {"gte": 200, "lte": 1000}, {"gt": 1000}]
FOUR_FACETS = [
    {"field": "seniority", "size": 3},
    {"field": "departments"},
    {"field": "company_employees_count", "ranges": EMPLOYEE_RANGES},
    {"field": "created_at", "interval": "month"},
]


def post(client: testing.TestClient, path: str, body: Any) -> Any:
    result = client.simulate_post(path, json=body)
    assert result.status_code == 200, result.text
    return result.json


def test_four_facets_are_disjunctive_and_exact(client: testing.TestClient) -> None:
    body = {
        "where": {
            "keyword_match": {"must": {"seniority": ["senior", "lead"],
                                       "departments": "engineering"},
                              "must_not": {"country": "canada"}},
            "range_query": {"must": {"company_employees_count": {"gte": 100}}},
        },
        "facets": FOUR_FACETS,
    }
    got = post(client, "/contacts/facets", body)
    assert got == oracle.facets("contacts", body)
    seniority = {v["value"]: v["count"] for v in got["facets"]["seniority"]["values"]}
    # Disjunctive: "senior" and "lead" are asked for, yet other seniorities are counted too
    # (under the rest of the where), and the total applies everything.
    assert set(seniority) - {"senior", "lead"}, seniority
    assert got["total"] < sum(seniority.values()) + got["facets"]["seniority"]["other"] \
        + got["facets"]["seniority"]["missing"]
    assert got["facets"]["seniority"]["other"] > 0  # size 3 of 5 seniorities


def test_every_interval_and_no_where(client: testing.TestClient) -> None:
    for interval in ("day", "week", "month", "year"):
        body = {"facets": [{"field": "created_at", "interval": interval},
                           {"field": "company_industries", "size": 100}]}
        assert post(client, "/contacts/facets", body) == oracle.facets("contacts", body)


def test_companies_facets_with_search_text(client: testing.TestClient) -> None:
    body = {
        "where": {"keyword_match": {"must": {"industries": "software"}}},
        "facets": [{"field": "industries", "size": 2}, {"field": "country"},
                   {"field": "founded_year", "ranges": [{"lt": 2000}, {"gte": 2000}]},
                   {"field": "keywords", "search_text": "SA"}],
    }
    got = post(client, "/companies/facets", body)
    assert got == oracle.facets("companies", body)
    assert got["facets"]["keywords"]["values"] == [
        {"value": "saas", "count": got["facets"]["keywords"]["values"][0]["count"]}
    ]


def test_date_ranges_and_list_elements_counted_once_per_record(
    client: testing.TestClient,
) -> None:
    body = {"where": {"text_matches": {"must": [{"filter_key": "title",
                                                  "text_value": "software engineer",
                                                  "search_type": "shuffle", "fuzzy": True}]}},
            "facets": [{"field": "created_at", "ranges": [{"lt": "2024-02-01"},
                                                          {"gte": "2024-02-01T00:00:00Z"}]},
                       {"field": "departments", "size": 1}],
            "search_text": "ing"}
    assert post(client, "/contacts/facets", body) == oracle.facets("contacts", body)


# -- generated wheres --------------------------------------------------------------------

KEYWORDS = {
    "seniority": ["senior", "lead", "entry", "vp", "intern"],
    "country": ["united states", "germany", "France", "canada"],
    "departments": ["engineering", "sales", "marketing"],
    "company_industries": ["software", "finance", "retail", "health care"],
}
WORDS = ["software", "engineer", "sofware", "manager", "sales", "data", "architect"]


def _values(field: str) -> st.SearchStrategy[Any]:
    one = st.sampled_from(KEYWORDS[field])
    return one | st.lists(one, min_size=1, max_size=2, unique=True)


def _range(field: str) -> st.SearchStrategy[dict[str, Any]]:
    if field == "created_at":
        value: st.SearchStrategy[Any] = st.sampled_from(
            ["2024-01-05", "2024-01-20T10:00:00Z", "2024-02-15", "2024-03-01"])
    else:
        value = st.sampled_from([15, 100, 120, 450, 999, 1000, 1001, 5000])
    low = st.fixed_dictionaries({}, optional={"gte": value}) | \
        st.fixed_dictionaries({}, optional={"gt": value})
    high = st.fixed_dictionaries({}, optional={"lte": value}) | \
        st.fixed_dictionaries({}, optional={"lt": value})
    return st.tuples(low, high).map(lambda lh: {**lh[0], **lh[1]}).filter(bool)


def _text() -> st.SearchStrategy[dict[str, Any]]:
    shuffle = st.fixed_dictionaries(
        {"filter_key": st.just("title"), "search_type": st.just("shuffle"),
         "text_value": st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(" ".join)},
        optional={"fuzzy": st.booleans(), "operator": st.sampled_from(["and", "or"])})
    substring = st.fixed_dictionaries(
        {"filter_key": st.sampled_from(["title", "company_name"]),
         "search_type": st.just("substring"),
         "text_value": st.sampled_from(["eng", "Manager", "any 0", "ware"])})
    return shuffle | substring


def _clauses(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={c: inner for c in ("must", "must_not", "should")})


@st.composite
def wheres(draw: st.DrawFn) -> dict[str, Any]:
    def keyword_map() -> st.SearchStrategy[dict[str, Any]]:
        return st.sampled_from(sorted(KEYWORDS)).flatmap(
            lambda f: st.tuples(st.just(f), _values(f))).map(lambda fv: {fv[0]: fv[1]})

    def range_map() -> st.SearchStrategy[dict[str, Any]]:
        return st.sampled_from(["company_employees_count", "created_at"]).flatmap(
            lambda f: st.tuples(st.just(f), _range(f))).map(lambda fv: {fv[0]: fv[1]})

    return draw(st.fixed_dictionaries({}, optional={
        "keyword_match": _clauses(keyword_map()),
        "range_query": _clauses(range_map()),
        "text_matches": _clauses(st.lists(_text(), min_size=1, max_size=2)),
    }))


FACET_CHOICES = [
    {"field": "seniority", "size": 2},
    {"field": "country"},
    {"field": "departments", "size": 1},
    {"field": "company_industries", "size": 3},
    {"field": "company_employees_count", "ranges": EMPLOYEE_RANGES},
    {"field": "created_at", "interval": "week"},
]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(where=wheres(), picks=st.lists(st.sampled_from(range(len(FACET_CHOICES))), min_size=1,
                                      max_size=4, unique=True))
def test_generated_wheres_match_the_oracle(
    client: testing.TestClient, where: dict[str, Any], picks: list[int]
) -> None:
    body = {"where": where, "facets": [FACET_CHOICES[i] for i in picks]}
    got = post(client, "/contacts/facets", json.loads(json.dumps(body)))
    assert got == oracle.facets("contacts", body)


# -- bad input ---------------------------------------------------------------------------

BAD = [
    ({"facets": [{"field": "senority"}]}, "/facets/0/field", "Did you mean 'seniority'"),
    ({"facets": [{"field": "title"}]}, "/facets/0/field", "cannot be faceted"),
    ({"facets": [{"field": "id"}]}, "/facets/0/field", "cannot be faceted"),
    ({"facets": []}, "/facets", "non-empty array"),
    ({"where": {}}, "/facets", "non-empty array"),
    ({"facets": [{"field": "seniority", "size": 101}]}, "/facets/0/size", "1 to 100"),
    ({"facets": [{"field": "seniority", "size": 0}]}, "/facets/0/size", "1 to 100"),
    ({"facets": [{"field": "seniority", "ranges": [{"lt": 1}]}]}, "/facets/0/ranges",
     "only allowed on number and date"),
    ({"facets": [{"field": "company_employees_count"}]}, "/facets/0/field", "range field"),
    ({"facets": [{"field": "company_employees_count", "ranges": []}]}, "/facets/0/ranges",
     "non-empty array"),
    ({"facets": [{"field": "company_employees_count", "ranges": [{"gte": 200, "lt": 50}]}]},
     "/facets/0/ranges/0", "holds no value"),
    ({"facets": [{"field": "company_employees_count", "ranges": [{}]}]},
     "/facets/0/ranges/0", "at least one bound"),
    ({"facets": [{"field": "company_employees_count", "ranges": [{"gte": "x"}]}]},
     "/facets/0/ranges/0/gte", "number"),
    ({"facets": [{"field": "company_employees_count", "ranges": [{"from": 1}]}]},
     "/facets/0/ranges/0/from", "unknown member"),
    ({"facets": [{"field": "created_at", "interval": "hour"}]}, "/facets/0/interval",
     "day, week, month, year"),
    ({"facets": [{"field": "company_employees_count", "interval": "day"}]},
     "/facets/0/interval", "only allowed on date fields"),
    ({"facets": [{"field": "created_at", "ranges": [{"gte": "yesterday"}]}]},
     "/facets/0/ranges/0/gte", "ISO-8601"),
    ({"facets": [{"field": "created_at", "interval": "day", "size": 3}]}, "/facets/0/size",
     "only allowed on keyword facets"),
    ({"facets": [{"field": "country"}, {"field": "country"}]}, "/facets/1/field",
     "already faceted"),
    ({"facets": [{"field": "country", "colour": 1}]}, "/facets/0/colour", "unknown member"),
    ({"facets": ["country"]}, "/facets/0", "JSON object"),
    ({"facets": [{"field": "country"}], "where": {"keyword_match": {"must": {"nope": "x"}}}},
     "/where/keyword_match/must/nope", "unknown field"),
    ({"facets": [{"field": "country"}], "limit": 3}, "/limit", "unknown member"),
]


@pytest.mark.parametrize(("body", "pointer", "words"), BAD)
def test_bad_facets_requests_point_at_the_problem(
    client: testing.TestClient, body: Any, pointer: str, words: str
) -> None:
    result = client.simulate_post("/contacts/facets", json=body)
    assert result.status_code == 400, result.text
    error = result.json["error"]
    assert error["code"] == "invalid_vql"
    assert any(d["path"] == pointer and words in d["message"] for d in error["details"]), error


def test_filters_metadata_says_which_fields_are_facetable(client: testing.TestClient) -> None:
    filters = {f["key"]: f for f in client.simulate_get("/common/filters/contacts").json["filters"]}
    facetable = {k for k, f in filters.items() if f["facetable"]}
    assert {"seniority", "departments", "company_employees_count", "created_at"} <= facetable
    assert not {"id", "title", "company_id", "full_name"} & facetable
    for key in facetable:  # every field the metadata offers is accepted
        facet: dict[str, Any] = {"field": key}
        if filters[key]["type"] == "range":
            facet["ranges"] = [{"gte": 0}] if filters[key]["value_type"] == "number" \
                else [{"gte": "2020-01-01"}]
        result = client.simulate_post("/contacts/facets", json={"facets": [facet]})
        assert result.status_code == 200, (key, result.text)

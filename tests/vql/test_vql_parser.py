"""The wire model: the Go client's JSON parses unchanged; every malformed part is reported
with a pointer and what is allowed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

import vql
from vql import (
    CompanyConfig,
    ExactMatch,
    KeywordMatch,
    Query,
    RangeMatch,
    ShuffleMatch,
    Sort,
    SubstringMatch,
    Where,
)


def errors_of(body: Any, service: str = "contacts") -> list[tuple[str, str]]:
    with pytest.raises(vql.VQLError) as info:
        vql.parse_query(service, body)
    return [(e.path, e.message) for e in info.value.errors]


def paths_of(body: Any, service: str = "contacts") -> list[str]:
    return [p for p, _ in errors_of(body, service)]


def test_design_example_parses_unchanged(design_example: str) -> None:
    query = vql.parse_query("contacts", json.loads(design_example))
    assert query == Query(
        service="contacts",
        where=Where(
            "contacts",
            must=(
                ShuffleMatch("title", "Software Engineer", "and", True),
                KeywordMatch("seniority", ("senior", "lead")),
                KeywordMatch("country", ("united states",)),
                RangeMatch("company_employees_count", gte=100, lte=1000),
            ),
        ),
        order_by=(Sort("created_at", "desc"),),
        page=1,
        limit=25,
        cursor=None,
        select_columns=None,
        company_config=CompanyConfig(True, ("name", "website", "industries")),
    )


def test_defaults_and_go_zero_values() -> None:
    body: dict[str, Any] = {
        "where": {
            "text_matches": {"must": [{"filter_key": "title", "text_value": "cto",
                                       "search_type": "exact", "fuzzy": False, "slop": 0,
                                       "operator": ""}],
                             "must_not": {}, "should": None},
            "keyword_match": {"must": [], "must_not": {}},
            "range_query": None,
        },
        "order_by": None, "page": None, "limit": None, "cursor": "", "select_columns": [],
        "company_config": None,
    }
    query = vql.parse_query("contacts", body)
    assert query.where.must == (ExactMatch("title", "cto", 0),)
    assert (query.page, query.limit, query.cursor, query.select_columns) == (1, 25, None, None)
    assert vql.parse_query("companies", {}) == Query("companies", Where("companies"))


def test_all_kinds_of_conditions() -> None:
    body = {"where": {
        "text_matches": {
            "must": [{"filter_key": "name", "text_value": "acme corp", "search_type": "exact",
                      "slop": 2}],
            "should": [{"filter_key": "website", "text_value": "clou", "search_type": "substring"},
                       {"filter_key": "domain", "text_value": "acme io", "search_type": "shuffle",
                        "operator": "or"}],
        },
        "keyword_match": {"must_not": {"industries": ["Retail", "retail", "Banking"]}},
        "range_query": {"must": {"founded_year": {"gt": 1999.5, "lt": 2010.2},
                                 "created_at": {"gte": "2024-01-31",
                                                "lt": "2024-02-01T12:30:00.123456+02:00"}}},
    }}
    where = vql.parse_query("companies", body).where
    assert where.must == (
        ExactMatch("name", "acme corp", 2),
        RangeMatch("founded_year", gte=2000, lte=2010),
        RangeMatch("created_at", gte=datetime(2024, 1, 31, tzinfo=UTC),
                   lt=datetime(2024, 2, 1, 10, 30, 0, 123000, tzinfo=UTC)),
    )
    assert where.should == (SubstringMatch("website", "clou"),
                            ShuffleMatch("domain", "acme io", "or", False))
    assert where.must_not == (KeywordMatch("industries", ("Retail", "retail", "Banking")),)


def test_unknown_keys_are_caught_with_a_hint() -> None:
    errors = errors_of({"limt": 5})
    assert errors[0][0] == "/limt"
    assert "Did you mean 'limit'?" in errors[0][1]
    assert "page, limit, cursor" in errors[0][1]
    assert paths_of({"where": {"text_match": {}}}) == ["/where/text_match"]
    assert paths_of({"where": {"keyword_match": {"must": {}, "shoud": {}}}}) == [
        "/where/keyword_match/shoud"]
    assert paths_of({"where": {"range_query": {"must": {"created_at": {"gte": "2024-01-01",
                                                                       "from": 1}}}}}) == [
        "/where/range_query/must/created_at/from"]


def test_every_problem_is_reported_at_once() -> None:
    body = {
        "where": {
            "text_matches": {"must": [
                {"filter_key": "titel", "text_value": "x", "search_type": "exact"},
                {"filter_key": "title", "text_value": "ab", "search_type": "substring"},
                {"filter_key": "title", "text_value": "cto", "search_type": "exact",
                 "fuzzy": True, "operator": "or", "slop": -1},
            ]},
            "keyword_match": {"must": {"seniority": [], "departments": [1, "it"]}},
            "range_query": {"must": {"created_at": {"gte": 5}, "company_employees_count": {}}},
        },
        "order_by": [{"order_by": "phone"}, {"order_by": "email", "order_direction": "up"}],
        "page": 0, "limit": 101, "select_columns": ["id", "nope"],
        "company_config": {"populate": "yes", "select_columns": ["name", "ceo"]},
    }
    paths = paths_of(body)
    assert paths == [
        "/where/text_matches/must/0/filter_key",
        "/where/text_matches/must/1/text_value",
        "/where/text_matches/must/2/fuzzy",
        "/where/text_matches/must/2/slop",
        "/where/text_matches/must/2/operator",
        "/where/keyword_match/must/seniority",
        "/where/keyword_match/must/departments/0",
        "/where/range_query/must/created_at/gte",
        "/where/range_query/must/company_employees_count",
        "/order_by/0/order_by",
        "/order_by/1/order_direction",
        "/limit",
        "/page",
        "/select_columns/1",
        "/company_config/populate",
        "/company_config/select_columns/1",
    ]


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        ({"limit": 0}, "/limit", "from 1 to 100"),
        ({"limit": True}, "/limit", "got boolean"),
        ({"limit": 25.0}, "/limit", "got number"),
        ({"limit": 10**400}, "/limit", "huge"),
        ({"page": -1}, "/page", "from 1 to"),
        ({"page": 401, "limit": 25}, "/page", "follow next_cursor"),
        ({"page": 100, "limit": 101}, "/limit", "from 1 to 100"),
        ({"cursor": 5}, "/cursor", "must be a string"),
        ({"order_by": {"order_by": "email"}}, "/order_by", "array"),
        ({"order_by": [{"order_by": "email"}, {"order_by": "email"}]}, "/order_by/1/order_by",
         "already"),
        ({"order_by": [{"order_direction": "asc"}]}, "/order_by/0/order_by", "required"),
        ({"select_columns": "id"}, "/select_columns", "array"),
        ({"company_config": []}, "/company_config", "JSON object"),
        ({"where": []}, "/where", "JSON object"),
        ({"where": {"text_matches": {"must": {"filter_key": "title"}}}},
         "/where/text_matches/must", "array of text conditions"),
        ({"where": {"keyword_match": {"must": ["seniority"]}}}, "/where/keyword_match/must",
         "object that maps"),
    ],
)
def test_limits_and_shapes(body: dict[str, Any], path: str, fragment: str) -> None:
    errors = errors_of(body)
    assert errors[0][0] == path
    assert fragment in errors[0][1]


def text(**kw: Any) -> dict[str, Any]:
    return {"where": {"text_matches": {"must": [{"filter_key": "title", **kw}]}}}


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        (text(text_value="x"), "/where/text_matches/must/0/search_type", "required"),
        (text(search_type="exact"), "/where/text_matches/must/0/text_value", "required"),
        (text(text_value="x", search_type="fuzzy"), "/where/text_matches/must/0/search_type",
         "exact, shuffle, substring"),
        (text(text_value="   ", search_type="exact"), "/where/text_matches/must/0/text_value",
         "empty"),
        (text(text_value="--", search_type="exact"), "/where/text_matches/must/0/text_value",
         "letter or digit"),
        (text(text_value="a\x00b", search_type="exact"), "/where/text_matches/must/0/text_value",
         "control"),
        (text(text_value="\ud800abc", search_type="exact"),
         "/where/text_matches/must/0/text_value", "Unicode"),
        (text(text_value="x" * 201, search_type="exact"), "/where/text_matches/must/0/text_value",
         "at most 200"),
        (text(text_value="ab", search_type="substring"), "/where/text_matches/must/0/text_value",
         "at least 3"),
        (text(text_value="abc", search_type="substring", fuzzy=True),
         "/where/text_matches/must/0/fuzzy", "only allowed with search_type shuffle"),
        (text(text_value="abc", search_type="shuffle", slop=1),
         "/where/text_matches/must/0/slop", "only allowed with search_type exact"),
        (text(text_value="abc", search_type="exact", slop=True),
         "/where/text_matches/must/0/slop", "integer"),
        (text(text_value="abc", search_type="exact", slop=51),
         "/where/text_matches/must/0/slop", "from 0 to 50"),
        (text(text_value="abc", search_type="exact", operator="or"),
         "/where/text_matches/must/0/operator", "only allowed with search_type shuffle"),
        (text(text_value="abc", search_type="shuffle", operator="xor"),
         "/where/text_matches/must/0/operator", "and, or"),
        (text(text_value="abc", search_type="shuffle", fuzzy="true"),
         "/where/text_matches/must/0/fuzzy", "true or false"),
        ({"where": {"text_matches": {"must": [{"filter_key": "seniority", "text_value": "vp",
                                               "search_type": "exact"}]}}},
         "/where/text_matches/must/0/filter_key", "does not allow text_matches"),
    ],
)
def test_text_conditions(body: dict[str, Any], path: str, fragment: str) -> None:
    errors = errors_of(body)
    assert errors[0][0] == path
    assert fragment in errors[0][1]


CONTACT_SUBSTRING_FIELDS = ("first_name, last_name, full_name, title, email, company_name, "
                            "company_domain")


@pytest.mark.parametrize(
    ("service", "field", "takers"),
    [
        ("contacts", "city", CONTACT_SUBSTRING_FIELDS),
        ("contacts", "country", CONTACT_SUBSTRING_FIELDS),
        ("companies", "keywords", "name, domain, website"),
        ("companies", "industries", "name, domain, website"),
    ],
)
def test_a_substring_on_a_field_without_one_names_the_fields_that_take_it(
    service: str, field: str, takers: str
) -> None:
    """Issue 17.1: only the fields with an n-gram sub-field take substring, on every engine
    (one parser for all compilers); before, every text field did."""
    body = {"where": {"text_matches": {"should": [
        {"filter_key": "name" if service == "companies" else "title", "text_value": "abc",
         "search_type": "substring"},
        {"filter_key": field, "text_value": "york", "search_type": "substring"},
    ]}}}  # fmt: skip
    with pytest.raises(vql.VQLUnsupportedError) as info:
        vql.parse_query(service, body)
    [error] = info.value.errors
    assert error.path == "/where/text_matches/should/1/search_type"
    assert error.message == (
        f"field {field!r} does not take search_type 'substring' (it takes exact, shuffle). "
        f"Fields that take substring: {takers}"
    )
    # the same field still takes words
    words = {"filter_key": field, "text_value": "york", "search_type": "shuffle"}
    vql.parse_query(service, {"where": {"text_matches": {"must": [words]}}})


@pytest.mark.parametrize(
    ("clause", "path", "fragment"),
    [
        ({"keyword_match": {"must": {"seniority": 5}}}, "/where/keyword_match/must/seniority",
         "string or a non-empty array"),
        ({"keyword_match": {"must": {"seniority": ""}}}, "/where/keyword_match/must/seniority",
         "empty"),
        ({"keyword_match": {"must": {"seniority": ["a"] * 1001}}},
         "/where/keyword_match/must/seniority", "at most 1000"),
        ({"keyword_match": {"must": {"title": "cto"}}}, "/where/keyword_match/must/title",
         "does not allow keyword_match"),
        ({"keyword_match": {"must": {"a/b~c": "x"}}}, "/where/keyword_match/must/a~1b~0c",
         "unknown field"),
        ({"range_query": {"must": {"created_at": {"gte": "yesterday"}}}},
         "/where/range_query/must/created_at/gte", "ISO-8601"),
        ({"range_query": {"must": {"created_at": {"gte": "0001-01-01T00:00:00+01:00"}}}},
         "/where/range_query/must/created_at/gte", "ISO-8601"),
        ({"range_query": {"must": {"company_employees_count": {"gte": "100"}}}},
         "/where/range_query/must/company_employees_count/gte", "must be a number"),
        ({"range_query": {"must": {"company_employees_count": {"gte": float("nan")}}}},
         "/where/range_query/must/company_employees_count/gte", "finite"),
        ({"range_query": {"must": {"company_employees_count": {"lte": 2**63}}}},
         "/where/range_query/must/company_employees_count/lte", "out of range"),
        ({"range_query": {"must": {"company_founded_year": {"lte": 2**31}}}},
         "/where/range_query/must/company_founded_year/lte", "out of range"),
        ({"range_query": {"must": {"company_employees_count": {"gt": 1, "gte": 2}}}},
         "/where/range_query/must/company_employees_count/gt", "not both"),
        ({"range_query": {"must": {"company_employees_count": {"gte": None}}}},
         "/where/range_query/must/company_employees_count", "at least one bound"),
        ({"range_query": {"must": {"email": {"gte": 1}}}}, "/where/range_query/must/email",
         "does not allow range_query"),
    ],
)
def test_keyword_and_range_conditions(clause: dict[str, Any], path: str, fragment: str) -> None:
    errors = errors_of({"where": clause})
    assert errors[0][0] == path
    assert fragment in errors[0][1]


def test_error_classes() -> None:
    with pytest.raises(vql.VQLParseError):
        vql.parse_query("contacts", {"limit": "5"})
    with pytest.raises(vql.VQLUnsupportedError) as info:
        vql.parse_query("contacts", {"order_by": [{"order_by": "phone"}]})
    assert info.value.details() == [{"path": "/order_by/0/order_by", "message": info.value.errors[
        0].message}]
    assert "Sortable fields: first_name" in info.value.errors[0].message
    with pytest.raises(vql.VQLUnsupportedError):
        vql.parse_query("people", {})
    with pytest.raises(vql.CursorError):
        vql.parse_query("contacts", {"cursor": "abc"})  # no codec: cursors unavailable
    assert issubclass(vql.CursorError, vql.VQLError)
    assert issubclass(vql.VQLError, ValueError)


@pytest.mark.parametrize("body", [None, [], "x", 1, 1.5, True, float("inf")])
def test_non_object_bodies(body: Any) -> None:
    assert paths_of(body) == [""]


def test_company_config_only_for_contacts() -> None:
    assert paths_of({"company_config": {"populate": True}}, "companies") == ["/company_config"]
    inert = {"company_config": {"populate": False, "select_columns": None}}
    assert vql.parse_query("companies", inert).company_config is None


def test_select_columns() -> None:
    query = vql.parse_query("contacts", {"select_columns": ["email", "id", "email", "company"]})
    assert query.select_columns == ("email", "id", "company")
    errors = errors_of({"select_columns": ["company"]}, "companies")
    assert errors[0][0] == "/select_columns/0"
    assert "Allowed: id, name" in errors[0][1]


def test_parse_where_alone_with_prefix() -> None:
    where = vql.parse_where("contacts", {"keyword_match": {"must": {"country": "France"}}})
    assert where == Where("contacts", must=(KeywordMatch("country", ("France",)),))
    assert vql.parse_where("contacts", None) == Where("contacts")
    with pytest.raises(vql.VQLError) as info:
        vql.parse_where("contacts", {"keyword_match": {"must": {"nope": "x"}}}, "/query/where")
    assert info.value.errors[0].path == "/query/where/keyword_match/must/nope"

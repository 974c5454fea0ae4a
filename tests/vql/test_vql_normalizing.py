"""The parser with load rules (vql.normalizing): values replaced, changes reported, closed
vocabularies enforced with pointers and suggestions. vql is pure, so the rules here are a
small table of the shape dbt_like_sql.query_values.LoadRules has (that one is tested
against the loader in tests/dbt_like_sql/test_query_values.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from vql import (
    KeywordMatch,
    RangeMatch,
    VQLError,
    filters_payload,
    parse_query,
    parse_values_request,
    parse_where,
)
from vql.cursor import CursorCodec

LEVELS = ("owner", "founder", "c_suite", "partner", "vp", "head", "director", "manager",
          "lead", "senior", "entry", "intern")  # fmt: skip
COUNTRIES = ("france", "germany", "united states")


class TableRules:
    """ValueRules from literal tables (what the seeds would say)."""

    aliases = {
        "country": {"usa": "united states", "us": "united states", "deutschland": "germany"},
        "seniority": {"sr": "senior", "sr.": "senior", "team lead": "lead"},
    }

    def keyword(self, rule: str, value: str) -> tuple[str, ...]:
        text = " ".join(value.split())
        if text.lower() in ("", "n/a"):
            return ()
        if rule in self.aliases:
            return (self.aliases[rule].get(text.lower(), text.lower()),)
        if rule == "list":
            return tuple(i.strip().lower() for i in text.split(";") if i.strip())
        return (text,)

    def number(self, rule: str, value: str) -> int | None:
        return {"1.2k": 1200, "$3.5M": 3_500_000}.get(value)

    def time(self, value: str) -> datetime | None:
        return datetime(2024, 1, 31, tzinfo=UTC) if value == "2024-01-31" else None

    def vocabulary(self, rule: str) -> tuple[str, ...]:
        return {"country": COUNTRIES, "seniority": LEVELS}[rule]


RULES = TableRules()


def km(**must: Any) -> dict[str, Any]:
    return {"keyword_match": {"must": must}}


def errors(service: str, where: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(VQLError) as info:
        parse_where(service, where, rules=RULES)
    return {e.path: e.message for e in info.value.errors}


def test_aliases_become_canonical_values_and_are_reported() -> None:
    where = parse_where("contacts", km(country="USA", seniority=["Sr.", "lead"]), rules=RULES)
    assert where.must == (
        KeywordMatch("country", ("united states",)),
        KeywordMatch("seniority", ("senior", "lead")),
    )
    assert [n.as_dict() for n in where.normalized] == [
        {"path": "/where/keyword_match/must/country", "from": "USA", "to": "united states"},
        {"path": "/where/keyword_match/must/seniority/0", "from": "Sr.", "to": "senior"},
    ]
    # the same query as the canonical one: equal trees, so cursors carry over
    assert where == parse_where("contacts", km(country="united states",
                                               seniority=["senior", "lead"]), rules=RULES)


def test_case_alone_is_not_a_change_and_no_rules_means_as_written() -> None:
    assert parse_where("contacts", km(country="Germany"), rules=RULES).normalized == ()
    plain = parse_where("contacts", km(country="USA", seniority="bogus"))
    assert plain.must[0] == KeywordMatch("country", ("USA",)) and plain.normalized == ()


def test_unknown_closed_values_point_at_the_value_and_suggest() -> None:
    found = errors("contacts", km(seniority=["lead", "senoir"], country="Germny",
                                  company_country="atlantis"))
    assert set(found) == {
        "/where/keyword_match/must/seniority/1",
        "/where/keyword_match/must/country",
        "/where/keyword_match/must/company_country",
    }
    assert found["/where/keyword_match/must/seniority/1"] == (
        "unknown seniority 'senoir'. Did you mean 'senior'? Allowed values: "
        + ", ".join(LEVELS)
    )
    assert "Did you mean 'germany'?" in found["/where/keyword_match/must/country"]
    assert found["/where/keyword_match/must/company_country"] == (
        "unknown company country 'atlantis'. Allowed values: france, germany, united states"
    )
    # must_not and should are checked the same way
    assert list(errors("companies", {"keyword_match": {"must_not": {"country": "bogus"}}})) == [
        "/where/keyword_match/must_not/country"
    ]


def test_open_fields_stay_open_and_lists_split() -> None:
    where = parse_where("companies", km(city="Atlantis", industries="Software; Health Care"),
                        rules=RULES)
    assert where.must == (
        KeywordMatch("city", ("Atlantis",)),
        KeywordMatch("industries", ("software", "health care")),
    )
    assert where.normalized[0].as_dict()["to"] == ["software", "health care"]
    assert errors("contacts", km(city="n/a")) == {
        "/where/keyword_match/must/city":
            "'n/a' loads as no value (a placeholder for 'nothing here'), so no record has it",
    }


def test_ids_take_no_rule() -> None:
    where = parse_where("contacts", km(company_id=" X "), rules=RULES)
    assert where.must == (KeywordMatch("company_id", (" X ",)),)


def test_range_bounds_as_text_use_the_number_and_date_rules() -> None:
    where = parse_where("companies", {"range_query": {"must": {
        "employees_count": {"gte": "1.2k", "lt": 5000},
        "annual_revenue": {"lte": "$3.5M"},
        "created_at": {"gte": "2024-01-31"},
    }}}, rules=RULES)  # fmt: skip
    assert where.must == (
        RangeMatch("employees_count", gte=1200, lt=5000),
        RangeMatch("annual_revenue", lte=3_500_000),
        RangeMatch("created_at", gte=datetime(2024, 1, 31, tzinfo=UTC)),
    )
    assert [(n.path, n.after) for n in where.normalized] == [
        ("/where/range_query/must/employees_count/gte", 1200),
        ("/where/range_query/must/annual_revenue/lte", 3_500_000),
    ]
    bad = errors("companies", {"range_query": {"must": {"employees_count": {"gte": "51-200"}},
                                               "must_not": {"created_at": {"lt": "31/01/2024"}}}})
    assert set(bad) == {"/where/range_query/must/employees_count/gte",
                        "/where/range_query/must_not/created_at/lt"}
    assert "'1.2k'" in bad["/where/range_query/must/employees_count/gte"]
    # without rules a number as text is refused, as before
    with pytest.raises(VQLError, match="gte must be a number, got string"):
        parse_where("companies", {"range_query": {"must": {"employees_count": {"gte": "1.2k"}}}})


def test_query_and_values_requests_take_the_rules() -> None:
    codec = CursorCodec(b"normalizing-test-secret-0123456789")
    query = parse_query("contacts", {"where": km(country="us")}, codec, RULES)
    assert query.where.must == (KeywordMatch("country", ("united states",)),)
    assert len(query.where.normalized) == 1
    request = parse_values_request(
        "contacts", {"filter_key": "city", "where": km(seniority="team lead")}, RULES
    )
    assert request.where is not None
    assert request.where.normalized[0].as_dict() == {
        "path": "/where/keyword_match/must/seniority", "from": "team lead", "to": "lead",
    }


def test_filters_payload_lists_closed_values() -> None:
    payload = {f["key"]: f for f in filters_payload("contacts", RULES.vocabulary)["filters"]}
    assert payload["seniority"]["values"] == list(LEVELS)
    assert payload["country"]["values"] == payload["company_country"]["values"] == list(COUNTRIES)
    assert all("values" not in f for k, f in payload.items()
               if k not in ("seniority", "country", "company_country"))
    assert all("values" not in f for f in filters_payload("contacts")["filters"])


def test_the_registry_names_each_fields_load_rule() -> None:
    from vql.registry import REGISTRY

    rules = {(s, f.name): f.rule for s, reg in REGISTRY.items() for f in reg}
    closed = {(s, f.name) for s, reg in REGISTRY.items() for f in reg if f.closed}
    assert closed == {("contacts", "seniority"), ("contacts", "country"),
                      ("contacts", "company_country"), ("companies", "country")}
    assert {k: rules[k] for k in [
        ("contacts", "email"), ("contacts", "departments"), ("contacts", "company_domain"),
        ("contacts", "company_industries"), ("contacts", "company_employees_count"),
        ("contacts", "company_founded_year"), ("contacts", "created_at"), ("contacts", "id"),
        ("contacts", "company_id"), ("companies", "domain"), ("companies", "keywords"),
        ("companies", "name"), ("companies", "source_file"),
    ]} == {
        ("contacts", "email"): "email", ("contacts", "departments"): "departments",
        ("contacts", "company_domain"): "domain", ("contacts", "company_industries"): "list",
        ("contacts", "company_employees_count"): "amount",
        ("contacts", "company_founded_year"): "year", ("contacts", "created_at"): "time",
        ("contacts", "id"): None, ("contacts", "company_id"): None,
        ("companies", "domain"): "domain", ("companies", "keywords"): "list",
        ("companies", "name"): "text", ("companies", "source_file"): "text",
    }  # fmt: skip

"""POST /{service}/explain on both profiles, against tests/api/oracle.py (plain Python)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from falcon import testing
from hypothesis import HealthCheck, given, settings

from tests.api import oracle
from tests.api.dataset import DESIGN_EXAMPLE
from tests.api.test_facets import wheres

pytestmark = pytest.mark.services


def explain(client: testing.TestClient, body: Any, service: str = "contacts") -> Any:
    result = client.simulate_post(f"/{service}/explain", json=body)
    assert result.status_code == 200, result.text
    return result.json


def paths(where: dict[str, Any]) -> list[str]:
    """The pointer of each condition, in the oracle's (and the parser's) order."""
    out = []
    for member in ("text_matches", "keyword_match", "range_query"):
        for clause, body in (where.get(member) or {}).items():
            keys = range(len(body)) if member == "text_matches" else list(body)
            out += [f"/where/{member}/{clause}/{k}" for k in keys]
    return out


def check_counts(got: dict[str, Any], service: str, body: dict[str, Any]) -> None:
    total, per = oracle.explain_counts(service, body)
    assert got["total"] == total
    expected = {p: {"matches": m, "total_without": w}
                for p, (m, w) in zip(paths(body.get("where") or {}), per, strict=True)}
    assert {c["path"]: {"matches": c["matches"], "total_without": c["total_without"]}
            for c in got["clauses"]} == expected
    if total == 0:
        withouts = [c["total_without"] for c in got["clauses"]]
        assert withouts == sorted(withouts, reverse=True)


def test_design_example_counts_every_condition(client: testing.TestClient) -> None:
    got = explain(client, DESIGN_EXAMPLE)
    check_counts(got, "contacts", DESIGN_EXAMPLE)
    assert got["total"] > 0 and got["suggestions"] == []
    assert [c["path"] for c in got["clauses"]] == paths(DESIGN_EXAMPLE["where"])


def test_empty_result_puts_the_culprit_first_and_suggests_a_close_value(
    client: testing.TestClient,
) -> None:
    body = {"where": {"keyword_match": {"must": {"seniority": "senior", "city": "berln"}},
                      "range_query": {"must": {"company_employees_count": {"gte": 100}}}}}
    got = explain(client, body)
    check_counts(got, "contacts", body)
    assert got["total"] == 0
    assert got["clauses"][0]["path"] == "/where/keyword_match/must/city"
    fixed = {"where": {**body["where"], "keyword_match": {"must": {"seniority": "senior",
                                                                     "city": "berlin"}}}}
    assert got["suggestions"][0] == {
        "path": "/where/keyword_match/must/city", "replace_with": "berlin",
        "total": oracle.count("contacts", oracle.conditions(fixed["where"])),
        "reason": "nearest existing value",
    }


def test_a_misspelled_closed_value_is_the_same_400_as_in_a_filter(
    client: testing.TestClient,
) -> None:
    body = {"where": {"keyword_match": {"must": {"country": "germny"}}}}
    got = client.simulate_post("/contacts/explain", json=body)
    assert got.status_code == 400
    detail = got.json["error"]["details"][0]
    assert detail["path"] == "/where/keyword_match/must/country"
    assert "Did you mean 'germany'" in detail["message"]
    assert client.simulate_post("/contacts/filter", json=body).json == got.json


TEXT_CULPRIT = {"where": {
    "text_matches": {"must": [{"filter_key": "title", "text_value": "sofwar engineer",
                               "search_type": "shuffle"}]},
    "keyword_match": {"must": {"country": "germany"}},
}}
RANGE_CULPRIT = {"where": {
    "range_query": {"must": {"company_employees_count": {"gt": 5000, "lte": 9000}}},
    "keyword_match": {"must": {"country": "germany"}},
}}


def applied(where: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``where`` with the value at ``path`` (a pointer below /where) replaced."""
    copy = json.loads(json.dumps(where))
    *parents, last = path.split("/")[2:]
    node = copy
    for token in parents:
        node = node[int(token)] if isinstance(node, list) else node[token]
    node[int(last) if isinstance(node, list) else last] = value
    return copy


@pytest.mark.parametrize("body", [TEXT_CULPRIT, RANGE_CULPRIT], ids=["text", "range"])
def test_suggestions_give_the_total_they_would_reach(
    client: testing.TestClient, body: dict[str, Any]
) -> None:
    got = explain(client, body)
    check_counts(got, "contacts", body)
    assert got["total"] == 0 and got["suggestions"]
    for s in got["suggestions"]:
        where = applied(body["where"], s["path"], s["replace_with"])
        assert s["total"] == oracle.count("contacts", oracle.conditions(where)) > 0
    totals = [s["total"] for s in got["suggestions"]]
    assert totals == sorted(totals, reverse=True)
    offered = [s["replace_with"] for s in got["suggestions"]]
    if body is TEXT_CULPRIT:
        assert {"filter_key": "title", "text_value": "sofwar engineer",
                "search_type": "shuffle", "fuzzy": True} in offered
    else:
        assert offered == [{"gte": 5000, "lte": 9000}]


def test_must_not_and_should_conditions(client: testing.TestClient) -> None:
    body = {"where": {"keyword_match": {"must_not": {"country": "canada"},
                                        "should": {"seniority": ["vp", "lead"]}},
                      "range_query": {"should": {"created_at": {"lt": "2024-01-10"}}}}}
    got = explain(client, body)
    check_counts(got, "contacts", body)
    assert [c["clause"] for c in got["clauses"]] == ["must_not", "should", "should"]


def test_companies_and_an_empty_where(client: testing.TestClient) -> None:
    got = explain(client, {}, "companies")
    assert got == {"total": 40, "clauses": [], "suggestions": []}
    body = {"where": {"keyword_match": {"must": {"industries": "sofware"}}}}
    got = explain(client, body, "companies")
    check_counts(got, "companies", body)
    assert got["suggestions"][0]["replace_with"] == "software"


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(where=wheres())
def test_generated_wheres_match_the_oracle(
    client: testing.TestClient, where: dict[str, Any]
) -> None:
    body = {"where": where}
    got = explain(client, json.loads(json.dumps(body)))
    check_counts(got, "contacts", body)
    for s in got["suggestions"]:
        assert s["total"] > 0 and s["path"] in paths(where)


@pytest.mark.parametrize(("body", "pointer"), [
    ({"where": {"keyword_match": {"must": {"senority": "x"}}}},
     "/where/keyword_match/must/senority"),
    ({"where": {"range_query": {"must": {"created_at": {"gte": "soon"}}}}},
     "/where/range_query/must/created_at/gte"),
    ({"where": [], "facets": []}, "/facets"),
    ([], ""),
])
def test_bad_explain_requests_point_at_the_problem(
    client: testing.TestClient, body: Any, pointer: str
) -> None:
    result = client.simulate_post("/contacts/explain", json=body)
    assert result.status_code == 400, result.text
    assert pointer in [d["path"] for d in result.json["error"]["details"]]

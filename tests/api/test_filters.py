"""GET /common/filters/{service} and POST /common/filters/{service}/data on both profiles."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from falcon import testing

from dbt_like_sql.query_values import load_rules
from tests.api.dataset import DATASET
from vql.registry import filters_payload

pytestmark = pytest.mark.services


@pytest.mark.parametrize("service", ["contacts", "companies"])
def test_filters_are_the_registry(prod_client: testing.TestClient, service: str) -> None:
    result = prod_client.simulate_get(f"/common/filters/{service}")
    assert result.status_code == 200
    assert result.json == filters_payload(service, load_rules().vocabulary)


def test_unknown_service_is_404(prod_client: testing.TestClient) -> None:
    for result in (
        prod_client.simulate_get("/common/filters/people"),
        prod_client.simulate_post("/common/filters/people/data", json={"filter_key": "x"}),
    ):
        assert result.status_code == 404
        assert result.json["error"]["code"] == "not_found"


def _counts(rows: list[dict[str, Any]], field: str) -> Counter[str]:
    counted: Counter[str] = Counter()
    for row in rows:
        value = row[field]
        for v in value if isinstance(value, list) else [value]:
            if v is not None:
                counted[v] += 1
    return counted


def test_values_most_frequent_first_with_exact_counts(client: testing.TestClient) -> None:
    result = client.simulate_post(
        "/common/filters/contacts/data", json={"filter_key": "seniority", "limit": 10}
    )
    assert result.status_code == 200, result.text
    body = result.json
    assert body["filter_key"] == "seniority"
    expected = _counts(DATASET.contacts, "seniority")
    assert {d["value"]: d["count"] for d in body["data"]} == dict(expected)
    counts = [d["count"] for d in body["data"]]
    assert counts == sorted(counts, reverse=True)


def test_values_matching_search_text_under_a_where(client: testing.TestClient) -> None:
    where = {"keyword_match": {"must": {"country": "germany"}}}
    result = client.simulate_post(
        "/common/filters/companies/data",
        json={"filter_key": "industries", "search_text": "CAR", "where": where},
    )
    assert result.status_code == 200, result.text
    germans = [c for c in DATASET.companies if c["country"] == "germany"]
    expected = {k: n for k, n in _counts(germans, "industries").items() if "car" in k}
    assert expected, "health care must occur among German companies"
    assert {d["value"]: d["count"] for d in result.json["data"]} == expected


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"filter_key": "full_name"}, "/filter_key"),  # a field without values
        ({"filter_key": "id"}, "/filter_key"),
        ({"filter_key": "colour"}, "/filter_key"),
        ({}, "/filter_key"),
        ({"filter_key": 3}, "/filter_key"),
        ({"filter_key": "seniority", "limit": 0}, "/limit"),
        ({"filter_key": "seniority", "limit": "5"}, "/limit"),
        ({"filter_key": "seniority", "search_text": 5}, "/search_text"),
        ({"filter_key": "seniority", "search_text": "x" * 201}, "/search_text"),
        ({"filter_key": "seniority", "searchtext": "a"}, "/searchtext"),
        ({"filter_key": "seniority", "where": {"keyword_match": {"must": {"x": "y"}}}},
         "/where/keyword_match/must/x"),
        ({"filter_key": "nope", "where": {"keyword_match": {"must": {"x": "y"}}}},
         "/where/keyword_match/must/x"),
        ("seniority", ""),
    ],
)
def test_values_requests_are_checked_strictly(
    prod_client: testing.TestClient, body: Any, pointer: str
) -> None:
    result = prod_client.simulate_post("/common/filters/contacts/data", json=body)
    assert result.status_code == 400, result.text
    assert result.json["error"]["code"] == "invalid_vql"
    assert pointer in [d["path"] for d in result.json["error"]["details"]]

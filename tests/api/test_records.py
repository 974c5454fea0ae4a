"""POST /{service}/filter and /count on both profiles, against answers computed from the data."""

from __future__ import annotations

from typing import Any

import pytest
from falcon import testing

from tests.api.dataset import DATASET, DESIGN_EXAMPLE, design_example_ids
from vql.registry import registry

pytestmark = pytest.mark.services


def test_design_example_end_to_end(client: testing.TestClient) -> None:
    result = client.simulate_post("/contacts/filter", json=DESIGN_EXAMPLE)
    assert result.status_code == 200, result.text
    body = result.json
    expected = design_example_ids()
    assert expected, "the data set must match the example"
    assert [row["id"] for row in body["data"]] == expected
    assert body["total"] == len(expected)
    assert (body["page"], body["limit"], body["next_cursor"]) == (1, 25, None)
    companies = DATASET.company_by_id
    contacts = {c["id"]: c for c in DATASET.contacts}
    for row in body["data"]:
        assert set(row) == set(registry("contacts").select_columns)
        source = contacts[row["id"]]
        assert row["title"] == source["title"] and row["email"] == source["email"]
        assert row["created_at"] == source["created_at"].isoformat().replace("+00:00", "Z")
        company = companies[source["company_id"]]
        assert row["company"] == {
            "name": company["name"],
            "website": company["website"],
            "industries": company["industries"],
        }


def test_count_is_exact_and_agrees_with_filter(client: testing.TestClient) -> None:
    result = client.simulate_post("/contacts/count", json={"where": DESIGN_EXAMPLE["where"]})
    assert result.status_code == 200
    assert result.json == {"count": len(design_example_ids())}
    # The whole VQL body is accepted too (clients send the same body to both).
    assert client.simulate_post("/contacts/count", json=DESIGN_EXAMPLE).json == result.json
    everything = client.simulate_post("/companies/count", json={}).json
    assert everything == {"count": len(DATASET.companies)}


def test_select_columns_and_contacts_without_company(client: testing.TestClient) -> None:
    body = {
        "where": {"keyword_match": {"must": {"country": "germany"}}},
        "order_by": [{"order_by": "email", "order_direction": "asc"}],
        "limit": 100,
        "select_columns": ["email", "title"],
        "company_config": {"populate": True, "select_columns": ["name"]},
    }
    result = client.simulate_post("/contacts/filter", json=body)
    assert result.status_code == 200, result.text
    germans = sorted(
        (c for c in DATASET.contacts if c["country"] == "germany"), key=lambda c: c["email"]
    )
    data = result.json["data"]
    assert [r["email"] for r in data] == [c["email"] for c in germans]
    companies = DATASET.company_by_id
    for row, source in zip(data, germans, strict=True):
        assert set(row) == {"email", "title", "company"}
        expected = {"name": companies[source["company_id"]]["name"]} if source["company_id"] \
            else None
        assert row["company"] == expected
    assert any(r["company"] is None for r in data), "the data set has contacts without company"


def test_companies_filter_with_range_and_paging(client: testing.TestClient) -> None:
    body: dict[str, Any] = {
        "where": {"range_query": {"must": {"employees_count": {"gte": 100, "lt": 1001}}}},
        "order_by": [{"order_by": "employees_count", "order_direction": "desc"}],
        "limit": 4,
        "page": 2,
        "select_columns": ["id", "name", "employees_count"],
    }
    result = client.simulate_post("/companies/filter", json=body)
    assert result.status_code == 200, result.text
    matching = sorted(
        (c for c in DATASET.companies if 100 <= (c["employees_count"] or 0) <= 1000),
        key=lambda c: (-c["employees_count"], c["id"]),
    )
    assert result.json["total"] == len(matching)
    assert [r["id"] for r in result.json["data"]] == [c["id"] for c in matching[4:8]]
    assert result.json["page"] == 2 and result.json["limit"] == 4


def test_cursor_walks_every_record_once(client: testing.TestClient) -> None:
    body: dict[str, Any] = {
        "where": {"keyword_match": {"must": {"country": ["united states", "canada"]}}},
        "order_by": [{"order_by": "created_at", "order_direction": "asc"}],
        "limit": 30,
        "select_columns": ["id"],
    }
    expected = [c["id"] for c in sorted(DATASET.contacts, key=lambda c: c["created_at"])
                if c["country"] in {"united states", "canada"}]
    seen: list[str] = []
    for _ in range(50):
        page = client.simulate_post("/contacts/filter", json=body)
        assert page.status_code == 200, page.text
        assert page.json["total"] == len(expected)
        seen.extend(r["id"] for r in page.json["data"])
        if page.json["next_cursor"] is None:
            break
        body["cursor"] = page.json["next_cursor"]
    assert seen == expected


def test_a_cursor_of_another_query_is_refused(client: testing.TestClient) -> None:
    body: dict[str, Any] = {"limit": 5, "select_columns": ["id"]}
    first = client.simulate_post("/contacts/filter", json=body).json
    assert first["next_cursor"]
    other = {**body, "cursor": first["next_cursor"],
             "where": {"keyword_match": {"must": {"country": "france"}}}}
    result = client.simulate_post("/contacts/filter", json=other)
    assert result.status_code == 400
    assert result.json["error"]["code"] == "invalid_vql"
    assert result.json["error"]["details"][0]["path"] == "/cursor"
    forged = {**body, "cursor": first["next_cursor"][:-3] + "AAA"}
    assert client.simulate_post("/contacts/filter", json=forged).status_code == 400


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"where": {"keyword_match": {"must": {"colour": "red"}}}},
         "/where/keyword_match/must/colour"),
        ({"order_by": [{"order_by": "title"}]}, "/order_by/0/order_by"),
        ({"limit": 101}, "/limit"),
        ({"page": 500, "limit": 100}, "/page"),
        ({"select_columns": ["password"]}, "/select_columns/0"),
        ({"where": {"text_matches": {"must": [{"filter_key": "title", "text_value": "ab",
                                               "search_type": "substring"}]}}},
         "/where/text_matches/must/0/text_value"),
        ([], ""),
    ],
)
def test_invalid_vql_is_400_with_a_pointer(
    prod_client: testing.TestClient, body: Any, pointer: str
) -> None:
    result = prod_client.simulate_post("/contacts/filter", json=body)
    assert result.status_code == 400, result.text
    error = result.json["error"]
    assert error["code"] == "invalid_vql"
    assert error["message"]
    assert pointer in [d["path"] for d in error["details"]]


def test_company_config_is_for_contacts_only(prod_client: testing.TestClient) -> None:
    body = {"company_config": {"populate": True}}
    result = prod_client.simulate_post("/companies/filter", json=body)
    assert result.status_code == 400
    assert result.json["error"]["details"][0]["path"] == "/company_config"


def test_count_refuses_unknown_members(prod_client: testing.TestClient) -> None:
    result = prod_client.simulate_post("/contacts/count", json={"wher": {}})
    assert result.status_code == 400
    assert result.json["error"]["details"][0]["path"] == "/wher"
    bad_where = {"where": {"range_query": {"must": {"title": {"gte": 1}}}}}
    result = prod_client.simulate_post("/contacts/count", json=bad_where)
    assert result.status_code == 400
    assert result.json["error"]["details"][0]["path"].startswith("/where/range_query")


@pytest.mark.parametrize("raw", [b"", b"{", b"\xff\xfe", b"NaN", b'{"limit": 1e999}', b"[" * 200])
def test_bad_json_is_400_invalid_json_or_vql(prod_client: testing.TestClient, raw: bytes) -> None:
    result = prod_client.simulate_post(
        "/contacts/filter", body=raw, headers={"Content-Type": "application/json"}
    )
    assert result.status_code == 400
    assert result.json["error"]["code"] in {"invalid_json", "invalid_vql"}


class RecordedReads:
    """The real record store, recording each read: fetches (service, ids) and company
    lookups by contact ids (with the thread they ran on)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.concurrent_reads = inner.concurrent_reads
        self.fetches: list[tuple[str, list[str]]] = []
        self.lookup_threads: list[str] = []

    def fetch(self, service: str, ids: list[str], columns: list[str] | None = None) -> Any:
        self.fetches.append((service, list(ids)))
        return self.inner.fetch(service, ids, columns)

    def companies_of_contacts(self, ids: list[str], columns: list[str]) -> dict[str, Any]:
        import threading

        self.lookup_threads.append(threading.current_thread().name)
        return self.inner.companies_of_contacts(ids, columns)  # type: ignore[no-any-return]

    def dataset_version(self) -> Any:
        return self.inner.dataset_version()

    def ping(self) -> None:
        self.inner.ping()


def _populated_page(client: Any) -> list[dict[str, Any]]:
    result = client.simulate_post("/contacts/filter", json=DESIGN_EXAMPLE)
    assert result.status_code == 200
    data: list[dict[str, Any]] = result.json["data"]
    assert [r["id"] for r in data] == design_example_ids()
    assert all(r["company"] and set(r["company"]) == {"name", "website", "industries"}
               for r in data)
    return data


def test_on_postgresql_companies_come_from_one_lookup_beside_the_rows(
    make_client: Any, production: Any
) -> None:
    records = RecordedReads(production.records)
    _populated_page(make_client(records=records))
    assert [service for service, _ in records.fetches] == ["contacts"]
    assert records.lookup_threads and records.lookup_threads[0].startswith("connectra-api")


def test_on_duckdb_companies_come_from_one_lookup_of_the_rows_company_ids(
    make_client: Any, embedded: Any
) -> None:
    """DuckDB reads on the API process's cores: the contacts are not looked up twice."""
    records = RecordedReads(embedded.records)
    data = _populated_page(make_client(embedded, records=records))
    assert records.lookup_threads == []
    [(contacts, ids), (companies, company_ids)] = records.fetches
    assert (contacts, ids) == ("contacts", [r["id"] for r in data])
    owners = embedded.records.fetch("contacts", ids, ["company_id"])
    assert companies == "companies"
    assert company_ids == list(dict.fromkeys(r["company_id"] for r in owners if r["company_id"]))


SUBSTRING_TAKERS = {
    "contacts": "first_name, last_name, full_name, title, email, company_name, company_domain",
    "companies": "name, domain, website",
}


@pytest.mark.parametrize(
    ("service", "route", "field"),
    [
        ("contacts", "filter", "city"),
        ("contacts", "count", "country"),
        ("contacts", "facets", "state"),
        ("companies", "filter", "keywords"),
        ("companies", "count", "industries"),
        ("companies", "explain", "city"),
    ],
)
def test_a_substring_where_none_is_indexed_is_400_naming_the_fields_that_take_it(
    client: testing.TestClient, service: str, route: str, field: str
) -> None:
    """Issue 17.1, on every engine (OpenSearch, Elasticsearch 8, DuckDB): the same 400, at
    the condition's search_type. Before, these fields took substring (and the index carried
    an n-gram sub-field for each of them)."""
    where = {"text_matches": {"must": [
        {"filter_key": field, "text_value": "new", "search_type": "substring"}]}}
    body: dict[str, Any] = {"where": where}
    if route == "facets":
        body["facets"] = [{"field": "seniority"}]
    result = client.simulate_post(f"/{service}/{route}", json=body)
    assert result.status_code == 400, result.text
    error = result.json["error"]
    assert error["code"] == "invalid_vql"
    assert error["details"] == [{
        "path": "/where/text_matches/must/0/search_type",
        "message": f"field {field!r} does not take search_type 'substring' (it takes exact, "
                   f"shuffle). Fields that take substring: {SUBSTRING_TAKERS[service]}",
    }]  # fmt: skip
    values = client.simulate_post(f"/common/filters/{service}/data", json={
        "filter_key": "country", "where": where})  # fmt: skip
    assert values.status_code == 400, values.text
    assert values.json["error"]["details"] == error["details"]
    filters = client.simulate_get(f"/common/filters/{service}").json["filters"]
    offered = [f["key"] for f in filters if "substring" in f["search_types"]]
    assert ", ".join(offered) == SUBSTRING_TAKERS[service]

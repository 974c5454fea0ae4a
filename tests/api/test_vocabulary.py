"""Queries mean what loads mean (issue 14): the issue's three examples over HTTP, on both
profiles, against a small file loaded through the real reader and normalizer.

- country "USA" finds what the load stored as "united states" (and says so in `normalized`);
- seniority "lead" finds the rows a file calls Lead (its own level, no longer folded into
  senior);
- seniority "bogus" is a 400 that points at the value, lists the levels and suggests one.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from falcon import testing

from dbt_like_sql.normalize import FileNormalizer
from stores.csvfile import open_csv
from stores.settings import SearchSettings
from tests.api.conftest import API_KEY, CODEC, Backend, deps_for
from tests.conftest import Services, fresh_database

pytestmark = pytest.mark.services

CSV = """email,first_name,title,seniority,country,company_name,company_domain,company_country,\
company_employees_count,company_industries
a1@x.com,Ann,Lead Engineer,,USA,Acme,https://www.acme.com/about,USA,1.2k,Software
a2@x.com,Bob,Engineer,Lead,United States,Acme,acme.com,U.S.,1.2k,Software
a3@x.com,Cy,Senior Engineer,Senior,U.S.,Acme,acme.com,United States,1200,Software
a4@x.com,Di,Engineer,Sr.,Deutschland,Beta,beta.de,Germany,50,Health Care
a5@x.com,Ed,Team Lead,,Germany,Beta,beta.de,DE,50,Health Care
a6@x.com,Flo,Manager,Manager,France,Gamma,gamma.fr,FR,0.5k,Retail
"""
LEVELS = ["owner", "founder", "c_suite", "partner", "vp", "head", "director", "manager",
          "lead", "senior", "entry", "intern"]  # fmt: skip


def _load(records: Any, search: Any) -> None:
    with FileNormalizer("vocab.csv", "run-1", datetime(2026, 1, 1, tzinfo=UTC)) as normalizer:
        for raw in open_csv(io.BytesIO(CSV.encode())):
            batch = normalizer.process(raw)
            records.upsert_companies(batch.companies)
            records.upsert_contacts(batch.contacts)
            search.bulk_upsert("companies", batch.companies)
            search.bulk_upsert("contacts", batch.contact_documents)
    search.refresh()


@pytest.fixture(scope="module")
def vocab_production(services: Services, search_settings: SearchSettings) -> Iterator[Backend]:
    from stores.postgres import PostgresRecordStore, migrate
    from stores.search import make_search_store

    with fresh_database(services) as url:
        migrate(url)
        records = PostgresRecordStore(url)
        search = make_search_store(
            search_settings, f"voc{uuid.uuid4().hex[:8]}_", cursors=CODEC, replicas=0
        )
        search.ensure_indices()
        try:
            _load(records, search)
            yield Backend("production", records, search)
        finally:
            search.drop_indices()
            search.close()
            records.close()


@pytest.fixture(scope="module")
def vocab_embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    from stores.duckdb import DuckDBStore

    store = DuckDBStore(tmp_path_factory.mktemp("vocab") / "v.duckdb", cursors=CODEC)
    store.ensure_indices()
    _load(store, store)
    yield Backend("embedded", store, store)
    store.close()


@pytest.fixture(params=["production", "embedded"])
def vclient(request: pytest.FixtureRequest, tmp_path: Path) -> testing.TestClient:
    backend = request.getfixturevalue(f"vocab_{request.param}")
    return testing.TestClient(create_app_for(backend, tmp_path), headers={"X-API-Key": API_KEY})


def create_app_for(backend: Backend, home: Path) -> Any:
    from api.app import create_app

    return create_app(deps_for(backend, home))


def where(**must: Any) -> dict[str, Any]:
    return {"where": {"keyword_match": {"must": must}}}


def emails(client: testing.TestClient, body: dict[str, Any]) -> list[str]:
    body = {**body, "order_by": [{"order_by": "email", "order_direction": "asc"}]}
    result = client.simulate_post("/contacts/filter", json=body)
    assert result.status_code == 200, result.text
    return [row["email"] for row in result.json["data"]]


def test_country_usa_finds_united_states_and_says_so(vclient: testing.TestClient) -> None:
    result = vclient.simulate_post("/contacts/count", json=where(country="USA"))
    assert result.status_code == 200, result.text
    assert result.json == {
        "count": 3,
        "normalized": [
            {"path": "/where/keyword_match/must/country", "from": "USA", "to": "united states"}
        ],
    }
    expected = ["a1@x.com", "a2@x.com", "a3@x.com"]
    assert emails(vclient, where(country="united states")) == expected
    for alias in ("USA", "U.S.", "us", " United States of America ", "America"):
        assert emails(vclient, where(country=alias)) == expected, alias
    assert emails(vclient, where(country=["Deutschland", "FR"])) == [
        "a4@x.com", "a5@x.com", "a6@x.com",
    ]
    filtered = vclient.simulate_post("/contacts/filter", json=where(country=["usa", "DE"]))
    assert filtered.json["normalized"] == [
        {"path": "/where/keyword_match/must/country/0", "from": "usa", "to": "united states"},
        {"path": "/where/keyword_match/must/country/1", "from": "DE", "to": "germany"},
    ]
    # a canonical value (in any letter case) is not reported: nothing changed its meaning
    plain = vclient.simulate_post("/contacts/count", json=where(country="United States"))
    assert plain.json == {"count": 3}


def test_seniority_lead_is_its_own_level(vclient: testing.TestClient) -> None:
    # a1 and a5 by their titles (Lead Engineer, Team Lead), a2 by its seniority column
    assert emails(vclient, where(seniority="lead")) == ["a1@x.com", "a2@x.com", "a5@x.com"]
    assert emails(vclient, where(seniority="senior")) == ["a3@x.com", "a4@x.com"]
    assert emails(vclient, where(seniority=["senior", "lead"])) == [
        "a1@x.com", "a2@x.com", "a3@x.com", "a4@x.com", "a5@x.com",
    ]
    result = vclient.simulate_post("/contacts/count", json=where(seniority="Team Lead"))
    assert result.json["count"] == 3
    assert result.json["normalized"][0]["to"] == "lead"


def test_unknown_seniority_is_a_400_that_points_at_it(vclient: testing.TestClient) -> None:
    result = vclient.simulate_post("/contacts/count", json=where(seniority="bogus"))
    assert result.status_code == 400, result.text
    error = result.json["error"]
    assert error["code"] == "invalid_vql"
    [detail] = error["details"]
    assert detail["path"] == "/where/keyword_match/must/seniority"
    assert "'bogus'" in detail["message"]
    assert "Allowed values: " + ", ".join(LEVELS) in detail["message"]

    typo = vclient.simulate_post(
        "/contacts/filter", json=where(seniority=["lead", "senoir"], country="Germny")
    )
    assert typo.status_code == 400
    details = {d["path"]: d["message"] for d in typo.json["error"]["details"]}
    assert set(details) == {
        "/where/keyword_match/must/seniority/1", "/where/keyword_match/must/country",
    }
    assert "Did you mean 'senior'?" in details["/where/keyword_match/must/seniority/1"]
    assert "Did you mean 'germany'" in details["/where/keyword_match/must/country"]
    # 249 countries are pointed at, not pasted into the message; 12 seniorities are listed.
    assert "one of 249 values, listed as `values` of 'country'" in details[
        "/where/keyword_match/must/country"]


def test_open_fields_and_ranges_use_the_load_rules(vclient: testing.TestClient) -> None:
    # domains from URLs and emails, lists split and trimmed, amounts as loads read them
    assert emails(vclient, where(company_domain="https://WWW.Acme.com/contact")) == [
        "a1@x.com", "a2@x.com", "a3@x.com",
    ]
    assert emails(vclient, where(company_domain="someone@beta.de")) == ["a4@x.com", "a5@x.com"]
    assert emails(vclient, where(company_industries=" Health  Care ; Retail")) == [
        "a4@x.com", "a5@x.com", "a6@x.com",
    ]
    assert emails(vclient, where(email="MAILTO:A1@X.COM")) == ["a1@x.com"]
    # an unknown city is fine: open fields stay open
    assert emails(vclient, where(city="Atlantis")) == []
    body = {"where": {"range_query": {"must": {"company_employees_count": {"gte": "1.2k"}}}}}
    result = vclient.simulate_post("/contacts/count", json=body)
    assert result.status_code == 200, result.text
    assert result.json == {
        "count": 3,
        "normalized": [{"path": "/where/range_query/must/company_employees_count/gte",
                        "from": "1.2k", "to": 1200}],
    }  # fmt: skip
    bad = {"where": {"range_query": {"must": {"company_employees_count": {"gte": "51-200"}}}}}
    result = vclient.simulate_post("/contacts/count", json=bad)
    assert result.status_code == 400
    assert result.json["error"]["details"][0]["path"] == (
        "/where/range_query/must/company_employees_count/gte"
    )


def test_filters_list_the_values_of_closed_fields(vclient: testing.TestClient) -> None:
    contacts = {f["key"]: f for f in vclient.simulate_get("/common/filters/contacts").json[
        "filters"]}
    assert contacts["seniority"]["values"] == LEVELS
    assert "united states" in contacts["country"]["values"]
    assert contacts["company_country"]["values"] == contacts["country"]["values"]
    assert "values" not in contacts["first_name"] and "values" not in contacts["departments"]
    companies = {f["key"]: f for f in vclient.simulate_get("/common/filters/companies").json[
        "filters"]}
    assert companies["country"]["values"] == contacts["country"]["values"]
    assert "values" not in companies["industries"]

"""Lineage as filters (issue 14, item 4): three overlapping files loaded through the real
pipeline (load_file: normalizer, then both stores), on both profiles, asked over HTTP.

The story, identical on PostgreSQL + OpenSearch and on embedded DuckDB:
leads-2026-06.csv (ann, bob, cat at acme / beta), then leads-2026-11.csv (ann again with a
new title, dan at gamma), then partners.csv (bob, dan), then leads-2026-06.csv again,
unchanged. `seen_1` and `seen_3` are instants taken after the first and the third load.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from falcon import testing

from api.app import create_app
from assets.loading import load_file, stores_agree
from dbt_like_sql.ids import record_id
from stores.factory import Stores
from stores.landing import LocalLandingZone
from stores.settings import SearchSettings
from tests.api.conftest import API_KEY, CODEC, Backend, deps_for
from tests.conftest import Services, fresh_database

HEADER = "first_name,last_name,title,email,company_name,company_website,country\n"
FILES = {
    "leads-2026-06.csv": HEADER
    + "Ann,Lee,Engineer,ann@acme.com,Acme,acme.com,USA\n"
    + "Bob,Ray,Sales Rep,bob@acme.com,Acme,acme.com,USA\n"
    + "Cat,Noor,Designer,cat@beta.io,Beta,beta.io,France\n",
    "leads-2026-11.csv": HEADER
    + "Ann,Lee,CTO,ann@acme.com,Acme,acme.com,USA\n"
    + "Dan,Ito,Founder,dan@gamma.dev,Gamma,gamma.dev,Japan\n",
    "partners.csv": HEADER
    + "Bob,Ray,Sales Rep,bob@acme.com,Acme,acme.com,USA\n"
    + "Dan,Ito,Founder,dan@gamma.dev,Gamma,gamma.dev,Japan\n",
}
JUNE, NOVEMBER, PARTNERS = FILES
CONTACTS = {name: record_id(f"email:{name}@{domain}") for name, domain in
            (("ann", "acme.com"), ("bob", "acme.com"), ("cat", "beta.io"), ("dan", "gamma.dev"))}
COMPANIES = {name: record_id(f"domain:{name}") for name in ("acme.com", "beta.io", "gamma.dev")}
NAMES = {v: k for k, v in {**CONTACTS, **COMPANIES}.items()}
LINEAGE = ["id", "source_file", "load_run", "first_seen", "last_seen", "created_at",
           "updated_at"]


@dataclass
class Story:
    profile: str
    stores: Stores
    client: testing.TestClient
    seen_1: str = ""
    seen_3: str = ""
    before_reload: dict[str, dict[str, Any]] = field(default_factory=dict)
    agreed: list[bool] = field(default_factory=list)

    def filter(self, service: str, where: dict[str, Any], **body: Any) -> list[dict[str, Any]]:
        result = self.client.simulate_post(
            f"/{service}/filter", json={"where": where, "limit": 100, **body}
        )
        assert result.status_code == 200, result.text
        return list(result.json["data"])

    def names(self, service: str, where: dict[str, Any]) -> set[str]:
        return {NAMES[r["id"]] for r in self.filter(service, where, select_columns=["id"])}

    def records(self, service: str) -> dict[str, dict[str, Any]]:
        rows = self.filter(service, {}, select_columns=LINEAGE)
        return {NAMES[r["id"]]: r for r in rows}


def _now() -> str:
    time.sleep(0.01)  # instants strictly between two loads
    instant = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.01)
    return instant


def _tell(story: Story, landing: LocalLandingZone) -> Story:
    for key, text in FILES.items():
        landing.put(key, io.BytesIO(text.encode()))
    for run, key in enumerate((JUNE, NOVEMBER, PARTNERS), start=1):
        load_file(landing, key, story.stores, f"run-{run}", batch_rows=500)
        story.agreed.append(stores_agree(story.stores, key).passed)
        if run == 1:
            story.seen_1 = _now()
        if run == 3:
            story.seen_3 = _now()
    story.before_reload = {**story.records("contacts"), **story.records("companies")}
    load_file(landing, JUNE, story.stores, "run-4", batch_rows=500)
    story.agreed.append(stores_agree(story.stores, JUNE).passed)
    return story


def _client(backend: Backend, home: Path) -> testing.TestClient:
    return testing.TestClient(create_app(deps_for(backend, home)), headers={"X-API-Key": API_KEY})


@pytest.fixture(scope="module")
def production_story(
    services: Services, search_settings: SearchSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Story]:
    from stores.postgres import PostgresRecordStore, migrate
    from stores.search import make_search_store

    home = tmp_path_factory.mktemp("lineage-production")
    with fresh_database(services) as url:
        migrate(url)
        records = PostgresRecordStore(url)
        search = make_search_store(
            search_settings, f"lineage{uuid.uuid4().hex[:8]}_", cursors=CODEC, replicas=0
        )
        search.ensure_indices()
        stores = Stores(records, search, CODEC)
        client = _client(Backend("production", records, search), home)
        try:
            yield _tell(Story("production", stores, client), LocalLandingZone(home / "landing"))
        finally:
            search.drop_indices()
            stores.close()


@pytest.fixture(scope="module")
def embedded_story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    from stores.duckdb import DuckDBStore

    home = tmp_path_factory.mktemp("lineage-embedded")
    store = DuckDBStore(home / "connectra.duckdb", cursors=CODEC)
    store.migrate()
    stores = Stores(store, store, CODEC)
    client = _client(Backend("embedded", store, store), home)
    try:
        yield _tell(Story("embedded", stores, client), LocalLandingZone(home / "landing"))
    finally:
        stores.close()


@pytest.fixture(params=["production", "embedded"])
def story(request: pytest.FixtureRequest) -> Story:
    return request.getfixturevalue(f"{request.param}_story")  # type: ignore[no-any-return]


def test_a_record_keeps_every_file_that_contributed(story: Story) -> None:
    contacts, companies = story.records("contacts"), story.records("companies")
    assert {k: v["source_file"] for k, v in contacts.items()} == {
        "ann": [JUNE, NOVEMBER],
        "bob": [JUNE, PARTNERS],
        "cat": [JUNE],  # the reload of June added no second entry
        "dan": [NOVEMBER, PARTNERS],
    }
    assert {k: v["source_file"] for k, v in companies.items()} == {
        "acme.com": [JUNE, NOVEMBER, PARTNERS],
        "beta.io": [JUNE],
        "gamma.dev": [NOVEMBER, PARTNERS],
    }
    assert {k: v["load_run"] for k, v in contacts.items()} == {
        "ann": "run-4", "bob": "run-4", "cat": "run-4", "dan": "run-3",
    }  # fmt: skip
    assert all(story.agreed)  # after every load, both stores hold each file's ids


def test_filter_by_any_file_that_contributed(story: Story) -> None:
    assert story.names("contacts", {"keyword_match": {"must": {"source_file": NOVEMBER}}}) == {
        "ann", "dan",
    }  # fmt: skip
    assert story.names("companies", {"keyword_match": {"must": {"source_file": PARTNERS}}}) == {
        "acme.com", "gamma.dev",
    }  # fmt: skip
    either = {"keyword_match": {"must": {"source_file": [NOVEMBER, PARTNERS]}}}
    assert story.names("contacts", either) == {"ann", "bob", "dan"}
    only_june = {"keyword_match": {"must": {"source_file": JUNE},
                                   "must_not": {"source_file": [NOVEMBER, PARTNERS]}}}
    assert story.names("contacts", only_june) == {"cat"}
    assert story.names("contacts", {"keyword_match": {"must": {"load_run": "run-3"}}}) == {"dan"}
    count = story.client.simulate_post(
        "/contacts/count", json={"where": {"keyword_match": {"must": {"source_file": JUNE}}}}
    )
    assert count.json == {"count": 3}


def test_reload_of_an_unchanged_file_moves_last_seen_only(story: Story) -> None:
    after = {**story.records("contacts"), **story.records("companies")}
    for name in ("ann", "bob", "cat", "acme.com", "beta.io"):  # all in the June file
        before, now = story.before_reload[name], after[name]
        assert _instant(now["last_seen"]) > _instant(before["last_seen"]), name
        for unchanged in ("first_seen", "created_at", "source_file"):
            assert now[unchanged] == before[unchanged], (name, unchanged)
        # June gives ann her old title back (the newest load wins): that is a change.
        assert (now["updated_at"] == before["updated_at"]) == (name != "ann"), name
    assert after["dan"] == story.before_reload["dan"]  # not in the June file
    assert after["gamma.dev"] == story.before_reload["gamma.dev"]
    # first_seen is the first load that contained the record; a new title moved updated_at.
    first_seen = {_instant(after[n]["first_seen"]) for n in ("ann", "bob")}
    assert len(first_seen) == 1 and first_seen.pop() < _instant(story.seen_1)
    updated = {n: _instant(after[n]["updated_at"]) for n in ("ann", "bob")}
    assert updated["ann"] > _instant(story.seen_1) > updated["bob"]


def test_last_seen_and_first_seen_ranges(story: Story) -> None:
    def not_seen_since(instant: str) -> dict[str, Any]:
        return {"range_query": {"must": {"last_seen": {"lt": instant}}}}

    # Before the reload of June, only cat had not been seen since the first load.
    before = {n: _instant(story.before_reload[n]["last_seen"]) for n in ("ann", "bob", "cat")}
    assert {n for n, seen in before.items() if seen < _instant(story.seen_1)} == {"cat"}
    assert story.names("contacts", not_seen_since(story.seen_1)) == set()  # the reload saw cat
    assert story.names("contacts", not_seen_since(story.seen_3)) == {"dan"}
    assert story.names("companies", not_seen_since(story.seen_3)) == {"gamma.dev"}
    new_since_1 = {"range_query": {"must": {"first_seen": {"gte": story.seen_1}}}}
    assert story.names("contacts", new_since_1) == {"dan"}
    ordered = story.filter(
        "contacts", {}, select_columns=["id", "last_seen"],
        order_by=[{"order_by": "last_seen", "order_direction": "asc"}],
    )  # fmt: skip
    assert NAMES[ordered[0]["id"]] == "dan"


def test_the_search_index_holds_what_the_records_hold(production_story: Story) -> None:
    """The index merges in the engine (stores/search/lineage.py): after the four loads its
    documents carry the same lineage and times as PostgreSQL's rows."""
    search: Any = production_story.stores.search
    for service, ids in (("contacts", CONTACTS), ("companies", COMPANIES)):
        rows = production_story.records(service)
        docs = search.get_documents(service, list(ids.values()))
        for name, record in rows.items():
            doc = docs[record["id"]]
            assert doc["source_file"] == record["source_file"], name
            assert doc["load_run"] == record["load_run"], name
            for stamp in ("first_seen", "last_seen", "created_at", "updated_at"):
                assert _instant(doc[stamp]) == _instant(record[stamp]), (name, stamp)


def test_both_profiles_give_the_same_answers(
    production_story: Story, embedded_story: Story
) -> None:
    for service in ("contacts", "companies"):
        prod, emb = production_story.records(service), embedded_story.records(service)
        assert {n: (r["source_file"], r["load_run"]) for n, r in prod.items()} == {
            n: (r["source_file"], r["load_run"]) for n, r in emb.items()
        }
    for story in (production_story, embedded_story):
        assert story.filter("contacts", {}, select_columns=["source_file"])[0].keys() == {
            "source_file"
        }


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

"""The dataset version: filter and count answers name it (X-Dataset-Version); a cursor
remembers the version it was issued at (X-Cursor-Dataset-Version), so a client paging
while a load completes can tell."""

from __future__ import annotations

from pathlib import Path

import pytest
from falcon import testing

from tests.api.conftest import API_KEY, Backend, ClientFactory, deps_for, free_port

pytestmark = pytest.mark.services


def test_answers_name_the_dataset_version_and_cursors_remember_it(
    own_backend: Backend, tmp_path: Path
) -> None:
    from api.app import create_app

    client = testing.TestClient(create_app(deps_for(own_backend, tmp_path)),
                                headers={"X-API-Key": API_KEY})
    body = {"where": {}, "order_by": [{"order_by": "email"}], "limit": 10}
    first = client.simulate_post("/contacts/filter", json=body)
    assert first.headers["X-Dataset-Version"] == "1"
    assert "X-Cursor-Dataset-Version" not in first.headers
    assert client.simulate_post("/companies/count", json={}).headers["X-Dataset-Version"] == "1"
    facets = {"facets": [{"field": "country"}]}
    assert client.simulate_post("/companies/facets", json=facets).headers[
        "X-Dataset-Version"] == "1"

    own_backend.records.mark_loaded("run-1")  # the same run again: nothing moves
    assert own_backend.records.dataset_version().version == 1
    own_backend.records.mark_loaded("run-2")  # a load completes while the client pages
    version = own_backend.records.dataset_version()
    assert (version.version, version.load_run) == (2, "run-2")
    assert version.completed_at and version.completed_at.endswith("Z")

    second = client.simulate_post("/contacts/filter",
                                  json={**body, "cursor": first.json["next_cursor"]})
    assert second.status_code == 200, second.text
    assert second.headers["X-Dataset-Version"] == "2"
    assert second.headers["X-Cursor-Dataset-Version"] == "1"  # the data changed under it
    third = client.simulate_post("/contacts/filter",
                                 json={**body, "cursor": second.json["next_cursor"]})
    assert third.headers["X-Cursor-Dataset-Version"] == third.headers["X-Dataset-Version"]
    assert client.simulate_post("/contacts/count", json={}).headers["X-Dataset-Version"] == "2"
    # the stamp is signed like the rest of the cursor: an edited one is refused
    token = second.json["next_cursor"]
    edited = client.simulate_post("/contacts/filter", json={**body, "cursor": token[:-2] + (
        "AA" if not token.endswith("AA") else "BB")})
    assert edited.status_code == 400


def test_a_count_with_the_record_store_away_answers_without_the_version(
    make_client: ClientFactory, production: Backend
) -> None:
    """A count needs the search engine only: PostgreSQL being away must not fail it (the
    version is best effort), while a filter, which needs the rows, is a 503."""
    from stores.postgres import PostgresRecordStore

    away = PostgresRecordStore(f"postgresql://u:p@127.0.0.1:{free_port()}/db",
                               connect_timeout_s=1)
    try:
        client = make_client(records=away)
        count = client.simulate_post("/contacts/count", json={})
        assert count.status_code == 200 and count.json["count"] > 0
        assert "X-Dataset-Version" not in count.headers
        assert client.simulate_post("/contacts/filter", json={}).status_code == 503
    finally:
        away.close()

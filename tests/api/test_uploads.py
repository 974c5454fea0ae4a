"""GET /common/upload-url and the embedded PUT /common/uploads/{key}; S3 presigned URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from falcon import testing

from api.uploads import EXPIRES_IN
from stores.landing import LocalLandingZone, S3LandingZone
from stores.settings import S3Settings, Secret
from tests.api.conftest import ClientFactory
from tests.api.test_http import FakeClock
from tests.conftest import Services

pytestmark = pytest.mark.services
CSV = b"first_name,last_name,email\nAnn,Smith,ann@example.com\n"


def _put(client: testing.TestClient, url: str, body: bytes, **kw: Any) -> testing.Result:
    parts = urlsplit(url)
    return testing.TestClient(client.app).simulate_put(
        parts.path, query_string=parts.query, body=body, **kw
    )


def test_embedded_upload_round_trip(make_client: ClientFactory, tmp_path: Path) -> None:
    clock = FakeClock()
    client = make_client(clock=clock)
    answer = client.simulate_get("/common/upload-url", params={"filename": "../../My File.CSV"})
    assert answer.status_code == 200, answer.text
    body = answer.json
    assert body["method"] == "PUT" and body["expires_in"] == EXPIRES_IN
    key = body["key"]
    assert key.startswith("uploads/") and key.endswith("-My_File.CSV") and ".." not in key
    assert body["url"].startswith("http://falconframework.org/common/uploads/" + key + "?")
    stored = _put(client, body["url"], CSV)  # no API key: the signature authorizes it
    assert stored.status_code == 201, stored.text
    assert stored.json == {"key": key, "size": len(CSV)}
    landing = LocalLandingZone(tmp_path / "landing")
    assert (tmp_path / "landing" / key).read_bytes() == CSV
    assert key in {f.key for f in landing.list()}


def test_upload_urls_cannot_be_bent(make_client: ClientFactory, tmp_path: Path) -> None:
    clock = FakeClock()
    client = make_client(clock=clock)
    url = client.simulate_get("/common/upload-url", params={"filename": "a.csv"}).json["url"]
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    other_key = parts.path.replace("-a.csv", "-b.csv")
    attempts = [
        (other_key, query),  # another key
        ("/common/uploads/../../etc/passwd.csv", query),
        (parts.path, {**query, "signature": "0" * 64}),
        (parts.path, {**query, "expires": str(int(query["expires"]) + 1)}),
        (parts.path, {"expires": query["expires"]}),
        (parts.path, {}),
    ]
    raw = testing.TestClient(client.app)
    for path, params in attempts:
        result = raw.simulate_put(path, params=params, body=CSV)
        assert result.status_code in (403, 404), (path, params, result.text)
        assert result.json["error"]["code"] in ("forbidden", "not_found")
    clock.advance(EXPIRES_IN + 1)
    expired = _put(client, url, CSV)
    assert expired.status_code == 403
    assert not list((tmp_path / "landing").rglob("*.csv"))


def test_upload_url_needs_a_filename_and_a_key(make_client: ClientFactory) -> None:
    client = make_client()
    for params in ({}, {"filename": " "}, {"filename": "x" * 300}):
        result = client.simulate_get("/common/upload-url", params=params)
        assert result.status_code == 400
        assert result.json["error"]["code"] == "invalid_request"
    assert testing.TestClient(client.app).simulate_get(
        "/common/upload-url", params={"filename": "a.csv"}
    ).status_code == 401


@pytest.fixture
def s3_landing(services: Services, s3: Any, unique_name: str) -> S3LandingZone:
    env = services.env
    return S3LandingZone(
        S3Settings(
            bucket=env["S3_BUCKET"],
            prefix=f"{unique_name}/landing/",
            region=env["S3_REGION"],
            access_key=Secret(env["S3_ACCESS_KEY"]),
            secret_key=Secret(env["S3_SECRET_KEY"]),
            endpoint=services.s3_endpoint,
        )
    )


def test_s3_presigned_upload(make_client: ClientFactory, s3_landing: S3LandingZone) -> None:
    client = make_client(landing=s3_landing)
    body = client.simulate_get("/common/upload-url", params={"filename": "leads.csv.gz"}).json
    assert body["key"].startswith(s3_landing.prefix + "uploads/")
    assert body["key"].endswith("-leads.csv.gz")
    assert "X-Amz-Signature" in body["url"] and "X-Amz-Expires=900" in body["url"]
    response = requests.put(body["url"], data=CSV, timeout=10)
    assert response.status_code == 200
    relative = body["key"][len(s3_landing.prefix):]
    assert s3_landing.stat(relative).size == len(CSV)
    # The embedded PUT endpoint does not exist on the S3 profile.
    result = testing.TestClient(client.app).simulate_put(
        "/common/uploads/" + relative, params={"expires": "1", "signature": "x"}, body=CSV
    )
    assert result.status_code == 404

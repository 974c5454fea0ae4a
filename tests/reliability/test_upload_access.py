"""Upload URLs reach only their own key under the landing prefix, and only until they
expire: the embedded PUT endpoint (HMAC-signed URL) and S3 presigned URLs. File keys given
to the jobs endpoint cannot leave the landing zone either.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import requests
from falcon import testing

from api.app import create_app
from api.uploads import EXPIRES_IN
from stores.landing import S3LandingZone
from stores.settings import S3Settings, Secret
from tests.api.conftest import API_KEY
from tests.conftest import Services
from tests.reliability.conftest import Backend, deps

pytestmark = pytest.mark.services
CSV = b"first_name,last_name,email\nAnn,Smith,ann@example.com\n"
NASTY_NAMES = ["../../etc/passwd", "..\\..\\windows\\x.csv", "/etc/cron.d/x.csv",
               "a/../../b.csv", "%2e%2e%2fx.csv", ".hidden.csv", "....csv", "x.csv/..",
               "~/.ssh/authorized_keys", "C:\\x.csv", "\u202ecod.csv", "x" * 255]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def embedded(hostile_embedded: Backend, tmp_path: Path) -> tuple[testing.TestClient, Clock, Path]:
    clock = Clock()
    app_deps = deps(tmp_path, hostile_embedded.records, hostile_embedded.search)
    app = create_app(replace(app_deps, clock=clock))
    return testing.TestClient(app, headers={"X-API-Key": API_KEY}), clock, tmp_path / "landing"


def put(client: testing.TestClient, url: str, body: bytes = CSV) -> testing.Result:
    parts = urlsplit(url)
    return testing.TestClient(client.app).simulate_put(parts.path, query_string=parts.query,
                                                       body=body)


def landed(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_upload_keys_stay_under_uploads_whatever_the_filename(
    embedded: tuple[testing.TestClient, Clock, Path],
) -> None:
    client, _, root = embedded
    for name in NASTY_NAMES:
        result = client.simulate_get("/common/upload-url", params={"filename": name})
        assert result.status_code == 200, (name, result.text)
        key = result.json["key"]
        assert key.startswith("uploads/") and ".." not in key and "\\" not in key, key
        assert key.count("/") == 2 and not key.split("/")[-1].startswith("."), key
        assert put(client, result.json["url"]).status_code == 201
    files = landed(root)
    assert len(files) == len(NASTY_NAMES)
    assert all(f.startswith("uploads/") for f in files), files
    assert not any(Path(p).exists() for p in ("/etc/cron.d/x.csv", "/tmp/b.csv"))


def test_a_signed_url_reaches_its_own_key_only_and_only_until_it_expires(
    embedded: tuple[testing.TestClient, Clock, Path],
) -> None:
    client, clock, root = embedded
    given = client.simulate_get("/common/upload-url", params={"filename": "leads.csv"}).json
    assert given["expires_in"] == EXPIRES_IN <= 900
    parts = urlsplit(given["url"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    other_keys = [
        given["key"].replace("leads", "other"),
        "uploads/../../escape.csv",
        "uploads/2020-01-01/x.csv",
        given["key"] + "/../../../../x.csv",
        "../" + given["key"],
    ]
    for key in other_keys:
        path = "/common/uploads/" + quote(key, safe="/")
        result = testing.TestClient(client.app).simulate_put(path, query_string=parts.query,
                                                             body=CSV)
        assert result.status_code in (403, 404), (key, result.status_code)
    tampered = [
        {**query, "expires": str(int(query["expires"]) + 1)},
        {**query, "expires": str(int(query["expires"]) + 10 * 365 * 86400)},
        # the last character changed (to another one: a signature may end in "0" already)
        {**query, "signature": query["signature"][:-1]
         + ("1" if query["signature"].endswith("0") else "0")},
        {**query, "signature": ""},
        {"expires": query["expires"]},
        {**query, "expires": query["expires"] + ".0"},
        {**query, "expires": "-1"},
        {**query, "expires": "\u00b2"},  # a digit to str.isdigit, not to int(): was a 500
    ]
    for params in tampered:
        result = testing.TestClient(client.app).simulate_put(
            parts.path, query_string=urlencode(params), body=CSV
        )
        assert result.status_code == 403, params
    assert landed(root) == []

    clock.now += EXPIRES_IN + 1  # expired: the same URL no longer works
    assert put(client, given["url"]).status_code == 403
    clock.now -= 2  # still valid just before its expiry
    assert put(client, given["url"]).status_code == 201
    assert landed(root) == [given["key"]]


@pytest.mark.parametrize("file_key", ["../x.csv", "/etc/passwd", "uploads/../../x.csv",
                                      "..\\x.csv", ".hidden/x.csv", "x.csv\n", ""])
def test_jobs_refuse_keys_outside_the_landing_zone(
    embedded: tuple[testing.TestClient, Clock, Path], file_key: str,
) -> None:
    client, _, _ = embedded
    result = client.simulate_post("/common/jobs", json={"file_key": file_key})
    assert result.status_code in (400, 404), result.text


def test_s3_presigned_urls_point_at_their_key_under_the_prefix_and_expire_soon(
    services: Services, s3: Any, hostile_embedded: Backend, tmp_path: Path,
) -> None:
    env = services.env
    prefix = f"reliability/{os.urandom(4).hex()}/"
    secret = f"s3-secret-{os.urandom(8).hex()}"  # moto takes any credentials
    landing = S3LandingZone(S3Settings(
        bucket=env["S3_BUCKET"], prefix=prefix, region=env["S3_REGION"],
        access_key=Secret("AKIARELIABILITYTEST"), secret_key=Secret(secret),
        endpoint=services.s3_endpoint,
    ))
    app = create_app(replace(deps(tmp_path, hostile_embedded.records, hostile_embedded.search),
                             landing=landing))
    client = testing.TestClient(app, headers={"X-API-Key": API_KEY})
    for name in ("leads.csv", *NASTY_NAMES[:5]):
        body = client.simulate_get("/common/upload-url", params={"filename": name}).json
        key = body["key"]
        assert key.startswith(prefix + "uploads/") and ".." not in key
        url = urlsplit(body["url"])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert url.path in (f"/{env['S3_BUCKET']}/{quote(key)}", f"/{quote(key)}"), url.path
        assert int(query["X-Amz-Expires"]) == body["expires_in"] <= 900
        assert query["X-Amz-SignedHeaders"] == "host"
        assert secret not in body["url"]
        assert requests.put(body["url"], data=CSV, timeout=10).status_code == 200
        assert landing.stat(key[len(prefix):]).size == len(CSV)
    listed = s3.list_objects_v2(Bucket=env["S3_BUCKET"], Prefix=prefix)["Contents"]
    assert all(o["Key"].startswith(prefix + "uploads/") for o in listed)

"""The landing zone behaves the same on a folder and on the real S3 endpoint (moto)."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from stores.errors import TerminalStoreError
from stores.landing import (
    FileMissing,
    LandingZone,
    LocalLandingZone,
    S3LandingZone,
    landing_key,
    upload_key,
)
from stores.settings import S3Settings, Secret
from tests.conftest import Services


@pytest.fixture
def s3_zone(services: Services, s3: Any, unique_name: str) -> S3LandingZone:
    e = services.env
    return S3LandingZone(
        S3Settings(
            bucket=e["S3_BUCKET"],
            prefix=f"{unique_name}/",
            region=e["S3_REGION"],
            endpoint=e["S3_ENDPOINT"],
            access_key=Secret(e["S3_ACCESS_KEY"]),
            secret_key=Secret(e["S3_SECRET_KEY"]),
        )
    )


@pytest.fixture(params=["folder", "s3"])
def zone(request: pytest.FixtureRequest, tmp_path: Path) -> LandingZone:
    if request.param == "folder":
        return LocalLandingZone(tmp_path / "landing")
    return request.getfixturevalue("s3_zone")  # type: ignore[no-any-return]


def test_put_list_open_stat(zone: LandingZone) -> None:
    zone.put("a/people.csv", io.BytesIO(b"email\nx@y.io\n"))
    zone.put("notes.txt", io.BytesIO(b"not a csv"))
    zone.put("b.csv.gz", io.BytesIO(b"\x1f\x8b"))
    listed = {f.key: f for f in zone.list()}
    assert set(listed) == {"a/people.csv", "b.csv.gz"}  # only loadable files
    assert listed["a/people.csv"].size == len(b"email\nx@y.io\n")
    with zone.open("a/people.csv") as stream:
        assert stream.read() == b"email\nx@y.io\n"
    assert zone.stat("a/people.csv").version == listed["a/people.csv"].version


def test_a_changed_file_gets_a_new_version(zone: LandingZone) -> None:
    first = zone.put("c.csv", io.BytesIO(b"email\na@b.io\n"))
    time.sleep(0.01)
    second = zone.put("c.csv", io.BytesIO(b"email\na@b.io\nc@d.io\n"))
    assert first.version != second.version


def test_missing_file(zone: LandingZone) -> None:
    with pytest.raises(FileMissing):
        zone.stat("nope.csv")
    with pytest.raises(FileMissing):
        zone.open("nope.csv").read()


@pytest.mark.parametrize(
    "bad", ["", "/etc/passwd", "../x.csv", "a/../../x.csv", "a//b.csv", ".hidden.csv", "a\x00.csv"]
)
def test_keys_cannot_escape_the_landing_zone(bad: str) -> None:
    with pytest.raises(TerminalStoreError):
        landing_key(bad)


def test_upload_keys_are_fresh_and_tame() -> None:
    a, b = upload_key("../../etc/My File.CSV"), upload_key("../../etc/My File.CSV")
    assert a != b
    assert a.startswith("uploads/") and a.endswith("My_File.CSV") and ".." not in a
    assert upload_key("weird").endswith(".csv")
    assert landing_key(a) == a


def test_s3_presigned_put_reaches_only_its_key(s3_zone: S3LandingZone) -> None:
    import requests

    zone = s3_zone

    key = upload_key("people.csv")
    url = zone.presign_put(key, expires_in=60)
    assert requests.put(url, data=b"email\nq@r.io\n", timeout=10).status_code == 200
    assert zone.stat(key).size == len(b"email\nq@r.io\n")
    # The signature covers the path: the URL names exactly this key under the prefix and a
    # short expiry (moto does not verify signatures, so the refusal itself is S3's part).
    parts = urlsplit(url)
    assert unquote(parts.path) == f"/{zone.bucket}/{zone.prefix}{key}"
    assert parse_qs(parts.query)["X-Amz-Expires"] == ["60"]

"""The app behind waitress over loopback: what only a real server shows (chunked bodies,
streamed uploads, gzip on the wire), and get_app / ensure_api_key from the environment."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from api.app import get_app
from stores.settings import EMBEDDED_API_KEY_FILE as API_KEY_FILE
from stores.settings import Settings, ensure_api_key
from tests.api.conftest import API_KEY, Backend, deps_for
from tests.conftest import serving

pytestmark = pytest.mark.services


@pytest.fixture
def url(production: Backend, tmp_path: Path) -> Iterator[str]:
    from api.app import create_app

    with serving(create_app(deps_for(production, tmp_path))) as base:
        yield base


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"pad": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def test_a_chunked_body_over_the_cap_is_413(url: str) -> None:
    response = requests.post(
        f"{url}/contacts/filter", data=_chunks(2 << 20),
        headers={"X-API-Key": API_KEY, "Content-Type": "application/json"}, timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_gzip_and_headers_on_the_wire(url: str) -> None:
    response = requests.post(
        f"{url}/contacts/filter", json={"limit": 100},
        headers={"X-API-Key": API_KEY, "Accept-Encoding": "gzip"}, timeout=30, stream=True,
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    raw = response.raw.read(decode_content=False)
    assert len(gzip.decompress(raw)) > len(raw)
    assert response.headers["X-RateLimit-Limit"] == "100000"


def test_a_streamed_upload_lands_whole(url: str, tmp_path: Path) -> None:
    answer = requests.get(
        f"{url}/common/upload-url", params={"filename": "big.csv"},
        headers={"X-API-Key": API_KEY}, timeout=10,
    ).json()
    assert urlsplit(answer["url"]).netloc == urlsplit(url).netloc
    body = b"email\n" + b"".join(b"person%d@example.com\n" % i for i in range(200_000))
    stored = requests.put(answer["url"], data=iter([body[:1000], body[1000:]]), timeout=30)
    assert stored.status_code == 201, stored.text
    assert (tmp_path / "landing" / answer["key"]).read_bytes() == body


def test_get_app_on_the_embedded_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("API_KEY", "PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL",
                 "S3_BUCKET", "SEARCH_ENGINE", "CURSOR_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONNECTRA_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no .env here
    app = get_app()
    key = (tmp_path / API_KEY_FILE).read_text().strip()
    assert (tmp_path / API_KEY_FILE).stat().st_mode & 0o777 == 0o600
    with serving(app) as base:
        assert requests.get(f"{base}/common/filters/contacts", timeout=10).status_code == 401
        found = requests.get(
            f"{base}/common/filters/contacts", headers={"X-API-Key": key}, timeout=10
        )
        assert found.status_code == 200
    again = ensure_api_key(Settings(home=tmp_path))
    assert [k.get() for k in again.api_keys] == [key]  # kept, not regenerated

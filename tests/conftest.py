"""Session fixtures that reach the real services started by `make services`.

The services' coordinates come from the services.env that tools/services.sh wrote (where:
stores.settings.services_env_path),
never from the test process's own environment, so a developer's shell cannot point the suite
at the wrong server. A missing service fails the test under CI=true and skips it otherwise.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dotenv import dotenv_values

from orchestration.cli import interruptible
from stores.settings import services_env_path

ROOT = Path(__file__).resolve().parents[1]

# A suite started in the background by a script (`make test &`) starts with SIGINT ignored;
# the Dagster runs the tests execute in this process would then leave SIGTERM ignored for
# every process the tests start, which no test could stop. Run it as from a terminal.
interruptible()

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    """Where the loopback services of `make services` listen."""

    env: dict[str, str]

    @property
    def pg_admin_url(self) -> str:
        e = self.env
        return (
            f"postgresql://{e['PG_DB_USERNAME']}:{e['PG_DB_PASSWORD']}"
            f"@{e['PG_DB_HOST']}:{e['PG_DB_PORT']}/postgres"
        )

    def pg_url(self, database: str) -> str:
        return self.pg_admin_url.rsplit("/", 1)[0] + f"/{database}"

    @property
    def search_url(self) -> str:
        return f"http://{self.env['ELASTICSEARCH_HOST']}:{self.env['ELASTICSEARCH_PORT']}"

    @property
    def s3_endpoint(self) -> str:
        return self.env["S3_ENDPOINT"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(service: str, connect: Callable[[], T]) -> T:
    """Connects to a service; a missing one fails under CI (never skips there)."""
    try:
        return connect()
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not there"
        message = f"{service} is not reachable ({type(exc).__name__}: {exc}); run `make services`"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def services() -> Services:
    path = services_env_path(ROOT)
    if not path.exists():
        message = f"{path} is missing; run `make services`"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return Services({k: v for k, v in dotenv_values(path).items() if v is not None})


@contextmanager
def fresh_database(services: Services) -> Iterator[str]:
    """A new PostgreSQL database, dropped afterwards; yields its URL."""
    import psycopg

    name = f"connectra_test_{uuid.uuid4().hex[:8]}"
    admin = need(
        "PostgreSQL",
        lambda: psycopg.connect(services.pg_admin_url, autocommit=True, connect_timeout=5),
    )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield services.pg_url(name)
    finally:
        with psycopg.connect(services.pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database(services: Services) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session; yields its URL."""
    with fresh_database(services) as url:
        yield url


@pytest.fixture(scope="session")
def opensearch(services: Services) -> Any:
    from opensearchpy import OpenSearch

    def connect() -> Any:
        client = OpenSearch(hosts=[services.search_url], timeout=30)
        client.cluster.health(wait_for_status="yellow")
        return client

    return need("OpenSearch", connect)


@pytest.fixture(scope="session")
def elasticsearch8(services: Services) -> tuple[str, int]:
    """(host, port) of the real Elasticsearch 8 node that `CONNECTRA_ES=1 make services`
    starts (tools/elasticsearch/); skipped when services.env names none, as it is opt-in."""
    import urllib.request
    from urllib.parse import urlsplit

    url = services.env.get("CONNECTRA_ES_URL")
    if not url:
        message = "no Elasticsearch 8 node; `CONNECTRA_ES=1 make services` starts one"
        if _in_ci() and os.environ.get("CONNECTRA_ES") == "1":
            pytest.fail(message)  # .ci/run asks for it: missing, it fails, never skips
        pytest.skip(message)
    parts = urlsplit(url)
    assert parts.hostname and parts.port, url

    def connect() -> None:
        health = f"{url}/_cluster/health?wait_for_status=yellow&timeout=30s"
        with urllib.request.urlopen(health, timeout=35):  # noqa: S310 - loopback test node
            pass

    need("Elasticsearch 8", connect)
    return parts.hostname, parts.port


@pytest.fixture(scope="session")
def s3(services: Services) -> Any:
    import boto3

    def connect() -> Any:
        client = boto3.client(
            "s3",
            endpoint_url=services.s3_endpoint,
            aws_access_key_id=services.env["S3_ACCESS_KEY"],
            aws_secret_access_key=services.env["S3_SECRET_KEY"],
            region_name=services.env["S3_REGION"],
        )
        client.head_bucket(Bucket=services.env["S3_BUCKET"])
        return client

    return need("S3 (moto)", connect)


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: index names, S3 prefixes, schemas."""
    return f"t{uuid.uuid4().hex[:10]}"


@contextmanager
def serving(app: Any, threads: int = 8) -> Iterator[str]:
    """The app on a real waitress server on a loopback port (as `connectra api` runs it: 8
    threads); yields its base URL. The server's loop ends first (its map emptied: it stops at
    its next turn, 0.2 s at most), and only then are its sockets closed: closing them under
    a select() still watching them fails that thread with EBADF. The kept-alive client
    channels are closed too, which would otherwise keep the loop waiting for their clients."""
    from waitress.server import create_server

    server: Any = create_server(app, host="127.0.0.1", port=0, threads=threads,
                                asyncore_loop_timeout=0.2, ident="connectra")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        channels = list(server._map.values())  # noqa: SLF001 - waitress has no API for it
        server._map.clear()  # noqa: SLF001
        thread.join(10)
        for channel in channels:  # the server's listener and trigger are among them
            channel.close()
        server.task_dispatcher.shutdown()

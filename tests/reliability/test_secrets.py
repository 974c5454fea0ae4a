"""No secret in logs, error bodies or a load's run metadata.

Every secret here is distinctive, so that finding it anywhere is a leak and never a
coincidence: API keys; a PostgreSQL role of the test's own with its own password; search
engine credentials (the test node has no security plugin and ignores them, but the client
sends them); an S3 secret key (moto takes any). The API runs on a real waitress server over
stores reached through fault proxies, so outages (503s) are part of what is logged; every
logger is captured at DEBUG, third-party libraries included. The run metadata check runs the
real Dagster assets in process on the same settings, through the environment as deployed.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
import requests
from dagster._serdes import serialize_value

from api.app import create_app
from assets.ingest import landed_file, loaded_file
from assets.partitions import LANDED_FILES
from assets.resources import ConnectraResource
from stores.landing import S3LandingZone
from stores.postgres import PostgresRecordStore, migrate
from stores.settings import S3Settings, Secret
from tests.api.conftest import api_settings
from tests.api.dataset import DESIGN_EXAMPLE
from tests.conftest import Services, need, serving
from tests.reliability.conftest import deps, load_dataset, search_store, via
from tests.reliability.faults import TcpProxy
from tests.reliability.hostile_data import HOSTILE

pytestmark = pytest.mark.services
TOKEN = uuid.uuid4().hex[:10]
KEYS = (f"api-key-one-{TOKEN}", f"api-key-two-{TOKEN}")
PG_PASSWORD = f"pg-secret-{TOKEN}"
SEARCH_USER, SEARCH_PASSWORD = "reliability", f"search-secret-{TOKEN}"
S3_ACCESS, S3_SECRET = "AKIARELIABILITY", f"s3-secret-{TOKEN}"
SECRETS = (*KEYS, PG_PASSWORD, SEARCH_PASSWORD, S3_SECRET,
           base64.b64encode(f"{SEARCH_USER}:{SEARCH_PASSWORD}".encode()).decode())


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@dataclass
class Role:
    name: str
    database: str
    url: str  # direct, with the role's password


@pytest.fixture(scope="module")
def role(services: Services) -> Iterator[Role]:
    admin = need("PostgreSQL", lambda: psycopg.connect(services.pg_admin_url, autocommit=True,
                                                       connect_timeout=5))
    name = f"reliab_{TOKEN}"
    with admin:
        admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PG_PASSWORD}'")
        admin.execute(f'CREATE DATABASE "{name}" OWNER {name}')
    env = services.env
    url = f"postgresql://{name}:{PG_PASSWORD}@{env['PG_DB_HOST']}:{env['PG_DB_PORT']}/{name}"
    try:
        migrate(url)
        yield Role(name, name, url)
    finally:
        with psycopg.connect(services.pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"DROP ROLE IF EXISTS {name}")


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # the traceback included, as a log shows it


@pytest.fixture
def captured() -> Iterator[Capture]:
    capture = Capture()
    loggers = [logging.getLogger(), logging.getLogger("connectra.api.access")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG)
    yield capture
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(capture)
        lg.setLevel(level)


def s3_landing(services: Services, prefix: str) -> S3LandingZone:
    env = services.env
    return S3LandingZone(S3Settings(
        bucket=env["S3_BUCKET"], prefix=prefix, region=env["S3_REGION"],
        access_key=Secret(S3_ACCESS), secret_key=Secret(S3_SECRET),
        endpoint=services.s3_endpoint,
    ))


def test_no_secret_in_logs_or_answers(
    services: Services, opensearch: Any, s3: Any, role: Role, captured: Capture, tmp_path: Path,
) -> None:
    env = services.env
    prefix = f"rels{TOKEN}_"
    landing = s3_landing(services, f"reliability/{TOKEN}/")
    landing.put("in/ok.csv", io.BytesIO(b"first_name,last_name,email\nAnn,Smith,a@b.co\n"))
    with (TcpProxy(env["PG_DB_HOST"], int(env["PG_DB_PORT"])) as pg,
          TcpProxy(env["ELASTICSEARCH_HOST"], int(env["ELASTICSEARCH_PORT"])) as engine):
        records = PostgresRecordStore(via(role.url, pg.port), connect_timeout_s=2)
        search = search_store(engine.port, prefix, timeout_seconds=3, username=SEARCH_USER,
                              password=Secret(SEARCH_PASSWORD))
        search.ensure_indices()
        load_dataset(records, search, HOSTILE)
        settings = api_settings(tmp_path, api_keys=tuple(Secret(k) for k in KEYS))
        app_deps = replace(deps(tmp_path, records, search), settings=settings, landing=landing)
        answers: list[requests.Response] = []
        try:
            with serving(create_app(app_deps)) as url:
                answers += exercise(url, landing)
                pg.stop()
                answers += exercise(url, landing)
                pg.start()
                engine.stop()
                answers += exercise(url, landing)
                engine.start()
        finally:
            search.drop_indices()
            search.close()
            records.close()
    statuses = {r.status_code for r in answers}
    assert {200, 400, 401, 404, 405, 413, 503} <= statuses, statuses  # errors were exercised
    for response in answers:
        shown = response.text + "".join(f"{k}: {v}" for k, v in response.headers.items())
        assert not leaks(shown), (response.request.url, leaks(shown))
    logged = "\n".join(captured.lines)
    assert '"status":503' in logged and "backend unavailable" in logged  # outages were logged
    assert not leaks(logged), [line for line in captured.lines if leaks(line)][:5]


def exercise(url: str, landing: S3LandingZone) -> list[requests.Response]:
    good = {"X-API-Key": KEYS[0]}
    calls: list[tuple[str, str, dict[str, str], Any]] = [
        ("GET", "/health", {}, None),
        ("POST", "/contacts/filter", good, DESIGN_EXAMPLE),
        ("POST", "/companies/count", good, {"where": {}}),
        ("POST", "/common/filters/contacts/data", good, {"filter_key": "company_industries",
                                                         "search_text": "s"}),
        ("GET", "/common/upload-url?filename=x.csv", good, None),
        ("POST", "/common/jobs", good, {"file_key": landing.prefix + "in/ok.csv"}),
        ("POST", "/common/jobs", good, {"file_key": "missing.csv"}),
        ("GET", "/common/jobs/5b0e0000-0000-3000-8000-000000000000", good, None),
        ("POST", "/contacts/filter", {"X-API-Key": KEYS[0][:-1]}, {}),
        ("POST", "/contacts/filter", {"X-API-Key": f"{KEYS[0]},{KEYS[1]}"}, {}),
        ("POST", "/contacts/filter", good, {"limt": 5, "where": {"x": 1}}),
        ("POST", "/contacts/filter", good, {"cursor": KEYS[1]}),
        ("GET", "/nowhere", good, None),
        ("DELETE", "/contacts/filter", good, None),
        ("POST", "/contacts/filter", good, {"pad": "x" * (1 << 20)}),
    ]
    out = []
    for method, path, headers, body in calls:
        out.append(requests.request(method, url + path, headers=headers, json=body, timeout=30))
    return out


# -- a load's run metadata ------------------------------------------------------------------


def test_no_secret_in_a_load_s_run_metadata(
    services: Services, opensearch: Any, s3: Any, role: Role, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = services.env
    s3_prefix = f"reliability/{TOKEN}/runs/"
    index_prefix = f"relr{TOKEN}_"
    variables = {
        "API_KEY": ",".join(KEYS), "CONNECTRA_HOME": str(tmp_path / "home"),
        "PG_DB_HOST": env["PG_DB_HOST"], "PG_DB_PORT": env["PG_DB_PORT"],
        "PG_DB_DATABASE": role.database, "PG_DB_USERNAME": role.name,
        "PG_DB_PASSWORD": PG_PASSWORD, "ELASTICSEARCH_HOST": env["ELASTICSEARCH_HOST"],
        "ELASTICSEARCH_PORT": env["ELASTICSEARCH_PORT"], "ELASTICSEARCH_USERNAME": SEARCH_USER,
        "ELASTICSEARCH_PASSWORD": SEARCH_PASSWORD, "SEARCH_ENGINE": "opensearch",
        "SEARCH_INDEX_PREFIX": index_prefix, "S3_BUCKET": env["S3_BUCKET"],
        "S3_PREFIX": s3_prefix, "S3_REGION": env["S3_REGION"], "S3_ENDPOINT": env["S3_ENDPOINT"],
        "S3_ACCESS_KEY": S3_ACCESS, "S3_SECRET_KEY": S3_SECRET, "BATCH_SIZE_FOR_INSERTION": "5",
    }
    for name in ("DATABASE_URL", "SEARCH_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    landing = s3_landing(services, s3_prefix)
    good = "drops/ok.csv"
    landing.put(good, io.BytesIO(b"first_name,last_name,email,title\n" + b"".join(
        b"P%d,Q,p%d@example.com,Engineer\n" % (i, i) for i in range(1200)) + b"Bad,,nope,x\n"))
    bad = "drops/binary.csv"
    landing.put(bad, io.BytesIO(b"PK\x03\x04" + os.urandom(200)))

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(LANDED_FILES, [good, bad])
    try:
        runs = []
        for key in (good, bad):
            result = dg.materialize(
                [landed_file, loaded_file], partition_key=key, instance=instance,
                resources={"connectra": ConnectraResource()}, raise_on_error=False,
            )
            runs.append((key, result))
        assert runs[0][1].success and not runs[1][1].success
        for key, result in runs:
            run = instance.get_run_by_id(result.run_id)
            shown = [serialize_value(run)] + [serialize_value(e) for e in
                                              instance.all_logs(result.run_id)]
            text = "\n".join(shown)
            assert key in text  # the metadata is there...
            assert not leaks(text), (key, leaks(text))  # ...and no secret with it
        metadata = "\n".join(serialize_value(e) for e in instance.all_logs(runs[0][1].run_id))
        assert "rows_read" in metadata and "ids_in_search" in metadata
    finally:
        _drop_indices(index_prefix, env)
        instance.dispose()


def _drop_indices(prefix: str, env: dict[str, str]) -> None:
    try:
        store = search_store(int(env["ELASTICSEARCH_PORT"]), prefix)
        store.drop_indices()
        store.close()
    except Exception:  # noqa: BLE001 - cleanup only; never hide the test's own failure
        traceback.print_exc()

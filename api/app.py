"""The Falcon application: create_app(deps) wires resources to their stores; get_app() (and
api.server.serve) build the deps from the settings (Falcon's `look` example layout).

Nothing here reads the environment or connects at import: get_app() / serve() do, once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import falcon
import orjson

from api.errors import install_error_handlers
from api.exports import (
    FILES_PREFIX,
    ExportFileResource,
    ExportResource,
    ExportsClient,
    ExportStatusResource,
)
from api.filters import FiltersResource, FilterValuesResource
from api.health import HealthResource
from api.insights import ExplainResource, FacetsResource
from api.job_resources import JobsResource
from api.jobs import JobsClient
from api.middleware import (
    AccessControl,
    BodyLimit,
    Compression,
    KeyRing,
    RequestLog,
)
from api.openapi import openapi_document
from api.ratelimit import RateLimiter
from api.records import CountResource, FilterResource
from api.uploads import UploadResource, UploadUrlResource
from dbt_like_sql.query_values import load_rules
from stores.base import RecordStore, SearchStore, Service
from stores.exports.files import ExportFiles, export_files
from stores.landing import LandingZone
from stores.settings import Settings, ensure_api_key, load_settings
from vql.cursor import CursorCodec
from vql.normalizing import ValueRules

log = logging.getLogger("connectra.api")
EXPOSED_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "Retry-After", "X-Request-Id")


@dataclass(frozen=True)
class ApiDeps:
    """What the API runs on. `cursors` must be the codec the search store signs next_cursor
    with; `signing_key` signs the embedded upload URLs (None: derived from the API keys, so
    every process of a deployment agrees); `clock` gives epoch seconds (rate limits, upload
    expiry); `pool` runs concurrent store calls (one is made when None); `rules` normalize
    query values as loads normalize cells (None: the loader's own, dbt_like_sql)."""

    settings: Settings
    records: RecordStore
    search: SearchStore
    landing: LandingZone
    jobs: JobsClient
    cursors: CursorCodec
    clock: Callable[[], float] = time.time
    signing_key: bytes | None = None
    pool: Executor | None = None
    rules: ValueRules | None = None
    exports: ExportsClient | None = None  # None: export runs on the jobs client's Dagster
    export_files: ExportFiles | None = None  # None: where the settings put exports


def create_app(deps: ApiDeps) -> falcon.App:
    settings = deps.settings
    pool = deps.pool or ThreadPoolExecutor(max_workers=8, thread_name_prefix="connectra-api")
    signing_key = deps.signing_key or derived_signing_key(settings)
    rules = deps.rules or load_rules()
    middleware: list[Any] = [RequestLog(), Compression()]
    if settings.cors_origins:
        origins: Any = "*" if "*" in settings.cors_origins else list(settings.cors_origins)
        middleware.append(falcon.CORSMiddleware(allow_origins=origins,
                                                expose_headers=list(EXPOSED_HEADERS)))
    keys = KeyRing(k.get() for k in settings.api_keys)
    if not keys:
        log.warning("no API key is configured: every request but /health gets 401")
    limiter = RateLimiter(settings.max_requests_per_minute, deps.clock)
    middleware += [AccessControl(keys, limiter), BodyLimit()]

    app = falcon.App(middleware=middleware)
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = falcon.media.JSONHandler(
        dumps=json_bytes)
    app.req_options.strip_url_path_trailing_slash = True
    app.resp_options.secure_cookies_by_default = True
    install_error_handlers(app)

    exports = deps.exports or _dagster_exports(deps.jobs)
    files = deps.export_files or export_files(settings)
    services: tuple[Service, ...] = ("contacts", "companies")
    for service in services:
        app.add_route(f"/{service}/filter",
                      FilterResource(service, deps.search, deps.records, deps.cursors, pool,
                                     rules))
        app.add_route(f"/{service}/count",
                      CountResource(service, deps.search, deps.records, pool, rules))
        app.add_route(f"/{service}/facets",
                      FacetsResource(service, deps.search, deps.records, pool, rules))
        app.add_route(f"/{service}/explain", ExplainResource(service, deps.search, rules))
        app.add_route(f"/{service}/export", ExportResource(service, exports, rules))
    app.add_route("/common/filters/{service}", FiltersResource(rules))
    app.add_route("/common/filters/{service}/data", FilterValuesResource(deps.search, rules))
    app.add_route("/common/upload-url", UploadUrlResource(deps.landing, signing_key, deps.clock))
    app.add_route("/common/uploads/{key:path}",
                  UploadResource(deps.landing, signing_key, deps.clock))
    jobs = JobsResource(deps.jobs, deps.landing)
    app.add_route("/common/jobs", jobs)
    app.add_route("/common/jobs/{job_id}", jobs, suffix="job")
    app.add_route("/common/exports/{export_id}",
                  ExportStatusResource(exports, files, settings, signing_key, deps.clock))
    app.add_route(FILES_PREFIX + "{name}",
                  ExportFileResource(files, settings, signing_key, deps.clock))
    app.add_route("/health", HealthResource(health_checks(deps), pool))
    app.add_route("/openapi.json", OpenApiResource())
    return app


def _dagster_exports(jobs: JobsClient) -> ExportsClient:
    from api.dagster_exports import DagsterExportsClient
    from api.dagster_jobs import DagsterJobsClient

    if not isinstance(jobs, DagsterJobsClient):
        raise TypeError("exports need a DagsterJobsClient, or ApiDeps.exports")
    return DagsterExportsClient(jobs)


class OpenApiResource:
    def __init__(self) -> None:
        self.body = json.dumps(openapi_document()).encode("utf-8")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.body
        resp.content_type = falcon.MEDIA_JSON


def health_checks(deps: ApiDeps) -> dict[str, tuple[str, Callable[[], None]]]:
    s = deps.settings
    records = "postgres" if s.postgres is not None else "duckdb"
    search = "duckdb" if s.search is None else (s.search.engine or "search engine")
    landing = "s3" if s.s3 is not None else "folder"
    return {
        "postgres": (records, deps.records.ping),
        "search": (search, deps.search.ping),
        "landing": (landing, deps.landing.ping),
        "dagster": ("dagster", deps.jobs.ping),
    }


# -- deployment ---------------------------------------------------------------------------------


def derived_signing_key(settings: Settings) -> bytes:
    """One key per deployment, stable across processes and restarts: an HMAC of the API keys
    (a deployment with no key at all cannot hand out upload URLs, so any key will do)."""
    material = "\n".join(sorted(k.get() for k in settings.api_keys))
    if not material:
        return secrets.token_bytes(32)
    return hmac.new(b"connectra-upload-url-v1", material.encode(), hashlib.sha256).digest()


def open_deps(settings: Settings) -> ApiDeps:
    """Opens the stores the settings describe (nothing connects until first use)."""
    from api.dagster_jobs import DagsterJobsClient
    from stores.factory import open_stores
    from stores.landing import landing_zone

    stores = open_stores(settings)
    return ApiDeps(
        settings=settings,
        records=stores.records,
        search=stores.search,
        landing=landing_zone(settings),
        jobs=DagsterJobsClient("127.0.0.1", settings.dagster_port),
        cursors=stores.cursors,
    )


def get_app() -> falcon.App:
    """The app for a WSGI server (`waitress-serve --call api.app:get_app`)."""
    return create_app(open_deps(ensure_api_key(load_settings())))


def json_bytes(media: Any) -> bytes:
    """An answer's JSON: orjson (100 contacts: 0.04 against 0.6 ms for the standard
    library), and the standard library's for what orjson refuses (an integer beyond 64
    bits echoed from a query, say), so that every answer the API gave before it still
    gives."""
    try:
        return orjson.dumps(media, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(media, ensure_ascii=False).encode()

"""The real API on waitress, in a process of its own: `python -m bench.api_server WORK PROFILE`.

PROFILE is `production` (PostgreSQL + OpenSearch under the bench's names) or `embedded`
(the bench's DuckDB file). The app is api.app.create_app with the deps api/server.py builds,
served with the same waitress options and thread count (SERVER_THREADS) on a free loopback
port, which the process prints as one JSON line before serving until it is terminated.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from api.app import ApiDeps, create_app
from api.dagster_jobs import DagsterJobsClient
from api.middleware import MAX_UPLOAD_BYTES
from api.server import SERVER_THREADS
from bench.env import INDEX_PREFIX, BenchEnv
from stores.factory import cursor_secret, open_stores
from stores.landing import LocalLandingZone
from vql.cursor import CursorCodec


def build_deps(env: BenchEnv, profile: str) -> ApiDeps:
    settings = env.settings(profile)
    landing = LocalLandingZone(env.landing)
    jobs = DagsterJobsClient("127.0.0.1", 9)  # never asked: no job endpoint is benchmarked
    if profile == "production":
        stores = open_stores(settings, index_prefix=INDEX_PREFIX)
        return ApiDeps(settings=settings, records=stores.records, search=stores.search,
                       landing=landing, jobs=jobs, cursors=stores.cursors)
    from stores.duckdb import DuckDBStore

    cursors = CursorCodec(cursor_secret(settings))
    store = DuckDBStore(env.duckdb_path, cursors=cursors,
                        filter_cache_mb=settings.filter_cache_mb)
    return ApiDeps(settings=settings, records=store, search=store, landing=landing, jobs=jobs,
                   cursors=cursors)


def main() -> None:
    from waitress.server import create_server

    work, profile = Path(sys.argv[1]), sys.argv[2]
    deps = build_deps(BenchEnv.load(work), profile)
    server = create_server(
        create_app(deps), host="127.0.0.1", port=0, threads=SERVER_THREADS, ident="connectra",
        max_request_body_size=MAX_UPLOAD_BYTES, clear_untrusted_proxy_headers=True,
    )
    print(json.dumps({"port": server.effective_port}), flush=True)
    server.run()  # until SIGTERM ends the process


if __name__ == "__main__":
    main()

"""Where the benchmark runs: the services of `make services`, isolated names, the work folder.

Everything the bench touches is its own: the PostgreSQL database `connectra_bench` (dropped
and created at the start), indices under the prefixes `bench_` (the loaded data) and
`bench_raw_` (the raw `_bulk` limit), the dlt dataset `bench_dlt` inside that database, and
a work folder (default `.connectra/bench`) holding the generated CSVs, the normalized
Parquet batches and the embedded DuckDB file. The coordinates of the services come from
the services.env of `make services` (stores.settings.services_env_path), as for the tests,
never from the caller's shell.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from stores.settings import Settings, services_env_path, settings_from_mapping

ROOT = Path(__file__).resolve().parents[1]
# CONNECTRA_BENCH_TAG gives a bench run names of its own (database, index prefixes), so two
# runs sharing the services (two worktrees) never drop each other's data.
_TAG = os.environ.get("CONNECTRA_BENCH_TAG", "")
DATABASE = f"connectra_bench{_TAG}"
INDEX_PREFIX = f"bench{_TAG}_"
RAW_INDEX_PREFIX = f"bench{_TAG}_raw_"
DLT_DATASET = f"bench{_TAG}_dlt"
CURSOR_SECRET = "connectra-bench-cursor-secret-0123456789"  # noqa: S105 - loopback bench
API_KEY = "bench-key-0123456789abcdef"


@dataclass(frozen=True)
class BenchEnv:
    """The services' variables plus the bench's overrides, and the folders it writes."""

    services: dict[str, str]
    work: Path
    results: Path = field(default=ROOT / "bench" / "results")

    @classmethod
    def load(cls, work: Path | None = None) -> BenchEnv:
        path = services_env_path(ROOT)
        if not path.is_file():
            raise SystemExit(f"{path} is missing: run `make services` first")
        values = {k: v for k, v in dotenv_values(path).items() if v is not None}
        work = (work or ROOT / ".connectra" / "bench").resolve()
        work.mkdir(parents=True, exist_ok=True)
        return cls(values, work)

    @property
    def landing(self) -> Path:
        return self.work / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.work / "embedded" / "connectra.duckdb"

    def variables(self, profile: str = "production") -> dict[str, str]:
        """The environment of a Connectra process of the bench (the loader, the API)."""
        env = {
            "API_KEY": API_KEY,
            "CURSOR_SECRET": CURSOR_SECRET,
            "MAX_REQUESTS_PER_MINUTE": "1000000000",  # the rate limiter must not shape a bench
            "CONNECTRA_HOME": str(self.work / "home"),
            "SEARCH_INDEX_PREFIX": INDEX_PREFIX,
        }
        if os.environ.get("FILTER_CACHE_MB"):  # bench/filter_cache.py turns it off
            env["FILTER_CACHE_MB"] = os.environ["FILTER_CACHE_MB"]
        if profile == "production":
            keep = ("PG_DB_HOST", "PG_DB_PORT", "PG_DB_USERNAME", "PG_DB_PASSWORD", "PG_DB_SSL",
                    "ELASTICSEARCH_HOST", "ELASTICSEARCH_PORT", "ELASTICSEARCH_SSL",
                    "SEARCH_ENGINE")
            env.update({k: self.services[k] for k in keep if k in self.services})
            env["PG_DB_DATABASE"] = DATABASE
        return env

    def settings(self, profile: str = "production") -> Settings:
        return settings_from_mapping(self.variables(profile))

    # -- PostgreSQL -------------------------------------------------------------------------

    def pg_url(self, database: str = DATABASE, driver: str = "postgresql") -> str:
        e = self.services
        return (f"{driver}://{e['PG_DB_USERNAME']}:{e['PG_DB_PASSWORD']}"
                f"@{e['PG_DB_HOST']}:{e['PG_DB_PORT']}/{database}")

    def recreate_database(self) -> None:
        """Drops and creates connectra_bench, then brings it to the newest schema."""
        import psycopg

        from stores.postgres import migrate

        with psycopg.connect(self.pg_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
        migrate(self.pg_url())

    def drop_database(self) -> None:
        import psycopg

        with psycopg.connect(self.pg_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')

    # -- OpenSearch -------------------------------------------------------------------------

    @property
    def search_url(self) -> str:
        return f"http://{self.services['ELASTICSEARCH_HOST']}:{self.services['ELASTICSEARCH_PORT']}"

    def opensearch(self, timeout: float = 120.0) -> Any:
        from opensearchpy import OpenSearch

        # pool_maxsize: urllib3 keeps one connection per host otherwise, and concurrent
        # requests would each open (and drop) a TCP connection.
        return OpenSearch(hosts=[self.search_url], timeout=timeout, pool_maxsize=8)

    def drop_indices(self, *prefixes: str) -> None:
        """Deletes the versioned indices behind the bench's aliases (never anyone else's)."""
        from stores.search import make_search_store

        settings = self.settings()
        assert settings.search is not None
        for prefix in prefixes or (INDEX_PREFIX, RAW_INDEX_PREFIX):
            store = make_search_store(settings.search, prefix)
            try:
                store.drop_indices()
            finally:
                store.close()

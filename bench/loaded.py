"""A sample file loaded by the real loader into stores of one bench's own.

The side benches (facets, exports, reindex) each measure against data the loader wrote, in
names nobody else uses: for the name `facets`, the PostgreSQL database
`connectra_bench_facets`, the index prefix `bench_facets_` and, embedded, the DuckDB file
under `<work>/facets-home`. :meth:`BenchDataset.load` drops whatever a previous run left
there, creates the database at the newest schema and loads the sample file of `rows` rows
(generated once per size under the work folder's landing) with `load_file`, as a run does;
:meth:`BenchDataset.drop` removes all of it.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench.data import BATCH_SIZE_FOR_INSERTION, sample_file
from bench.env import BenchEnv


@dataclass(frozen=True)
class BenchDataset:
    env: BenchEnv
    name: str

    @property
    def database(self) -> str:
        return f"connectra_bench_{self.name}"

    @property
    def prefix(self) -> str:
        return f"bench_{self.name}_"

    @property
    def home(self) -> Path:
        return self.env.work / f"{self.name}-home"

    def variables(self, profile: str = "production") -> dict[str, str]:
        """The environment of a Connectra process (loader, API, job) over this dataset."""
        out = {**self.env.variables(profile), "SEARCH_INDEX_PREFIX": self.prefix,
               "CONNECTRA_HOME": str(self.home)}
        if profile == "production":
            out["PG_DB_DATABASE"] = self.database
        return out

    def drop(self, *more_prefixes: str) -> None:
        self.env.drop_indices(self.prefix, *more_prefixes)
        with psycopg.connect(self.env.pg_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.home, ignore_errors=True)

    def load(self, rows: int, profiles: tuple[str, ...] = ("production",)) -> dict[str, Any]:
        """Loads the sample file of `rows` rows into each profile; per profile: rows read and
        loaded, the loader's wall seconds, and the documents the search side then holds."""
        from assets.loading import load_file
        from stores.factory import open_stores
        from stores.landing import LocalLandingZone
        from stores.postgres import migrate
        from stores.settings import settings_from_mapping

        self.drop()
        with psycopg.connect(self.env.pg_url("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        migrate(self.env.pg_url(self.database))
        sample, _ = sample_file(self.env.landing, rows)
        out: dict[str, Any] = {}
        for profile in profiles:
            stores = open_stores(settings_from_mapping(self.variables(profile)))
            try:
                stores.search.ensure_indices()
                started = time.perf_counter()
                counts = load_file(LocalLandingZone(self.env.landing), sample.key, stores,
                                   f"bench-{self.name}", batch_rows=BATCH_SIZE_FOR_INSERTION)
                seconds = time.perf_counter() - started
                stores.search.refresh()
                stores.records.mark_loaded(f"bench-{self.name}")  # a dataset version exists
                out[profile] = {
                    "rows": rows, "rows_read": counts.rows_read,
                    "rows_loaded": counts.rows_loaded, "load_seconds": round(seconds, 2),
                    "load_rows_per_s": round(counts.rows_read / seconds, 1),
                    "contacts": stores.search.count("contacts", None),
                    "companies": stores.search.count("companies", None),
                }
            finally:
                stores.close()
        return out

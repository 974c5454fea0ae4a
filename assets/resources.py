"""The Dagster resource that hands assets and sensors their stores.

Settings come from the environment of the process that runs the step (the run worker, the
daemon), never from the resource's config: nothing secret is stored in Dagster's run config
or shown in its UI. Stores are opened on first use and kept for the life of the process.
"""

from __future__ import annotations

import contextlib
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from stores.errors import IndexMissing
from stores.factory import Stores, open_stores
from stores.landing import LandingZone, landing_zone
from stores.settings import Settings, load_settings


class ConnectraResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Connectra's settings and stores (PostgreSQL + search engine, or embedded DuckDB)."""

    _settings: Settings | None = PrivateAttr(default=None)
    _stores: Stores | None = PrivateAttr(default=None)
    _landing: LandingZone | None = PrivateAttr(default=None)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def stores(self) -> Stores:
        if self._stores is None:
            self._stores = open_stores(self.settings())
        return self._stores

    def landing(self) -> LandingZone:
        if self._landing is None:
            self._landing = landing_zone(self.settings())
        return self._landing

    def ping(self) -> None:
        """Raises (a StoreError, mostly TransientStoreError) unless every store a load uses
        answers: the landing zone, the record store and the search store. An engine that
        answers with no index behind an alias is ready for a load: the load creates it
        (ensure_indices), as after a load that failed before it wrote anything."""
        self.landing().ping()
        stores = self.stores()
        stores.records.ping()
        if stores.search is not stores.records:
            with contextlib.suppress(IndexMissing):
                stores.search.ping()

    def teardown_after_execution(self, context: Any) -> None:
        if self._stores is not None:
            self._stores.close()
            self._stores = None

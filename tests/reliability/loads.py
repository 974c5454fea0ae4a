"""Sample files and the ids they hold, for the load-fault and cluster tests."""

from __future__ import annotations

from pathlib import Path

from assets.loading import READ_BATCH_FACTOR, load_file
from orchestration.sample_data import read_manifest, write_sample_files
from stores.duckdb import DuckDBStore
from stores.factory import Stores
from stores.landing import LocalLandingZone
from tests.reliability.conftest import CODEC

BATCH_ROWS = 1_000 // READ_BATCH_FACTOR  # 1,000 rows per read batch
KEY = "drops/contacts.csv"


def sample(tmp_path: Path, rows: int, seed: int) -> tuple[Path, dict[str, int]]:
    [path] = write_sample_files(rows, tmp_path / f"gen{seed}", seed=seed)
    return path, read_manifest(path).expected


def reference_ids(tmp_path: Path, path: Path) -> dict[str, set[str]]:
    """The ids the file holds: what a fault-free load into the embedded store finds."""
    landing = LocalLandingZone(tmp_path / "reference-landing")
    with path.open("rb") as stream:
        landing.put(KEY, stream)
    store = DuckDBStore(tmp_path / "reference.duckdb")
    store.ensure_indices()
    load_file(landing, KEY, Stores(store, store, CODEC), "reference", batch_rows=BATCH_ROWS)
    return {s: set(store.ids_for_file(s, KEY)) for s in ("contacts", "companies")}  # type: ignore[misc]

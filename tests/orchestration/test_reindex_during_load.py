"""A reindex while loads write: nothing a load wrote is lost at the alias swap.

Real services, as in test_reindex.py (whose fixtures these tests use): a fresh database and
an index prefix of the test's own.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from assets.loading import READ_BATCH_FACTOR, load_file
from orchestration.reindex import ServiceProgress, reindex
from orchestration.sample_data import write_sample_files
from stores.factory import Stores
from stores.landing import LocalLandingZone
from tests.agreement import COMPARED_ONLY, assert_stores_agree
from tests.orchestration.test_reindex import documents


def land(landing: LocalLandingZone, tmp_path: Path, key: str, rows: int, seed: int) -> str:
    [path] = write_sample_files(rows, tmp_path / f"gen-{seed}", seed=seed)
    with path.open("rb") as stream:
        landing.put(key, stream)
    return key


def load(stores: Stores, landing: LocalLandingZone, key: str, run: str) -> None:
    """One read batch per file (4,000 rows)."""
    load_file(landing, key, stores, run, batch_rows=4_000 // READ_BATCH_FACTOR)


def test_what_a_load_writes_during_the_rebuild_is_in_the_new_index(
    stores: Stores, opensearch: Any, prefix: str, tmp_path: Path
) -> None:
    """Loads that run entirely while the new contacts index is being built (they start at
    its first batch and finish before the rebuild goes on): new records, and every old
    record reloaded from another file (a change of provenance only). Before the carry-over,
    all of it was written to the old index only and deleted with it at the swap. (The
    companies index is swapped by then: the loads write it as they would with no reindex.)"""
    landing = LocalLandingZone(tmp_path / "landing")
    first = land(landing, tmp_path, "batch/first.csv", 2_000, seed=11)
    load(stores, landing, first, "run-1")
    more = land(landing, tmp_path, "batch/more.csv", 1_000, seed=12)
    again = "batch/first-again.csv"
    with (tmp_path / "gen-11").glob("*.csv").__next__().open("rb") as stream:
        landing.put(again, stream)

    def meanwhile(state: ServiceProgress) -> None:
        if state.service == "contacts" and state.batches == 1:
            load(stores, landing, more, "run-2")
            load(stores, landing, again, "run-3")

    report = reindex(stores, batch_rows=500, progress=meanwhile)

    contacts = report.services[1]
    assert contacts.caught_up > 0, report.describe()
    held = documents(opensearch, f"{prefix}contacts")
    runs = {doc["load_run"] for doc in held.values()}
    assert runs == {"run-2", "run-3"}, runs  # the reload moved every first-file record
    companies_as_loaded = {"companies": COMPARED_ONLY["companies"]}
    assert_stores_agree(stores, opensearch, prefix, compare=companies_as_loaded)


def test_loads_running_through_a_reindex_end_with_the_stores_agreeing(
    stores: Stores, opensearch: Any, prefix: str, tmp_path: Path
) -> None:
    """Files loaded one after another by a thread while a reindex runs, the first one
    landing during the snapshot for sure, the others wherever they fall (the catch-up, the
    swap, after it)."""
    landing = LocalLandingZone(tmp_path / "landing")
    load(stores, landing, land(landing, tmp_path, "batch/base.csv", 1_500, seed=21), "run-0")
    keys = [land(landing, tmp_path, f"batch/next-{n}.csv", 400, seed=30 + n) for n in range(4)]
    started = threading.Event()
    first_in = threading.Event()
    loaded: list[tuple[str, float]] = []
    errors: list[BaseException] = []

    def loader() -> None:
        started.wait(60)
        try:
            for n, key in enumerate(keys):
                load(stores, landing, key, f"run-{n + 1}")
                loaded.append((key, time.monotonic()))
                first_in.set()
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
            first_in.set()

    def progress(state: ServiceProgress) -> None:
        if state.service == "contacts" and state.batches == 1:
            started.set()
            first_in.wait(60)  # at least one load lands after the snapshot began

    thread = threading.Thread(target=loader)
    thread.start()
    try:
        report = reindex(stores, batch_rows=200, progress=progress)
        swapped = time.monotonic()
    finally:
        started.set()
        thread.join(120)
    assert not errors, errors
    assert [k for k, _ in loaded] == keys
    assert sum(s.caught_up for s in report.services) > 0, report.describe()
    print(f"loads after the swap: {sum(t > swapped for _, t in loaded)} of {len(keys)}")
    assert_stores_agree(stores, opensearch, prefix, compare=COMPARED_ONLY)

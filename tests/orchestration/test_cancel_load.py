"""Terminating a real embedded load is CANCELED within seconds, whatever the load waits on.

The real assets and the real load (CSV -> normalizer -> DuckDB file) run in process, as the
run worker runs them, and are terminated the way Dagster's launcher does it: the run marked
CANCELING, then SIGINT to the process. Python delivers the signal to the main thread only, so
what the step waits on elsewhere decides how long the run stays CANCELING:

- the batch write in flight on the loader's writer thread, waiting for its turn on the DuckDB
  file while another process holds it (a DuckDB shell, a notebook, a stuck reader): before
  the fix it waited out its 60 s write deadline, the run CANCELING all along;
- the pause before a transient retry: Dagster holds interrupts back while it sleeps between
  attempts, so a run terminated then stayed CANCELING until the pause (up to 60 s) was over.

Both measured 44-60 s before the fix. The tests then check what a user would: no thread of
the load is left, the DuckDB file opens and holds what was committed (part of the file, no
contact without its company), and running the file again loads it once (the manifest's
counts, the very ids of a load that was never interrupted). The module takes about 16 s of
CPU (one sample, its reference load, three runs): 60 s of wall time on 2 cores shared with
a load average of 15, well under a minute on a machine of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

import assets.ingest as ingest_assets
import assets.loading as loading
from assets.loading import READ_BATCH_FACTOR
from assets.partitions import LANDED_FILES
from assets.resources import ConnectraResource
from orchestration import export_job, reindex_job
from orchestration.sample_data import read_manifest, write_sample_files
from stores.duckdb import DuckDBStore
from stores.errors import TransientStoreError
from tests.reliability.loads import reference_ids

KEY = "drops/people.csv"
ROWS = 3_000  # three read batches: one written, one waiting, one being normalized
BATCH_SIZE_FOR_INSERTION = 1_000 // READ_BATCH_FACTOR  # 1,000 rows per read batch
BOUND_SECONDS = 30.0  # from Terminate to CANCELED, what a user waits at most
PROFILE_VARS = (
    "PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL", "S3_BUCKET",
    "SEARCH_ENGINE", "DAGSTER_HOME",
)  # fmt: skip
# Opens the file read-only as soon as the loader lets it (it closes the file after each write)
# and keeps it open, as a DuckDB shell would.
HOLDER = """
import sys, time, duckdb
while True:
    try:
        con = duckdb.connect(sys.argv[1], read_only=True)
        break
    except duckdb.Error:
        time.sleep(0.01)
print("holding", flush=True)
time.sleep(600)
"""
LOAD_THREADS = ("connectra-write", "csv-prefetch")


class Embedded:
    def __init__(self, home: Path, instance: dg.DagsterInstance, sample: Sample) -> None:
        self.home, self.instance, self.sample = home, instance, sample
        self.store = DuckDBStore(home / "connectra.duckdb")

    def materialize(self) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [ingest_assets.landed_file, ingest_assets.loaded_file],
            instance=self.instance,
            partition_key=KEY,
            resources={"connectra": ConnectraResource()},
            raise_on_error=False,
        )

    def status(self, result: dg.ExecuteInProcessResult) -> dg.DagsterRunStatus:
        run = self.instance.get_run_by_id(result.run_id)
        assert run is not None
        return run.status

    def terminate_when(self, ready: threading.Event, stamp: list[float]) -> threading.Thread:
        """Terminates the (only) running run once `ready` is set, as DefaultRunLauncher does:
        CANCELING first, then SIGINT to the run worker (this process)."""

        def terminate() -> None:
            if not ready.wait(120):
                return
            [record] = self.instance.get_run_records(
                dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
            )
            self.instance.report_run_canceling(record.dagster_run)
            stamp.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

        thread = threading.Thread(target=terminate, daemon=True)
        thread.start()
        return thread

    def hold_file(self) -> subprocess.Popen[str]:
        """Another process with the DuckDB file open (read-only, as a DuckDB shell would)."""
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(self.store.path)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        return proc


@dataclass(frozen=True)
class Sample:
    path: Path
    expected: dict[str, int]  # the manifest's counts
    ids: dict[str, set[str]]  # what a load that was never interrupted holds


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    tmp = tmp_path_factory.mktemp("sample")
    [path] = write_sample_files(ROWS, tmp, seed=5)
    return Sample(path, read_manifest(path).expected, reference_ids(tmp / "reference", path))


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample: Sample) -> Iterator[Embedded]:
    for name in PROFILE_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("CONNECTRA_HOME", str(home))
    monkeypatch.setenv("BATCH_SIZE_FOR_INSERTION", str(BATCH_SIZE_FOR_INSERTION))
    monkeypatch.chdir(tmp_path)  # no developer's .env
    landed = home / "landing" / KEY
    landed.parent.mkdir(parents=True)
    landed.write_bytes(sample.path.read_bytes())
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(LANDED_FILES, [KEY])
        running = Embedded(home, instance, sample)
        running.store.migrate()
        yield running


def loaded_once(embedded: Embedded) -> None:
    """The file run again after the cancel: SUCCESS, the manifest's counts, and the very ids
    of a load that was never interrupted."""
    again = embedded.materialize()
    assert again.success and embedded.status(again) == dg.DagsterRunStatus.SUCCESS
    [counts] = [
        m.metadata for m in again.asset_materializations_for_node("loaded_file")
        if m.asset_key == ingest_assets.RECORDS
    ]  # fmt: skip
    expected = embedded.sample.expected
    assert {k: counts[f"rows_{k}"].value for k in expected} == expected
    store, reference = embedded.store, embedded.sample.ids
    assert {s: set(store.ids_for_file(s, KEY)) for s in ("contacts", "companies")} == reference
    assert store.count_rows("contacts") == len(reference["contacts"])
    assert store.count_rows("companies") == len(reference["companies"])
    assert orphaned_contacts(store.path) == 0


def orphaned_contacts(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute(
            "SELECT count(*) FROM contacts c LEFT JOIN companies co ON co.id = c.company_id "
            "WHERE c.company_id IS NOT NULL AND co.id IS NULL"
        ).fetchone()
    return int(row[0]) if row else -1


def load_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(LOAD_THREADS)]


def test_a_load_waiting_for_the_file_is_canceled_within_seconds(
    embedded: Embedded, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batch 1 is written whole, then another process takes the file before batch 2's write
    # starts: that write waits for its turn when the run is terminated. The file is taken
    # between two writes (the loader never overlaps them); taken while batch 1 was still
    # writing, batch 1 would be the one waiting, and the load would retry instead.
    holder: list[subprocess.Popen[str]] = []
    second_write_waiting = threading.Event()
    real_write_batch: Any = loading.write_batch

    def write_batch(*args: Any, **kwargs: Any) -> Any:
        writes = real_write_batch(*args, **kwargs)
        if second_write_waiting.is_set():  # the rerun after the cancel
            pass
        elif holder:  # batch 2's write was handed to the writer thread, the file held
            second_write_waiting.set()
        else:  # batch 1: take the file once its write is in
            wait([writes.done])
            holder.append(embedded.hold_file())
        return writes

    monkeypatch.setattr(loading, "write_batch", write_batch)
    stamp: list[float] = []
    embedded.terminate_when(second_write_waiting, stamp)
    try:
        result = embedded.materialize()
        ended = time.monotonic()
    finally:
        for proc in holder:
            proc.kill()
            proc.wait()

    assert stamp, "the load ended before it could be terminated"
    canceled_after = ended - stamp[0]
    print(f"CANCELED {canceled_after:.1f} s after the terminate")
    assert embedded.status(result) == dg.DagsterRunStatus.CANCELED
    assert canceled_after < BOUND_SECONDS
    assert not [e for e in result.all_events
                if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]  # fmt: skip
    assert load_threads() == []
    # The file opens and holds part of the file, consistently: no contact without its company.
    partial = {s: set(embedded.store.ids_for_file(s, KEY)) for s in ("contacts", "companies")}
    assert 0 < len(partial["contacts"]) < len(embedded.sample.ids["contacts"])
    assert partial["contacts"] <= embedded.sample.ids["contacts"]
    assert orphaned_contacts(embedded.store.path) == 0
    loaded_once(embedded)


def _run_job(job: dg.JobDefinition, config: dict[str, Any] | None = None) -> Callable[
    [Embedded], dg.ExecuteInProcessResult
]:
    def run(embedded: Embedded) -> dg.ExecuteInProcessResult:
        return job.execute_in_process(
            run_config=config, instance=embedded.instance,
            resources={"connectra": ConnectraResource()}, raise_on_error=False,
        )  # fmt: skip

    return run


# Per job: the module whose work meets the store away, that work's name, and how to run it.
IN_PAUSE: dict[str, tuple[Any, str, Callable[[Embedded], dg.ExecuteInProcessResult]]] = {
    "ingest": (ingest_assets, "load_file", Embedded.materialize),
    "reindex": (reindex_job, "reindex", _run_job(reindex_job.reindex_job)),
    "export": (export_job, "run_export", _run_job(
        export_job.export_job,
        {"ops": {"write_export": {"config": {"service": "contacts", "format": "csv"}}}},
    )),
}


@pytest.mark.parametrize("job", IN_PAUSE)
def test_a_run_terminated_while_it_waits_to_retry_is_canceled_within_seconds(
    embedded: Embedded, monkeypatch: pytest.MonkeyPatch, job: str
) -> None:
    # A transient store error, then a long pause before the retry (a store away for a while):
    # the run is terminated during the pause. Before the pause was waited in the step
    # (assets/retries.py), Dagster held the interrupt back until the pause was over.
    module, work, run = IN_PAUSE[job]
    monkeypatch.setattr(module, "TRANSIENT_RETRY", dg.RetryPolicy(max_retries=3, delay=45))
    in_pause = threading.Event()

    def store_away(*args: Any, **kwargs: Any) -> Any:
        threading.Timer(2.0, in_pause.set).start()  # well into the pause
        raise TransientStoreError("duckdb", "could not write to the database within 60 s")

    monkeypatch.setattr(module, work, store_away)
    stamp: list[float] = []
    embedded.terminate_when(in_pause, stamp)

    result = run(embedded)
    canceled_after = time.monotonic() - stamp[0]

    print(f"{job}: CANCELED {canceled_after:.1f} s after the terminate")
    assert embedded.status(result) == dg.DagsterRunStatus.CANCELED
    assert canceled_after < 10.0  # the pause was 45 s
    assert load_threads() == []
    assert embedded.store.count_rows("contacts") == 0

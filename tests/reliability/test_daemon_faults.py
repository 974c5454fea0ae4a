"""Faults met by the running system: `connectra up` on the production profile, with the real
dagster-daemon (landing sensor, run queue, run retries, run monitoring) and the real run
workers, PostgreSQL + OpenSearch of `make services` (a database, index prefix and S3 prefix
of its own) and the S3 landing zone reached through a fault proxy in front of moto.

- S3 unreachable for several sensor ticks: every tick of the outage is skipped with a clear
  reason, the stored cursor does not move, no run is requested; the first tick after the
  endpoint returns requests the file that landed meanwhile, once, and it loads once.
- The run worker SIGKILLed in the middle of a load: the run is marked failed (by the code
  server that spawned the worker, which watches its child processes; run monitoring plays
  no part, the default run launcher cannot check a worker's health), run retries start a
  retry from the failed step, and the file ends loaded exactly once.
- The run worker SIGKILLed together with that code server (as when the daemon's process
  group dies): the code server cannot report it, so Connectra's orphaned-run sensor fails the
  run (its worker pid gone at two ticks) and run retries load the file again, once.
- The dagster-daemon itself SIGKILLed (only it), mid-run and the moment a run is queued or
  starting: `connectra up` starts it again (orchestration/supervisor.py; before, it stopped
  everything), the run in flight finishes under the killed daemon's code server, a run
  queued meanwhile is launched by the new daemon, the sensors tick again, every file loads
  once and no run is left unfinished.

Slow (~9 minutes together: `connectra up` takes 15-40 s to start on 2 busy cores, each run is
a new process, the orphan waits up to 150 s). One `connectra up` serves the three tests.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import psycopg
import pytest
from dagster._core.scheduler.instigation import InstigatorType, TickStatus

from assets.loading import stores_agree
from assets.partitions import FILE_KEY_TAG
from orchestration.instance import dagster_env, instance_config
from stores.factory import Stores
from stores.postgres import PostgresRecordStore
from stores.search import SearchEngineStore
from stores.settings import settings_from_mapping
from tests.api.conftest import free_port
from tests.conftest import Services, fresh_database
from tests.reliability.asset_runs import search_store
from tests.reliability.conftest import CODEC
from tests.reliability.faults import TcpProxy, wait_until
from tests.reliability.loads import reference_ids, sample

pytestmark = pytest.mark.services
T = TypeVar("T")
TICK_SECONDS = 3  # TICKER_INTERVAL_MINUTES=0.05
OUTAGE_TICKS = 3
FIRST_KEY, OUTAGE_KEY, BIG_KEY = "drops/first.csv", "drops/during-outage.csv", "drops/big.csv"
FIRST_CSV = b"email,first_name,company_name\nada@analytical.io,Ada,Analytical Engines\n"
PROFILE_VARS = (
    "API_KEY", "PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL",
    "SEARCH_ENGINE", "S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT", "DAGSTER_HOME",
)  # fmt: skip
PARENT_RUN_TAG = "dagster/parent_run_id"
RETRY_NUMBER_TAG = "dagster/retry_number"
DONE = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def eventually(check: Callable[[], T | None], seconds: float, what: str, step: float = 0.5) -> T:
    deadline = time.monotonic() + seconds
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"{what} did not happen in {seconds} s (last: {last!r})")


@dataclass
class Up:
    """A running `connectra up` and what the tests reach it through."""

    proc: subprocess.Popen[bytes]
    home: Path
    log: Path
    instance: dg.DagsterInstance
    proxy: TcpProxy  # the S3 endpoint Connectra knows
    s3: Any  # boto3 client straight to moto (files land there even while the proxy is down)
    bucket: str
    s3_prefix: str
    database: str
    records: PostgresRecordStore
    search: SearchEngineStore
    env: dict[str, str] = field(default_factory=dict)  # what `connectra up` was started with

    def land(self, key: str, body: bytes) -> None:
        self.s3.upload_fileobj(io.BytesIO(body), self.bucket, self.s3_prefix + key)

    def runs(self, key: str) -> list[dg.DagsterRun]:
        """The runs of a file, oldest first."""
        records = self.instance.get_run_records(dg.RunsFilter(tags={FILE_KEY_TAG: key}))
        return [r.dagster_run for r in reversed(records)]

    def wait_run(self, key: str, seconds: float = 240) -> dg.DagsterRun:
        def finished() -> dg.DagsterRun | None:
            runs = self.runs(key)
            return runs[-1] if runs and runs[-1].status in DONE else None

        return eventually(finished, seconds, f"a finished run of {key}")

    def sensor_state(self, sensor: str = "landing_sensor") -> Any:
        states = self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        return next((s for s in states if s.instigator_name == sensor), None)

    def ticks(self, after: float = 0.0, sensor: str = "landing_sensor") -> list[Any]:
        """A sensor's finished ticks that started after `after`, oldest first."""
        state = self.sensor_state(sensor)
        if state is None:
            return []
        ticks = self.instance.get_ticks(state.instigator_origin_id, state.selector_id,
                                        after=after, limit=500)
        return sorted((t for t in ticks if t.status != TickStatus.STARTED),
                      key=lambda t: t.timestamp)

    def cursor(self) -> str | None:
        state = self.sensor_state()
        return None if state is None else state.instigator_data.cursor

    def contacts(self) -> int:
        with psycopg.connect(self.database, autocommit=True) as connection:
            row = connection.execute("SELECT count(*) FROM contacts").fetchone()
            return int(row[0]) if row else 0

    def log_tail(self) -> str:
        logs = [self.log, *sorted((self.home / "logs").glob("*.log"))]
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in logs if p.exists())


@pytest.fixture(scope="module")
def up(services: Services, s3: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    name = f"reld{uuid.uuid4().hex[:8]}"
    tmp = tmp_path_factory.mktemp("daemon")
    home = tmp / "home"
    home.mkdir()
    e = services.env
    host, port = services.s3_endpoint.removeprefix("http://").split(":")
    with ExitStack() as stack:
        proxy = stack.enter_context(TcpProxy(host, int(port)))
        database = stack.enter_context(fresh_database(services))
        env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
        env.update(
            CONNECTRA_HOME=str(home), API_PORT=str(free_port()), DAGSTER_PORT=str(free_port()),
            TICKER_INTERVAL_MINUTES="0.05", BATCH_SIZE_FOR_INSERTION="10",
            API_KEY="reliability-daemon-key", DATABASE_URL=database,
            SEARCH_URL=services.search_url, SEARCH_ENGINE="opensearch",
            SEARCH_INDEX_PREFIX=f"{name}_", S3_BUCKET=e["S3_BUCKET"], S3_PREFIX=f"{name}/",
            S3_ENDPOINT=proxy.url, S3_REGION=e["S3_REGION"], S3_ACCESS_KEY=e["S3_ACCESS_KEY"],
            S3_SECRET_KEY=e["S3_SECRET_KEY"],
        )  # fmt: skip
        log = tmp / "up.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "connectra"), "up", "--sample-rows", "0"],
                env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

        def stop() -> None:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

        stack.callback(stop)
        ready = wait_until(
            lambda: b"Ctrl-C stops everything" in log.read_bytes() or proc.poll() is not None,
            timeout=300, step=0.5,
        )  # fmt: skip
        assert ready and proc.poll() is None, log.read_text(errors="replace")[-4000:]
        monkeypatch = stack.enter_context(pytest.MonkeyPatch.context())
        for variable, value in dagster_env(settings_from_mapping(env)).items():
            monkeypatch.setenv(variable, value)  # the instance's storage URL, for this process
        instance = stack.enter_context(dg.DagsterInstance.from_config(str(home / "dagster")))
        records = PostgresRecordStore(database)
        stack.callback(records.close)
        search = search_store(services.search_url, f"{name}_")
        stack.callback(search.close)
        stack.callback(search.drop_indices)
        running = Up(proc, home, log, instance, proxy, s3, e["S3_BUCKET"], f"{name}/", database,
                     records, search, env)
        eventually(lambda: running.ticks(), 120, "a first tick of the landing sensor")
        yield running


def test_run_monitoring_is_on_and_fits_the_default_launcher() -> None:
    """Fast: the instance's monitoring settings load with the default run launcher (which
    refuses max_resume_run_attempts > 0) and are switched on."""
    settings = settings_from_mapping({"CONNECTRA_HOME": "/tmp/connectra-monitoring-check"})
    config = instance_config(settings)
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["max_resume_run_attempts"] == 0
    assert config["run_retries"]["enabled"] is True
    with dg.instance_for_test(overrides={
        k: v for k, v in config.items() if k in {"run_monitoring", "run_retries"}
    }) as instance:  # fmt: skip
        assert instance.run_monitoring_enabled
        assert not instance.run_launcher.supports_check_run_worker_health
        assert "MONITORING" in instance.get_required_daemon_types()


@pytest.mark.slow
def test_s3_unreachable_for_several_ticks_then_the_file_loads_once(
    up: Up, tmp_path: Path
) -> None:
    # A first file, before the outage: the cursor has something to keep.
    up.land(FIRST_KEY, FIRST_CSV)
    assert up.wait_run(FIRST_KEY).status == dg.DagsterRunStatus.SUCCESS
    before = up.cursor()
    assert before is not None and FIRST_KEY in before

    path, expected = sample(tmp_path, 2_000, seed=61)
    reference = reference_ids(tmp_path, path)  # the ids under loads.KEY
    up.proxy.stop()
    stopped = time.time()
    up.land(OUTAGE_KEY, path.read_bytes())
    outage = eventually(lambda: (t := up.ticks(stopped + 0.5))[OUTAGE_TICKS - 1 :] and t,
                        OUTAGE_TICKS * TICK_SECONDS + 90, f"{OUTAGE_TICKS} ticks without S3")
    try:
        for tick in outage:
            assert tick.status == TickStatus.SKIPPED, (tick.status, tick.error)
            assert tick.skip_reason.startswith(
                "landing zone unreachable, trying again next tick: s3: S3 endpoint unreachable"
            ), tick.skip_reason
            assert list(tick.run_ids) == []
        assert up.cursor() == before, "a tick of the outage moved the cursor"
        assert up.runs(OUTAGE_KEY) == []
    finally:
        up.proxy.start()
    back = time.time()

    run = up.wait_run(OUTAGE_KEY)
    loaded = time.time()
    assert run.status == dg.DagsterRunStatus.SUCCESS, up.log_tail()
    # Two more ticks after the load: still one run of each file, one tick that asked for it.
    eventually(lambda: len(up.ticks(loaded)) >= 2, 90, "two ticks after the load")
    assert len(up.runs(OUTAGE_KEY)) == 1 and len(up.runs(FIRST_KEY)) == 1
    asking = [t for t in up.ticks(stopped) if run.run_id in t.run_ids]
    assert len(asking) == 1
    assert OUTAGE_KEY in (up.cursor() or "")

    up.search.refresh()
    for service, ids in reference.items():
        assert set(up.records.ids_for_file(service, OUTAGE_KEY)) == ids  # type: ignore[arg-type]
        assert set(up.search.ids_for_file(service, OUTAGE_KEY)) == ids  # type: ignore[arg-type]
    assert up.records.count_rows("contacts") == 1 + expected["loaded"]
    assert up.search.count("contacts", None) == 1 + expected["loaded"]
    assert stores_agree(Stores(up.records, up.search, CODEC), OUTAGE_KEY).passed
    print(f"\n[daemon] S3 down {back - stopped:.1f} s: {len(outage)} ticks skipped "
          f"({outage[0].skip_reason!r}), cursor unchanged, no run; back: the file requested by "
          f"one tick and loaded {loaded - back:.1f} s after S3 returned, one run")


STARTED_PID = re.compile(r"Started process for run \(pid: (\d+)\)")


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        found = STARTED_PID.search(entry.message or "")
        if found:
            return int(found.group(1))
    return None


def cmdline(pid: int) -> str:
    return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip())


def parent(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


@dataclass
class Loading:
    run: dg.DagsterRun
    pid: int  # the run worker
    server: int  # the code server that spawned it
    landed: float  # monotonic time the file landed
    new_rows: int  # contacts added by the run so far


def start_loading(up: Up, key: str, body: bytes) -> Loading:
    """Lands a file and waits until its run has committed a first batch."""
    rows_before = up.contacts()

    def loading() -> dg.DagsterRun | None:
        runs = up.runs(key)
        if runs and runs[0].status == dg.DagsterRunStatus.STARTED and up.contacts() > rows_before:
            return runs[0]
        return None

    up.land(key, body)
    landed = time.monotonic()
    run = eventually(loading, 240, f"the run of {key} to commit its first batch", step=0.05)
    pid = eventually(lambda: worker_pid(up.instance, run.run_id), 30, "the worker's pid")
    worker, server = cmdline(pid), cmdline(parent(pid))
    assert "multiprocessing" in worker, worker  # spawned by the code server for this run
    assert "dagster" in server and "grpc" in server, server
    return Loading(run, pid, parent(pid), landed, up.contacts() - rows_before)


@pytest.mark.slow
def test_a_killed_run_worker_fails_its_run_which_is_retried_and_loads_once(
    up: Up, tmp_path: Path
) -> None:
    path, expected = sample(tmp_path, 10_000, seed=62)
    reference = reference_ids(tmp_path, path)
    others = {s: {*up.records.ids_for_file(s, OUTAGE_KEY), *up.records.ids_for_file(s, FIRST_KEY)}
              for s in ("contacts", "companies")}  # fmt: skip (loaded by the test before)
    assert up.records.count_rows("contacts") == len(others["contacts"])

    loading = start_loading(up, BIG_KEY, path.read_bytes())
    run = loading.run
    os.kill(loading.pid, signal.SIGKILL)
    killed = time.monotonic()

    def finished() -> dg.DagsterRun | None:
        latest = up.instance.get_run_by_id(run.run_id)
        return latest if latest is not None and latest.status in DONE else None

    def retried() -> dg.DagsterRun | None:
        return next((r for r in up.runs(BIG_KEY) if r.tags.get(PARENT_RUN_TAG) == run.run_id),
                    None)

    failed = eventually(finished, 120, "the killed run to be marked finished", step=0.1)
    detected = time.monotonic() - killed
    assert failed.status == dg.DagsterRunStatus.FAILURE
    explained = [e.message for e in up.instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT) if "signal 9" in e.message]
    assert explained, "no event says the worker was killed"
    assert explained[0].startswith("[DagsterApiServer]")  # the code server, not run monitoring

    retry = eventually(retried, 180, "a retry of the failed run")
    assert retry.tags.get(RETRY_NUMBER_TAG) == "1"
    final = up.wait_run(BIG_KEY, 300)
    done = time.monotonic()
    assert final.run_id == retry.run_id and final.status == dg.DagsterRunStatus.SUCCESS, (
        up.log_tail())
    assert [r.run_id for r in up.runs(BIG_KEY)] == [run.run_id, retry.run_id]
    checks = {
        e.asset_check_evaluation.check_name: e.asset_check_evaluation.passed
        for e in up.instance.all_logs(
            retry.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        if e.asset_check_evaluation is not None
    }  # fmt: skip
    assert checks == {"rows_accounted_for": True, "stores_agree": True}

    up.search.refresh()
    for service, ids in reference.items():
        assert set(up.records.ids_for_file(service, BIG_KEY)) == ids  # type: ignore[arg-type]
        assert set(up.search.ids_for_file(service, BIG_KEY)) == ids  # type: ignore[arg-type]
    # No duplicate: one row and one document per distinct contact of the three files (sample
    # files of different seeds share some contacts, merged into one record).
    total = len(reference["contacts"] | others["contacts"])
    assert up.records.count_rows("contacts") == total
    assert up.search.count("contacts", None) == total
    print(f"\n[daemon] run worker (pid {loading.pid}) SIGKILLed "
          f"{killed - loading.landed:.1f} s after the file landed, {loading.new_rows} new "
          f"contacts in: run marked FAILURE after {detected:.1f} s "
          f"({explained[0].split('. ')[0]!r}); retry {retry.run_id[:8]} succeeded "
          f"{done - killed:.1f} s after the kill; the file loaded once")



@pytest.mark.slow
def test_a_run_worker_killed_with_its_code_server_is_failed_and_retried(
    up: Up, tmp_path: Path
) -> None:
    """Nothing is left to notice the dead worker but the orphaned-run sensor
    (orchestration/orphans.py), which fails the run at its second look (ticks 20 s apart);
    run retries then load the file again."""
    path, _ = sample(tmp_path, 10_000, seed=63)
    key = "drops/orphan.csv"
    loading = start_loading(up, key, path.read_bytes())
    os.kill(loading.server, signal.SIGKILL)  # the code server (the daemon starts a new one)
    os.kill(loading.pid, signal.SIGKILL)  # and its run worker
    killed = time.monotonic()
    # Two orphan checks (20 s apart), a tick of slack and more, on 2 busy cores.
    deadline = killed + 150  # the daemon also restarts the killed code server meanwhile
    latest = up.instance.get_run_by_id(loading.run.run_id)
    while time.monotonic() < deadline and latest is not None and latest.status not in DONE:
        time.sleep(1)
        latest = up.instance.get_run_by_id(loading.run.run_id)
    assert latest is not None
    print(f"\n[daemon] run worker and code server SIGKILLed: after "
          f"{time.monotonic() - killed:.0f} s the run is {latest.status.value}")
    assert latest.status == dg.DagsterRunStatus.FAILURE
    explained = [e.message for e in up.instance.all_logs(
        loading.run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT) if "is gone" in e.message]
    assert explained, "no event says the orphaned-run sensor failed the run"

    def retried() -> dg.DagsterRun | None:
        return next((r for r in up.runs(key)
                     if r.tags.get(PARENT_RUN_TAG) == loading.run.run_id), None)

    eventually(retried, 180, "a retry of the orphaned run")
    final = up.wait_run(key, 300)
    assert final.tags.get(PARENT_RUN_TAG) == loading.run.run_id
    assert final.status == dg.DagsterRunStatus.SUCCESS, up.log_tail()
    up.search.refresh()
    for service, ids in reference_ids(tmp_path, path).items():  # loaded once, in both stores
        assert set(up.records.ids_for_file(service, key)) == ids  # type: ignore[arg-type]
        assert set(up.search.ids_for_file(service, key)) == ids  # type: ignore[arg-type]


# -- the dagster-daemon itself SIGKILLed -------------------------------------------------------

UNFINISHED = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]  # fmt: skip
BEFORE_STARTED_ORDER = (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED,
                        dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)  # fmt: skip


def daemon_pid(up: Up) -> int | None:
    """The `dagster-daemon run` process `connectra up` started (its child)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent(int(entry.name)) == up.proc.pid and "dagster-daemon" in cmdline(
                    int(entry.name)
                ):
                    return int(entry.name)
            except (OSError, AttributeError):
                continue  # exited meanwhile
    return None


def distinct_csv(tag: str, rows: int) -> bytes:
    """Contacts and companies no other file of this module holds, so each file's ids in the
    stores are exactly its own whatever order the loads ran in."""
    lines = ["email,first_name,last_name,company_name,company_website"]
    lines += [f"{tag}{i}@{tag}{i % 5}.example.org,Ada{i},{tag.title()},{tag.title()} Works "
              f"{i % 5},{tag}{i % 5}.example.org" for i in range(rows)]  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def starting_time(up: Up, run_id: str) -> float | None:
    """When the run was dequeued (its PIPELINE_STARTING event), epoch seconds."""
    events = up.instance.all_logs(run_id, of_type=dg.DagsterEventType.PIPELINE_STARTING)
    return events[0].timestamp if events else None


def kill_daemon(up: Up) -> tuple[int, float]:
    """SIGKILLs the daemon (only that process); its pid and the time, epoch seconds."""
    pid = eventually(lambda: daemon_pid(up), 120, "a running dagster-daemon")
    os.kill(pid, signal.SIGKILL)
    return pid, time.time()


RANK = {s: n for n, s in enumerate(BEFORE_STARTED_ORDER)}


def kill_as_a_run_is(up: Up, key: str, body: bytes, target: dg.DagsterRunStatus) -> str:
    """Lands a file and SIGKILLs the daemon the moment its run is `target` (or first seen
    past it); then waits for the daemon to come back and the file's last run to succeed."""
    pid = eventually(lambda: daemon_pid(up), 120, "a running dagster-daemon")

    def reached() -> dg.DagsterRun | None:
        runs = up.runs(key)
        return runs[0] if runs and RANK.get(runs[0].status, 99) >= RANK[target] else None

    up.land(key, body)
    seen = eventually(reached, 120, f"a run of {key} {target.value}", step=0.01)
    os.kill(pid, signal.SIGKILL)
    killed = time.time()
    after = up.instance.get_run_by_id(seen.run_id)
    _, ticking = restarted(up, pid, killed)

    def succeeded() -> dg.DagsterRun | None:  # a run failed and retried is not the end yet
        runs = up.runs(key)
        return runs[-1] if runs and runs[-1].status == dg.DagsterRunStatus.SUCCESS else None

    try:
        eventually(succeeded, 420, f"a successful run of {key}")
    except AssertionError:
        print(up.log_tail())
        raise
    done = time.time()
    statuses = [r.status.value for r in up.runs(key)]
    failed = [f"{e.message!r} {e.timestamp - killed:.1f} s after the kill"
              for e in up.instance.all_logs(seen.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)]
    return (f"SIGKILLed as its run was {seen.status.value} ("
            f"{after.status.value if after else None} just after): the landing sensor ticking "
            f"{ticking:.1f} s after the kill, the file loaded {done - killed:.1f} s after it, "
            f"runs {statuses}{f', failed: {failed[0]}' if failed else ''}")


def restarted(up: Up, old: int, killed: float) -> tuple[int, float]:
    """The daemon started again in place of `old`, once its sensors tick again: its pid and
    how long after the kill the landing sensor ticked again."""
    assert up.proc.poll() is None, f"connectra up exited\n{up.log_tail()}"
    new = eventually(lambda: (p := daemon_pid(up)) != old and p, 60, "a new dagster-daemon")
    eventually(lambda: up.ticks(killed + 0.5), 180, "a landing-sensor tick after the kill")
    return new, time.time() - killed


def loaded_once(up: Up, tmp_path: Path, key: str, body: bytes) -> None:
    """Both stores hold exactly the ids a fault-free load of the file finds."""
    source = tmp_path / "ref" / key.replace("/", "_")
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(body)
    up.search.refresh()
    for service, ids in reference_ids(source.parent / source.stem, source).items():
        assert ids, (key, service)
        assert set(up.records.ids_for_file(service, key)) == ids, (key, service)  # type: ignore[arg-type]
        assert set(up.search.ids_for_file(service, key)) == ids, (key, service)  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_daemon_killed_mid_run_and_while_a_run_starts_every_file_loads_once(
    up: Up, tmp_path: Path
) -> None:
    """The daemon SIGKILLed (only it) three times: mid-run (a run queued while it is dead),
    the moment a run is queued, and the moment one is starting."""
    from orchestration.ingest_command import ingest_queued
    from stores.settings import settings_from_mapping

    # 1. Mid-run. The run worker is a child of the daemon's code server, not of the daemon.
    path, _ = sample(tmp_path, 10_000, seed=64)
    mid_key, mid_body = "drops/daemon-mid-run.csv", path.read_bytes()
    loading = start_loading(up, mid_key, mid_body)
    old = eventually(lambda: daemon_pid(up), 30, "the dagster-daemon")
    assert os.getpgid(loading.server) == old  # the code server is in the daemon's group
    _, killed = kill_daemon(up)

    # A run queued while no daemon runs: `connectra ingest` without --wait, through the UI's
    # GraphQL API (the webserver still answers).
    queued_csv = tmp_path / "queued-while-dead.csv"
    queued_csv.write_bytes(distinct_csv("queued", 300))
    said: list[str] = []
    assert ingest_queued(settings_from_mapping(up.env), [str(queued_csv)], said.append) == 0
    queued_key = said[0].split(":")[0]  # "cli/queued-while-dead.csv: queued as run <id>"
    queued_run = up.runs(queued_key)[0]
    queued_status = queued_run.status
    new, ticking = restarted(up, old, killed)
    print(f"\n[daemon] SIGKILLed mid-run (pid {old}, {loading.new_rows} contacts in): "
          f"connectra up still running, new daemon pid {new}, landing sensor ticking "
          f"{ticking:.1f} s after the kill; the queued run was {queued_status.value}")

    run = up.wait_run(mid_key, 240)
    finished = time.time()
    assert run.run_id == loading.run.run_id and run.status == dg.DagsterRunStatus.SUCCESS, (
        up.log_tail())  # the worker finished its run under the orphaned code server
    assert [r.run_id for r in up.runs(mid_key)] == [run.run_id]
    # That code server exits by itself once its run is done (no daemon heartbeat reaches it).
    eventually(lambda: not Path(f"/proc/{loading.server}").exists()
               or "Z" in Path(f"/proc/{loading.server}/stat").read_text().split()[2],
               90, "the orphaned code server to exit")  # fmt: skip
    server_gone = time.time()
    queued_done = up.wait_run(queued_key, 240)
    assert queued_done.status == dg.DagsterRunStatus.SUCCESS, up.log_tail()
    assert [r.run_id for r in up.runs(queued_key)] == [queued_run.run_id]  # the sensor's too
    launched = starting_time(up, queued_run.run_id)
    assert queued_status == dg.DagsterRunStatus.QUEUED and launched and launched > killed
    print(f"[daemon] the killed daemon's run finished SUCCESS {finished - killed:.1f} s after "
          f"the kill, its code server exited {server_gone - finished:.1f} s after that; the "
          f"run queued meanwhile was launched {launched - killed:.1f} s after the kill")

    # 2. The daemon killed the moment a run is queued, and the moment one is starting.
    files = [(mid_key, mid_body), (queued_key, queued_csv.read_bytes())]
    for target in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING):
        key = f"drops/daemon-at-{target.value.lower()}.csv"
        files.append((key, distinct_csv(f"at{target.value.lower()}", 300)))
        print(f"[daemon] {key}: {kill_as_a_run_is(up, key, files[-1][1], target)}")

    # The end: every file loaded once, nothing left running or queued, the sensors ticking.
    for key, body in files:
        loaded_once(up, tmp_path, key, body)
    assert up.instance.get_runs(dg.RunsFilter(statuses=UNFINISHED)) == []
    after = time.time()
    for sensor in ("landing_sensor", "orphaned_runs_sensor"):
        eventually(lambda s=sensor: up.ticks(after, s), 60, f"a tick of {sensor}")  # type: ignore[misc]
    log = up.log.read_text()
    assert log.count("dagster-daemon started again") == 3, log[-3000:]
    assert f"dagster-daemon (pid {old}) exited (killed by SIGKILL)" in log

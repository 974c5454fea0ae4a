"""The chaos soak (`make test-chaos`, 25-40 minutes on 2 cores; not part of `make test`).

`connectra up` on the production profile, over servers the soak may really break: a private
PostgreSQL cluster (records and Dagster's storage), a private OpenSearch node, and moto behind
a fault proxy. 30 files of 1k-50k rows land in S3 over the soak (sample files of different
seeds share contacts, so records overlap across files; every sample file has messy rows that
are rejected; one file is not a CSV at all), while 8 API clients query, each a quarter second
after its last answer. At random moments one fault is injected: PostgreSQL restarted
(`-m fast` or `-m immediate`), the OpenSearch JVM SIGKILLed and started again, S3 cut or hung
for a while, a run worker or the Dagster daemon SIGKILLed.

Then the audit:
- every file has one successful load whose counts (read, loaded, merged, rejected) equal its
  manifest; the file that is not a CSV failed, for a terminal reason, and was never requeued;
- no run is left QUEUED, STARTED or CANCELING;
- both stores hold exactly the ids of a fault-free load of the same files (no record lost or
  duplicated), the search index agrees with the records per file and on a sample of values
  (orchestration/drift.py), and records that only one file holds have that load's values;
- every query was answered 200 or a clean 503/504 (no 500, none past its timeout).

The figures (faults by kind, queries by status, time to recover after each fault) are printed
and written to CONNECTRA_HOME/../chaos-report.json; RELIABILITY.md quotes them.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pytest
import requests
import sqlalchemy as sa
from dagster._core.scheduler.instigation import InstigatorType

from assets.loading import load_file
from assets.partitions import FILE_KEY_TAG
from bench.queries import QUERIES as BENCH_QUERIES
from orchestration.drift import measure
from orchestration.drift_sensor import differing_values
from orchestration.instance import dagster_env
from orchestration.sample_data import read_manifest, write_sample_files
from stores.duckdb import DuckDBStore
from stores.factory import Stores
from stores.landing import LocalLandingZone
from stores.postgres import PostgresRecordStore
from stores.postgres.schema import TABLES
from stores.settings import settings_from_mapping
from tests.conftest import Services, need
from tests.reliability.asset_runs import search_store
from tests.reliability.conftest import CODEC
from tests.reliability.faults import TcpProxy, wait_until
from tests.reliability.servers import PrivateOpenSearch, PrivatePostgres
from tests.reliability.test_daemon_faults import worker_pid

pytestmark = [pytest.mark.chaos, pytest.mark.services]

SEED = int(os.environ.get("CHAOS_SEED", "20261206"))
FILES = int(os.environ.get("CHAOS_FILES", "30"))
LANDING_SECONDS = float(os.environ.get("CHAOS_LANDING_SECONDS", "300"))
FAULT_SECONDS = float(os.environ.get("CHAOS_FAULT_SECONDS", "360"))
# After the last fault the runs must finish; slow is not stuck: the soak fails when nothing
# moves (no run changes status, no record is written) for STALL_SECONDS, or at the cap.
STALL_SECONDS = 300.0
SETTLE_CAP_SECONDS = 1800.0
REPAIR_SECONDS = 420.0  # a few ticks of the drift sensor (every 2 minutes)
CLIENTS = 8
# Each client waits this long between its answer and its next query (8 clients: up to ~30
# queries/s). Without a pause, 8 clients took most of the 2 cores from the loads they watch.
THINK_SECONDS = float(os.environ.get("CHAOS_THINK_SECONDS", "0.25"))
QUERY_TIMEOUT = 75.0  # the API's own deadlines are well under this: longer is a hang
API_KEY = "chaos-soak-key"
BAD_KEY = "drops/not-a-csv.csv"
PROFILE_VARS = (
    "API_KEY", "PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL",
    "SEARCH_ENGINE", "S3_BUCKET", "S3_PREFIX", "S3_ENDPOINT", "DAGSTER_HOME",
    "CONNECTRA_DAGSTER_PG_URL",
)  # fmt: skip
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING,
]  # fmt: skip
COMPARED = ("email", "first_name", "last_name", "title", "seniority", "country", "company_id")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoakFile:
    key: str
    path: Path
    expected: dict[str, int] | None  # None: not a CSV, must fail


def make_files(tmp: Path, rng: random.Random) -> list[SoakFile]:
    files = []
    for n in range(FILES - 1):
        rows = rng.choice([1_000, 2_000, 5_000, 10_000, 20_000, 50_000]) if n else 50_000
        [path] = write_sample_files(rows, tmp / f"gen{n}", seed=SEED + n)
        files.append(SoakFile(f"drops/{n:02d}-{path.name}", path, read_manifest(path).expected))
    bad = tmp / "not-a-csv.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
    files.insert(rng.randrange(1, len(files)), SoakFile(BAD_KEY, bad, None))
    return files


def reference_load(
    tmp: Path, files: list[SoakFile], batch_rows: int
) -> tuple[DuckDBStore, dict[str, Counter[str]]]:
    """The fault-free load of the same files, in landing order, into the embedded store, in
    the soak's batches; and for each record id, how many files hold it."""
    landing = LocalLandingZone(tmp / "reference-landing")
    store = DuckDBStore(tmp / "reference.duckdb")
    store.ensure_indices()
    holders: dict[str, Counter[str]] = {"contacts": Counter(), "companies": Counter()}
    for f in files:
        if f.expected is None:
            continue
        with f.path.open("rb") as stream:
            landing.put(f.key, stream)
        load_file(landing, f.key, Stores(store, store, CODEC), "reference", batch_rows)
        for service in holders:
            holders[service].update(store.ids_for_file(service, f.key))  # type: ignore[arg-type]
    return store, holders


# -- the system under test -----------------------------------------------------------------


@dataclass
class Soak:
    home: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path
    pg: PrivatePostgres
    node: PrivateOpenSearch
    proxy: TcpProxy
    s3: Any
    bucket: str
    prefix: str
    database: str
    instance: dg.DagsterInstance
    api: str
    faults: list[dict[str, Any]] = field(default_factory=list)

    def land(self, f: SoakFile) -> None:
        self.s3.upload_file(str(f.path), self.bucket, self.prefix + f.key)

    def own_processes(self, marker: str) -> list[int]:
        """Pids of this soak's processes (CONNECTRA_HOME in their environment) whose command
        line contains marker."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if f"CONNECTRA_HOME={self.home}".encode() in environ and marker in command:
                found.append(int(entry.name))
        return found

    def healthy(self) -> bool:
        try:
            answer = requests.get(f"{self.api}/health", timeout=10).json()
        except (requests.RequestException, ValueError):
            return False
        return bool(answer.get("status") == "ok")

    def ticked_since(self, sensor: str, since: float) -> bool:
        """Whether the sensor has a tick that started after `since` (epoch seconds)."""
        states = self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        state = next((s for s in states if s.instigator_name == sensor), None)
        return state is not None and bool(self.instance.get_ticks(
            state.instigator_origin_id, state.selector_id, after=since, limit=1))  # fmt: skip

    def runs(self, statuses: list[dg.DagsterRunStatus] | None = None) -> list[dg.DagsterRun]:
        return [r.dagster_run for r in self.instance.get_run_records(
            dg.RunsFilter(statuses=statuses) if statuses else None)]  # fmt: skip

    def log_tail(self) -> str:
        logs = [self.log, *sorted((self.home / "logs").glob("*.log"))]
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in logs if p.exists())  # fmt: skip


@pytest.fixture
def soak(services: Services, s3: Any, tmp_path: Path) -> Iterator[Soak]:
    name = f"chaos{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    home.mkdir()
    e = services.env
    host, port = services.s3_endpoint.removeprefix("http://").split(":")
    with ExitStack() as stack:
        pg = PrivatePostgres()
        stack.callback(pg.close)
        need("a private PostgreSQL cluster", pg.start)
        database = pg.create_database("connectra_chaos")
        node = PrivateOpenSearch(heap="1g")
        stack.callback(node.close)
        need("a private OpenSearch node", node.start)
        proxy = stack.enter_context(TcpProxy(host, int(port)))
        api_port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
        env.update(
            CONNECTRA_HOME=str(home), API_PORT=str(api_port), DAGSTER_PORT=str(free_port()),
            TICKER_INTERVAL_MINUTES="0.1", API_KEY=API_KEY, DATABASE_URL=database,
            MAX_REQUESTS_PER_MINUTE="1000000",
            SEARCH_URL=node.url, SEARCH_ENGINE="opensearch", SEARCH_INDEX_PREFIX=f"{name}_",
            S3_BUCKET=e["S3_BUCKET"], S3_PREFIX=f"{name}/", S3_ENDPOINT=proxy.url,
            S3_REGION=e["S3_REGION"], S3_ACCESS_KEY=e["S3_ACCESS_KEY"],
            S3_SECRET_KEY=e["S3_SECRET_KEY"],
        )  # fmt: skip
        log = tmp_path / "up.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "connectra"), "up", "--sample-rows", "0"],
                env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

        def stop() -> None:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(90)
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
            monkeypatch.setenv(variable, value)
        instance = stack.enter_context(dg.DagsterInstance.from_config(str(home / "dagster")))
        direct = boto3.client(
            "s3", endpoint_url=services.s3_endpoint, region_name=e["S3_REGION"],
            aws_access_key_id=e["S3_ACCESS_KEY"], aws_secret_access_key=e["S3_SECRET_KEY"],
        )  # fmt: skip
        yield Soak(home, env, proc, log, pg, node, proxy, direct, e["S3_BUCKET"], f"{name}/",
                   database, instance, f"http://127.0.0.1:{api_port}")  # fmt: skip


# -- load on the API ---------------------------------------------------------------------------


# The benchmark's queries (bench/queries.py): filters, counts, text, ranges, sorted pages.
QUERIES: list[tuple[str, dict[str, Any]]] = [
    (f"/contacts/{q.endpoint}", q.body) for q in BENCH_QUERIES if not q.deep
] + [("/companies/count", {}), ("/companies/filter", {"limit": 10})]


class Clients:
    """CLIENTS threads querying, THINK_SECONDS apart; each answer's status (or 'timeout',
    'refused')."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.outcomes: Counter[str] = Counter()
        self.slowest = 0.0
        self.bad: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                         for i in range(CLIENTS)]  # fmt: skip

    def __enter__(self) -> Clients:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(QUERY_TIMEOUT + 5)

    def _run(self, n: int) -> None:
        session = requests.Session()
        session.headers["X-API-Key"] = API_KEY
        i = n
        while not self._stop.is_set():
            path, body = QUERIES[i % len(QUERIES)]
            i += 1
            began = time.monotonic()
            try:
                answer = session.post(self.api + path, json=body, timeout=QUERY_TIMEOUT)
                outcome = str(answer.status_code)
                if answer.status_code not in (200, 503, 504):
                    with self._lock:
                        self.bad.append(f"{path}: {answer.status_code} {answer.text[:300]}")
            except requests.Timeout:
                outcome = "timeout"
            except requests.ConnectionError:
                outcome = "refused"  # the API process died (it is started again): a failure
            with self._lock:
                self.outcomes[outcome] += 1
                self.slowest = max(self.slowest, time.monotonic() - began)
            self._stop.wait(THINK_SECONDS)


# -- faults ------------------------------------------------------------------------------------


def inject(soak: Soak, kind: str, rng: random.Random) -> dict[str, Any]:
    """One fault; returns what was done. Outages of S3 last 10-40 s."""
    began, wall = time.monotonic(), time.time()
    detail = ""
    if kind == "postgres_fast":
        soak.pg.restart("fast")
    elif kind == "postgres_immediate":
        soak.pg.restart("immediate")
    elif kind == "opensearch_sigkill":
        soak.node.kill()
        time.sleep(rng.uniform(2, 10))
        soak.node.start()
    elif kind in ("s3_cut", "s3_hang"):
        soak.proxy.stop() if kind == "s3_cut" else soak.proxy.freeze()
        outage = rng.uniform(10, 40)
        time.sleep(outage)
        soak.proxy.restore()
        detail = f"{outage:.0f} s"
    elif kind == "run_worker_sigkill":
        # The worker of a loading run (its pid from the run's start event), else the next one.
        pid = None
        deadline = time.monotonic() + 120
        while pid is None and time.monotonic() < deadline:
            for run in soak.runs([dg.DagsterRunStatus.STARTED]):
                pid = worker_pid(soak.instance, run.run_id)
                if pid is not None:
                    detail = f"run {run.run_id[:8]} ({run.tags.get(FILE_KEY_TAG)}), pid {pid}"
                    break
            time.sleep(0.5)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        else:
            detail = "no run loading within 120 s"
    elif kind == "daemon_sigkill":
        # `connectra up` starts it again (orchestration/supervisor.py); recovered once a new
        # daemon's landing sensor has ticked.
        daemons = soak.own_processes("dagster-daemon run")
        for pid in daemons[:1]:
            os.kill(pid, signal.SIGKILL)
        detail = f"pid {daemons[0]}" if daemons else "no daemon found"
    else:
        raise ValueError(kind)
    ended = time.monotonic()
    recovered = wait_until(soak.healthy, timeout=300, step=0.5)
    if kind == "daemon_sigkill":
        recovered = recovered and wait_until(
            lambda: soak.ticked_since("landing_sensor", wall), timeout=300, step=1.0)
    return {
        "kind": kind, "detail": detail, "seconds": round(ended - began, 1),
        "recovered_after": round(time.monotonic() - ended, 1) if recovered else None,
    }  # fmt: skip


ALL_KINDS = ("postgres_fast", "postgres_immediate", "opensearch_sigkill", "s3_cut", "s3_hang",
             "run_worker_sigkill", "daemon_sigkill")  # fmt: skip
# CHAOS_KINDS narrows the faults (a comma-separated subset), for working on one of them.
KINDS = tuple(k for k in os.environ.get("CHAOS_KINDS", ",".join(ALL_KINDS)).split(",") if k)


def fault_loop(soak: Soak, rng: random.Random, until: float, stop: threading.Event) -> None:
    """Every kind once, in a random order, then random kinds until `until`; 5-20 s apart."""
    first = rng.sample(KINDS, len(KINDS))
    while not stop.is_set() and (first or time.monotonic() < until):
        stop.wait(rng.uniform(5, 20))
        if stop.is_set():
            return
        kind = first.pop() if first else rng.choice(KINDS)
        soak.faults.append(inject(soak, kind, rng))
        print(f"[chaos] {soak.faults[-1]}", flush=True)


# -- the audit ---------------------------------------------------------------------------------


def last_counts(instance: dg.DagsterInstance, key: str) -> dict[str, int] | None:
    """The counts of the file's newest `records` materialization."""
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("records"), asset_partitions=[key]), limit=1
    )
    if not result.records:
        return None
    meta = result.records[0].asset_materialization.metadata  # type: ignore[union-attr]
    values = {k: meta[f"rows_{k}"].value for k in ("read", "loaded", "merged", "rejected")}
    return {k: int(v) for k, v in values.items()}  # type: ignore[arg-type]


def file_runs(soak: Soak, key: str) -> list[dg.DagsterRun]:
    records = soak.instance.get_run_records(dg.RunsFilter(tags={FILE_KEY_TAG: key}))
    return [r.dagster_run for r in reversed(records)]


def settled(soak: Soak, files: list[SoakFile]) -> bool:
    if soak.runs(UNFINISHED):
        return False
    for f in files:
        runs = file_runs(soak, f.key)
        if not runs:
            return False
        if f.expected is not None and runs[-1].status != dg.DagsterRunStatus.SUCCESS:
            return False
    return True


def movement(soak: Soak, records: sa.Engine) -> tuple[object, ...]:
    """What changes while runs make progress: the runs' statuses, and the rows written to
    the records (PostgreSQL's counters, moved by every committed batch)."""
    statuses = sorted(Counter(r.status.value for r in soak.runs()).items())
    try:
        with records.connect() as connection:
            written = connection.exec_driver_sql(
                "SELECT sum(n_tup_ins + n_tup_upd) FROM pg_stat_user_tables"
                " WHERE relname IN ('contacts', 'companies')"
            ).scalar()
    except sa.exc.SQLAlchemyError:  # PostgreSQL restarting: nothing seen to move
        written = None
    return (*statuses, written)


def settle(soak: Soak, files: list[SoakFile]) -> tuple[bool, str]:
    """Waits for every file's runs to finish; (done, why not)."""
    records = sa.create_engine(soak.database, poolclass=sa.NullPool)
    try:
        began = last_move = time.monotonic()
        seen = movement(soak, records)
        while not settled(soak, files):
            now = time.monotonic()
            if now - began > SETTLE_CAP_SECONDS:
                return False, f"still running {SETTLE_CAP_SECONDS:.0f} s after the last fault"
            current = movement(soak, records)
            if current != seen:
                seen, last_move = current, now
            elif now - last_move > STALL_SECONDS:
                return False, f"nothing moved for {STALL_SECONDS:.0f} s: {seen}"
            time.sleep(5.0)
        return True, ""
    finally:
        records.dispose()


def ids(records: PostgresRecordStore, service: str) -> set[str]:

    with records.engine.connect() as connection:
        return {str(i) for i in connection.execute(sa.select(TABLES[service].c.id)).scalars()}


def test_chaos_soak(soak: Soak, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    files = make_files(tmp_path / "files", rng)
    batch_rows = settings_from_mapping(soak.env).batch_size_for_insertion
    reference, holders = reference_load(tmp_path, files, batch_rows)
    stop = threading.Event()
    began = time.monotonic()
    faults = threading.Thread(
        target=fault_loop, args=(soak, rng, began + FAULT_SECONDS, stop), daemon=True
    )
    with Clients(soak.api) as clients:
        faults.start()
        for n, f in enumerate(files):  # spread over the landing window, despite S3 outages
            time.sleep(max(0.0, began + n * LANDING_SECONDS / len(files) - time.monotonic()))
            soak.land(f)
        faults.join(FAULT_SECONDS + 400)
        calm = time.monotonic()
        done, why = settle(soak, files)
        settle_seconds = time.monotonic() - calm
        stop.set()
    assert done, f"not settled: {why}\n{soak.log_tail()}"

    records = PostgresRecordStore(soak.database)
    search = search_store(soak.node.url, soak.env["SEARCH_INDEX_PREFIX"])
    try:
        # What the stores disagree on, the search_drift_sensor repairs by itself (a reindex
        # run once no run is in flight): give it a few of its ticks.
        repaired = wait_until(
            lambda: settled(soak, files) and measure(records, search, sample_size=500).clean,
            timeout=REPAIR_SECONDS, step=10.0,
        )  # fmt: skip
        drift_seconds = time.monotonic() - calm - settle_seconds
        report = {
            "seed": SEED, "files": len(files), "rows": sum(
                (f.expected or {}).get("read", 0) for f in files),
            "soak_seconds": round(time.monotonic() - began, 1),
            "settle_seconds_after_last_fault": round(settle_seconds, 1),
            "stores_agreed_after_seconds": round(drift_seconds, 1) if repaired else None,
            "reindex_runs": [r.tags.get("connectra/drift") for r in soak.runs()
                             if r.job_name == "reindex"],
            "faults": soak.faults, "faults_by_kind": dict(Counter(f["kind"] for f in soak.faults)),
            "queries": sum(clients.outcomes.values()), "answers": dict(clients.outcomes),
            "slowest_answer_seconds": round(clients.slowest, 1),
            "runs": dict(Counter(r.status.value for r in soak.runs())),
        }  # fmt: skip
        (tmp_path.parent / "chaos-report.json").write_text(json.dumps(report, indent=2))
        print("\n[chaos] " + json.dumps(report, indent=2))

        # The API: 200 or a clean 503/504, nothing else, nothing past its timeout.
        assert not clients.bad, clients.bad[:5]
        assert set(clients.outcomes) <= {"200", "503", "504"}, clients.outcomes
        assert clients.outcomes["200"] > 0
        # Every kind of fault happened.
        assert set(Counter(f["kind"] for f in soak.faults)) == set(KINDS), soak.faults
        assert all(f["recovered_after"] is not None for f in soak.faults), soak.faults

        # Every file: loaded with its manifest's counts; the bad one failed and never requeued.
        for f in files:
            runs = file_runs(soak, f.key)
            if f.expected is None:
                assert [r.status for r in runs] == [dg.DagsterRunStatus.FAILURE], runs
                continue
            assert last_counts(soak.instance, f.key) == f.expected, f.key
        assert not soak.runs(UNFINISHED)

        # The stores: exactly the reference's ids, agreeing with each other.
        search.refresh()
        for service in ("contacts", "companies"):
            expected_ids = set(holders[service])
            assert ids(records, service) == expected_ids, service
            assert search.count(service, None) == len(expected_ids), service  # type: ignore[arg-type]
        drift = measure(
            records, search, sample_size=2_000, same_values=differing_values(records, search)
        )
        assert drift.clean, drift.describe()

        # Records only one file holds have that load's values.
        singles = [i for i, n in holders["contacts"].items() if n == 1]
        picked = rng.sample(singles, min(2_000, len(singles)))
        mine = {r["id"]: r for r in records.fetch("contacts", picked, ["id", *COMPARED])}
        theirs = {r["id"]: r for r in reference.fetch("contacts", picked, ["id", *COMPARED])}
        assert mine == theirs
    finally:
        search.close()
        records.close()
        reference.close()

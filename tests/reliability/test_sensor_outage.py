"""The S3 endpoint unreachable for several ticks of the landing sensor.

The real sensor (orchestration/sensors.py) is evaluated tick after tick, the way the daemon
does it (a fresh resource per tick, the stored cursor handed back, left unchanged by a tick
that returns none), over moto reached through a fault proxy. A file lands while the endpoint
is down. Each tick of the outage must skip with a message that says what is wrong, request
nothing and leave the cursor alone; the first tick after the endpoint returns must request
that file, once, and nothing already requested; the run it asks for then loads the file
exactly once. The same, end to end with a real dagster-daemon, is in
test_daemon_faults.py (slow).
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets.ingest import landed_file, loaded_file
from assets.partitions import FILE_KEY_TAG, LANDED_FILES
from assets.resources import ConnectraResource
from orchestration.jobs import ingest_file_job
from orchestration.sensors import SensorCursor, build_landing_sensor
from stores.postgres import PostgresRecordStore, migrate
from tests.conftest import Services, fresh_database
from tests.reliability.asset_runs import (
    assert_loaded_once,
    configure,
    materialize,
    search_store,
)
from tests.reliability.faults import TcpProxy
from tests.reliability.loads import KEY, reference_ids, sample

pytestmark = pytest.mark.services
OUTAGE_TICKS = 3
FIRST_CSV = b"email,first_name,company_name\nada@analytical.io,Ada,Analytical Engines\n"


@pytest.fixture
def s3_proxy(services: Services, s3: Any) -> Iterator[TcpProxy]:
    host, port = services.s3_endpoint.removeprefix("http://").split(":")
    with TcpProxy(host, int(port)) as proxy:
        yield proxy


class Daemonless:
    """Evaluates the landing sensor as the daemon would, keeping its cursor between ticks."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.sensor = build_landing_sensor(ingest_file_job, 30, queue_size=100, settle_seconds=0)
        self.repository = dg.Definitions(
            assets=[landed_file, loaded_file], jobs=[ingest_file_job], sensors=[self.sensor],
            resources={"connectra": ConnectraResource()},
        ).get_repository_def()  # fmt: skip
        self.cursor: str | None = None
        self.seconds: list[float] = []

    def tick(self) -> Any:
        began = time.monotonic()
        context = dg.build_sensor_context(
            instance=self.instance, cursor=self.cursor,
            resources={"connectra": ConnectraResource()}, repository_def=self.repository,
        )  # fmt: skip
        with context, dg.partition_loading_context(dynamic_partitions_store=self.instance):
            result = self.sensor.evaluate_tick(context)
        self.seconds.append(time.monotonic() - began)
        if result.cursor is not None:  # the daemon stores a cursor only when one is returned
            self.cursor = result.cursor
        return result


def test_s3_down_for_several_ticks_skips_them_and_the_file_then_loads_once(
    services: Services, s3: Any, s3_proxy: TcpProxy, opensearch: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = services.env
    bucket, prefix = env["S3_BUCKET"], f"reliability/{uuid.uuid4().hex[:8]}/"
    path, expected = sample(tmp_path, 2_000, seed=51)
    reference = reference_ids(tmp_path, path)
    index_prefix = f"rels{uuid.uuid4().hex[:8]}_"
    with fresh_database(services) as database:
        migrate(database)
        configure(
            monkeypatch, tmp_path / "home", database, services.search_url, index_prefix,
            S3_BUCKET=bucket, S3_PREFIX=prefix, S3_ENDPOINT=s3_proxy.url,
            S3_REGION=env["S3_REGION"], S3_ACCESS_KEY=env["S3_ACCESS_KEY"],
            S3_SECRET_KEY=env["S3_SECRET_KEY"],
        )  # fmt: skip
        instance = dg.DagsterInstance.ephemeral()
        daemon = Daemonless(instance)
        records = PostgresRecordStore(database)
        search = search_store(services.search_url, index_prefix)
        try:
            # Before the outage: a first file is requested, and only once.
            s3.put_object(Bucket=bucket, Key=prefix + "drops/first.csv", Body=FIRST_CSV)
            first = daemon.tick()
            assert [r.partition_key for r in first.run_requests] == ["drops/first.csv"]
            assert daemon.tick().run_requests == []
            before = daemon.cursor
            assert before is not None

            # The endpoint goes away; a file lands meanwhile (straight into moto).
            s3_proxy.stop()
            s3.upload_fileobj(io.BytesIO(path.read_bytes()), bucket, prefix + KEY)
            for _ in range(OUTAGE_TICKS):
                skipped = daemon.tick()
                assert skipped.run_requests == []
                assert skipped.cursor in (None, before)  # the cursor stays as it was
                message = skipped.skip_message or ""
                assert message.startswith("landing zone unreachable, trying again next tick: s3:")
                assert env["S3_SECRET_KEY"] not in message
            assert daemon.cursor == before
            assert instance.get_dynamic_partitions(LANDED_FILES) == ["drops/first.csv"]

            # It comes back: the next tick asks for the new file, once; later ticks nothing.
            s3_proxy.start()
            back = daemon.tick()
            assert [r.partition_key for r in back.run_requests] == [KEY]
            [request] = back.run_requests
            assert request.run_key == f"{KEY}@{s3.head_object(Bucket=bucket, Key=prefix + KEY)['ETag'].strip(chr(34))}"  # noqa: E501
            assert daemon.tick().run_requests == []
            cursor = SensorCursor.loads(daemon.cursor)
            assert set(cursor.seen) == {"drops/first.csv", KEY}
            assert cursor.watermark >= SensorCursor.loads(before).watermark
            assert sorted(instance.get_dynamic_partitions(LANDED_FILES)) == sorted(
                ["drops/first.csv", KEY]
            )

            # The requested run (as the daemon would launch it) loads the file once.
            run = materialize(instance, KEY, tags=request.tags)
            assert run.success, run.failures
            assert run.checks == {"rows_accounted_for": True, "stores_agree": True}
            assert_loaded_once(records, search, KEY, reference, expected)
            assert daemon.tick().run_requests == []  # a tick after the load: still nothing
            runs = instance.get_run_records(dg.RunsFilter(tags={FILE_KEY_TAG: KEY}))
            assert len(runs) == 1
            outage = daemon.seconds[2 : 2 + OUTAGE_TICKS]
            print(f"\n[sensor] {OUTAGE_TICKS} ticks with S3 down: skipped in "
                  f"{', '.join(f'{s:.2f}' for s in outage)} s; first tick after: requested "
                  f"{KEY} once; load {run.seconds:.1f} s, {run.step_retries} step retries")
        finally:
            search.drop_indices()
            search.close()
            records.close()
            instance.dispose()


HANG_TICKS = 3
LIST_TIMEOUT = 2.0  # S3_LIST_TIMEOUT_SECONDS for this test (10 s by default)


def test_s3_hanging_for_several_ticks_skips_each_fast_and_the_file_then_loads_once(
    services: Services, s3: Any, s3_proxy: TcpProxy, opensearch: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """S3 accepts connections and never answers (the proxy frozen: a hung server whose kernel
    still acknowledges). Each tick must give up within the listing deadline (2 attempts of
    S3_LIST_TIMEOUT_SECONDS), well inside Dagster's 60 s sensor timeout, and skip saying S3
    did not answer; cursor, requests and partitions as for a refused endpoint."""
    env = services.env
    bucket, prefix = env["S3_BUCKET"], f"reliability/{uuid.uuid4().hex[:8]}/"
    path, expected = sample(tmp_path, 2_000, seed=52)
    reference = reference_ids(tmp_path, path)
    index_prefix = f"relh{uuid.uuid4().hex[:8]}_"
    with fresh_database(services) as database:
        migrate(database)
        configure(
            monkeypatch, tmp_path / "home", database, services.search_url, index_prefix,
            S3_BUCKET=bucket, S3_PREFIX=prefix, S3_ENDPOINT=s3_proxy.url,
            S3_REGION=env["S3_REGION"], S3_ACCESS_KEY=env["S3_ACCESS_KEY"],
            S3_SECRET_KEY=env["S3_SECRET_KEY"], S3_LIST_TIMEOUT_SECONDS=f"{LIST_TIMEOUT:g}",
        )  # fmt: skip
        instance = dg.DagsterInstance.ephemeral()
        daemon = Daemonless(instance)
        records = PostgresRecordStore(database)
        search = search_store(services.search_url, index_prefix)
        try:
            s3.put_object(Bucket=bucket, Key=prefix + "drops/first.csv", Body=FIRST_CSV)
            assert [r.partition_key for r in daemon.tick().run_requests] == ["drops/first.csv"]
            before = daemon.cursor
            assert before is not None

            # S3 hangs: connections are accepted, no answer comes. A file lands meanwhile.
            s3_proxy.freeze()
            accepted = s3_proxy.connections_accepted
            s3.upload_fileobj(io.BytesIO(path.read_bytes()), bucket, prefix + KEY)
            for _ in range(HANG_TICKS):
                skipped = daemon.tick()
                message = skipped.skip_message or ""
                print(f"\n[sensor] tick with S3 hanging: {daemon.seconds[-1]:.1f} s, {message!r}")
                assert skipped.run_requests == []
                assert skipped.cursor in (None, before)
                assert message == (
                    "landing zone unreachable, trying again next tick: s3: "
                    f"S3 did not answer in {LIST_TIMEOUT:g} s (2 attempts)"
                )
                assert env["S3_SECRET_KEY"] not in message
                # 2 attempts of the deadline + botocore's backoff (< 1 s) + slack for 2 cores
                assert daemon.seconds[-1] < 2 * LIST_TIMEOUT + 4
            assert s3_proxy.connections_accepted > accepted  # it really was hanging, not refusing
            assert daemon.cursor == before
            assert instance.get_dynamic_partitions(LANDED_FILES) == ["drops/first.csv"]

            # The hang ends: the next tick asks for the new file, once; later ticks nothing.
            s3_proxy.thaw()
            back = daemon.tick()
            assert [r.partition_key for r in back.run_requests] == [KEY]
            [request] = back.run_requests
            assert daemon.tick().run_requests == []
            assert set(SensorCursor.loads(daemon.cursor).seen) == {"drops/first.csv", KEY}

            run = materialize(instance, KEY, tags=request.tags)
            assert run.success, run.failures
            assert run.checks == {"rows_accounted_for": True, "stores_agree": True}
            assert_loaded_once(records, search, KEY, reference, expected)
            assert daemon.tick().run_requests == []
            assert len(instance.get_run_records(dg.RunsFilter(tags={FILE_KEY_TAG: KEY}))) == 1
            hung = daemon.seconds[1 : 1 + HANG_TICKS]
            print(f"\n[sensor] {HANG_TICKS} ticks with S3 hanging: skipped in "
                  f"{', '.join(f'{s:.2f}' for s in hung)} s; first tick after: requested "
                  f"{KEY} once; load {run.seconds:.1f} s, {run.step_retries} step retries")
        finally:
            s3_proxy.thaw()
            search.drop_indices()
            search.close()
            records.close()
            instance.dispose()

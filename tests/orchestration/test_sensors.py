"""The landing sensor: new, changed and unchanged files, the per-tick cap, the queue limit."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from assets.ingest import landed_file, loaded_file
from assets.partitions import landed_files
from assets.resources import ConnectraResource
from orchestration.jobs import ingest_file_job
from orchestration.sensors import (
    MAX_REQUESTS_PER_TICK,
    OVERLAP_SECONDS,
    SensorCursor,
    build_landing_sensor,
    plan_tick,
)
from stores.landing import LandedFile, LandingZone, LocalLandingZone, landing_zone
from stores.settings import load_settings
from tests.conftest import Services

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def landed(key: str, seconds: float, version: str = "v1") -> LandedFile:
    return LandedFile(key, version, T0 + timedelta(seconds=seconds), 10)


def test_new_files_are_requested_once() -> None:
    files = [landed("a.csv", 1), landed("b.csv", 2)]
    first = plan_tick(files, SensorCursor(), room=10, now=T0 + timedelta(hours=1))
    assert [f.key for f in first.requested] == ["a.csv", "b.csv"]
    again = plan_tick(files, first.cursor, room=10, now=T0 + timedelta(hours=1))
    assert again.requested == []


def test_a_changed_file_is_requested_again() -> None:
    first = plan_tick([landed("a.csv", 1)], SensorCursor(), 10, T0 + timedelta(hours=1))
    changed = plan_tick([landed("a.csv", 5, "v2")], first.cursor, 10, T0 + timedelta(hours=1))
    assert [(f.key, f.version) for f in changed.requested] == [("a.csv", "v2")]


def test_a_late_file_inside_the_overlap_is_found_and_an_old_one_is_not() -> None:
    first = plan_tick([landed("a.csv", 1000)], SensorCursor(), 10, T0 + timedelta(hours=1))
    late = landed("late.csv", 1000 - OVERLAP_SECONDS / 2)
    ancient = landed("ancient.csv", 1000 - OVERLAP_SECONDS * 2)
    files = [landed("a.csv", 1000), late, ancient]
    plan = plan_tick(files, first.cursor, 10, T0 + timedelta(hours=1))
    assert [f.key for f in plan.requested] == ["late.csv"]


def test_the_cap_leaves_the_rest_for_later_ticks_in_order() -> None:
    files = [landed(f"f{i:03}.csv", i) for i in range(25)]
    cursor, got = SensorCursor(), []
    for _ in range(3):
        plan = plan_tick(files, cursor, room=10, now=T0 + timedelta(hours=1))
        got += [f.key for f in plan.requested]
        cursor = SensorCursor.loads(plan.cursor.dumps())  # through its serialized form
    assert got == [f.key for f in files]


def test_a_file_still_being_written_waits() -> None:
    now = T0 + timedelta(seconds=100)
    plan = plan_tick([landed("a.csv", 99.5)], SensorCursor(), 10, now, settle_seconds=2)
    assert plan.requested == [] and plan.waiting == 0
    later = plan_tick([landed("a.csv", 99.5)], plan.cursor, 10, now + timedelta(seconds=5), 2)
    assert [f.key for f in later.requested] == ["a.csv"]


PROFILE_VARS = ("PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL", "S3_BUCKET")


@pytest.fixture(params=["folder", "s3"])
def zone(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> LandingZone:
    """The environment the sensor's resource reads, and the landing zone it describes."""
    for name in PROFILE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONNECTRA_HOME", str(tmp_path))
    if request.param == "s3":
        services: Services = request.getfixturevalue("services")
        request.getfixturevalue("s3")
        for name in ("S3_BUCKET", "S3_REGION", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
            monkeypatch.setenv(name, services.env[name])
        monkeypatch.setenv("S3_PREFIX", f"{unique_name}/")
    return landing_zone(load_settings(dotenv=None))


def tick(sensor: dg.SensorDefinition, instance: Any, cursor: str | None) -> Any:
    repository = dg.Definitions(
        assets=[landed_file, loaded_file],
        jobs=[ingest_file_job],
        sensors=[sensor],
        resources={"connectra": ConnectraResource()},
    ).get_repository_def()
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"connectra": ConnectraResource()},
        repository_def=repository,
    ) as context, dg.partition_loading_context(dynamic_partitions_store=instance):
        return sensor.evaluate_tick(context)


def test_sensor_over_a_real_landing_zone(zone: LandingZone) -> None:
    sensor = build_landing_sensor(ingest_file_job, 30, queue_size=100, settle_seconds=0)
    with dg.instance_for_test() as instance:
        zone.put("a.csv", io.BytesIO(b"email\na@x.io\n"))
        zone.put("sub/b.csv.gz", io.BytesIO(b"\x1f\x8b"))
        zone.put("readme.txt", io.BytesIO(b"not for loading"))
        first = tick(sensor, instance, None)
        assert sorted(r.partition_key for r in first.run_requests) == ["a.csv", "sub/b.csv.gz"]
        assert all("@" in r.run_key for r in first.run_requests)
        partitions = instance.get_dynamic_partitions(landed_files.name)
        assert sorted(partitions) == ["a.csv", "sub/b.csv.gz"]

        unchanged = tick(sensor, instance, first.cursor)
        assert unchanged.run_requests == []

        zone.put("a.csv", io.BytesIO(b"email\na@x.io\nb@y.io\n"))
        changed = tick(sensor, instance, unchanged.cursor)
        assert [r.partition_key for r in changed.run_requests] == ["a.csv"]
        assert changed.run_requests[0].run_key != first.run_requests[0].run_key
        assert len(instance.get_dynamic_partitions(landed_files.name)) == 2  # no duplicate


def test_sensor_caps_requests_per_tick_and_respects_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROFILE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONNECTRA_HOME", str(tmp_path))
    zone = LocalLandingZone(tmp_path / "landing")
    for i in range(MAX_REQUESTS_PER_TICK + 7):
        zone.put(f"f{i:03}.csv", io.BytesIO(b"email\n"))
    sensor = build_landing_sensor(ingest_file_job, 30, queue_size=1000, settle_seconds=0)
    with dg.instance_for_test() as instance:
        first = tick(sensor, instance, None)
        assert len(first.run_requests) == MAX_REQUESTS_PER_TICK
        second = tick(sensor, instance, first.cursor)
        assert len(second.run_requests) == 7
        keys = {r.partition_key for r in first.run_requests + second.run_requests}
        assert len(keys) == MAX_REQUESTS_PER_TICK + 7

    small_queue = build_landing_sensor(ingest_file_job, 30, queue_size=3, settle_seconds=0)
    with dg.instance_for_test() as instance:
        assert len(tick(small_queue, instance, None).run_requests) == 3

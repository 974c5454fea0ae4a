"""The landing sensor: new, changed and unchanged files, the per-tick cap, the queue limit."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.jobs import ingest_file_job
from orchestration.partitions import landed_files
from orchestration.resources import ConnectraResource
from orchestration.sensors import (
    MAX_REQUESTS_PER_TICK,
    OVERLAP_SECONDS,
    SensorCursor,
    build_landing_sensor,
    plan_tick,
)
from stores.landing import LandedFile, LandingZone, LocalLandingZone, S3LandingZone
from stores.settings import S3Settings, Secret
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
    plan = plan_tick([landed("a.csv", 1000), late, ancient], first.cursor, 10, T0 + timedelta(hours=1))
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


class FixedLanding(ConnectraResource):
    """The real resource with the landing zone given by the test."""

    def landing(self) -> LandingZone:
        return self._zone  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(params=["folder", "s3"])
def zone(request: pytest.FixtureRequest, tmp_path: Path, unique_name: str) -> LandingZone:
    if request.param == "folder":
        return LocalLandingZone(tmp_path / "landing")
    services: Services = request.getfixturevalue("services")
    request.getfixturevalue("s3")
    e = services.env
    return S3LandingZone(
        S3Settings(
            bucket=e["S3_BUCKET"],
            prefix=f"{unique_name}/",
            region=e["S3_REGION"],
            endpoint=e["S3_ENDPOINT"],
            access_key=Secret(e["S3_ACCESS_KEY"]),
            secret_key=Secret(e["S3_SECRET_KEY"]),
        )
    )


def tick(sensor: dg.SensorDefinition, instance: Any, zone: LandingZone, cursor: str | None) -> Any:
    resource = FixedLanding()
    object.__setattr__(resource, "_zone", zone)
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"connectra": resource}
    )
    return sensor.evaluate_tick(context)


def test_sensor_over_a_real_landing_zone(zone: LandingZone) -> None:
    sensor = build_landing_sensor(ingest_file_job, 30, queue_size=100, settle_seconds=0)
    with dg.instance_for_test() as instance:
        zone.put("a.csv", io.BytesIO(b"email\na@x.io\n"))
        zone.put("sub/b.csv.gz", io.BytesIO(b"\x1f\x8b"))
        zone.put("readme.txt", io.BytesIO(b"not for loading"))
        first = tick(sensor, instance, zone, None)
        assert sorted(r.partition_key for r in first.run_requests) == ["a.csv", "sub/b.csv.gz"]
        assert all("@" in r.run_key for r in first.run_requests)
        added = first.dynamic_partitions_requests[0]
        assert added.partitions_def_name == landed_files.name
        assert sorted(added.partition_keys) == ["a.csv", "sub/b.csv.gz"]
        instance.add_dynamic_partitions(landed_files.name, list(added.partition_keys))

        unchanged = tick(sensor, instance, zone, first.cursor)
        assert unchanged.run_requests == []

        zone.put("a.csv", io.BytesIO(b"email\na@x.io\nb@y.io\n"))
        changed = tick(sensor, instance, zone, unchanged.cursor)
        assert [r.partition_key for r in changed.run_requests] == ["a.csv"]
        assert changed.run_requests[0].run_key != first.run_requests[0].run_key
        assert changed.dynamic_partitions_requests == []  # the partition exists already


def test_sensor_caps_requests_per_tick_and_respects_the_queue(tmp_path: Path) -> None:
    zone = LocalLandingZone(tmp_path / "landing")
    for i in range(MAX_REQUESTS_PER_TICK + 7):
        zone.put(f"f{i:03}.csv", io.BytesIO(b"email\n"))
    sensor = build_landing_sensor(ingest_file_job, 30, queue_size=1000, settle_seconds=0)
    with dg.instance_for_test() as instance:
        first = tick(sensor, instance, zone, None)
        assert len(first.run_requests) == MAX_REQUESTS_PER_TICK
        second = tick(sensor, instance, zone, first.cursor)
        assert len(second.run_requests) == 7
        keys = {r.partition_key for r in first.run_requests + second.run_requests}
        assert len(keys) == MAX_REQUESTS_PER_TICK + 7

    small_queue = build_landing_sensor(ingest_file_job, 30, queue_size=3, settle_seconds=0)
    with dg.instance_for_test() as instance:
        assert len(tick(small_queue, instance, zone, None).run_requests) == 3

"""`connectra ingest --wait`: the same Dagster job for given files, with progress and counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg

from orchestration.sample_data import read_manifest, write_sample_files
from stores.duckdb import DuckDBStore
from tests.conftest import Services, fresh_database

PROFILE_VARS = ("API_KEY", "PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL",
                "S3_BUCKET", "DAGSTER_HOME", "CONNECTRA_DAGSTER_PG_URL")  # fmt: skip


def connectra(
    home: Path, *args: str, profile: dict[str, str] | None = None, interrupts_ignored: bool = False
) -> subprocess.CompletedProcess[str]:
    """Runs the command as a user would: only the documented variables of the profile set;
    `interrupts_ignored`: started with SIGINT and SIGTERM ignored, as by a process that ran
    a Dagster job after a shell script's `&` (orchestration/cli.py, interruptible)."""
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
    env["CONNECTRA_HOME"] = str(home)
    env.update(profile or {})
    ignore = _ignore_interrupts if interrupts_ignored else None
    return subprocess.run(
        [str(Path(sys.executable).parent / "connectra"), *args],
        env=env, cwd=home.parent, capture_output=True, text=True, timeout=300,
        preexec_fn=ignore,
    )  # fmt: skip


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def test_ingest_started_with_interrupts_ignored_ends_and_closes_its_output(
    tmp_path: Path,
) -> None:
    """With SIGTERM ignored from its start, the `tail` of Dagster's log capture could not be
    stopped: it outlived the command and held its output open, so a caller reading it (a
    pipe, this test) waited forever."""
    home = tmp_path / "home"
    [sample] = write_sample_files(300, tmp_path / "gen", seed=4)
    done = connectra(home, "ingest", str(sample), "--wait", interrupts_ignored=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"cli/{sample.name}: 300 read" in done.stdout


def test_ingest_waits_and_reports_counts_then_fails_clearly_on_a_bad_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    [sample] = write_sample_files(2_500, tmp_path / "gen", seed=3)
    expected = read_manifest(sample).expected
    not_csv = tmp_path / "photo.csv"
    not_csv.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)

    done = connectra(home, "ingest", str(sample), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"cli/{sample.name}: {expected['read']:,} read, {expected['loaded']:,} loaded, "
        f"{expected['merged']:,} merged, {expected['rejected']:,} rejected"
    ) in done.stdout
    assert "rows read (" in done.stdout  # progress while it ran

    store = DuckDBStore(home / "connectra.duckdb")
    try:
        assert len(set(store.ids_for_file("contacts", f"cli/{sample.name}"))) == expected["loaded"]
    finally:
        store.close()

    failed = connectra(home, "ingest", str(not_csv), "--wait")
    assert failed.returncode == 1
    assert "cli/photo.csv: FAILED" in failed.stdout and "not" in failed.stdout.lower()


def test_ingest_waits_on_the_production_profile_with_only_the_documented_variables(
    tmp_path: Path, services: Services, unique_name: str
) -> None:
    """`connectra ingest --wait` in its own shell (no `connectra up` to set Dagster's storage
    URL for it): it used to fail with "CONNECTRA_DAGSTER_PG_URL ... is not set"."""
    e = services.env
    [sample] = write_sample_files(1_200, tmp_path / "gen", seed=5)
    expected = read_manifest(sample).expected
    with fresh_database(services) as database:
        profile = {
            "API_KEY": "ingest-key",
            "DATABASE_URL": database,
            "SEARCH_URL": services.search_url,
            "SEARCH_ENGINE": "opensearch",
            "SEARCH_INDEX_PREFIX": f"{unique_name}_",
            **{k: e[k] for k in ("S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_REGION", "S3_BUCKET",
                                 "S3_ENDPOINT")},
            "S3_PREFIX": f"{unique_name}/",
        }  # fmt: skip
        home = tmp_path / "home"
        migrated = connectra(home, "migrate", profile=profile)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr

        done = connectra(home, "ingest", str(sample), "--wait", profile=profile)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"cli/{sample.name}: {expected['read']:,} read, {expected['loaded']:,} loaded" in (
            done.stdout
        )
        with psycopg.connect(database) as conn:
            [(contacts,)] = conn.execute("SELECT count(*) FROM contacts").fetchall()
        assert contacts == expected["loaded"]


def test_a_failed_ingest_says_what_it_left_in_the_landing_zone(tmp_path: Path) -> None:
    """The file is landed before the run is queued; when queueing fails (no `connectra up`
    running) the command says so, since a later `connectra up` will still load it."""
    [sample] = write_sample_files(50, tmp_path / "gen", seed=6)
    home = tmp_path / "home"
    failed = connectra(home, "ingest", str(sample), profile={"DAGSTER_PORT": "9"})
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert f"cli/{sample.name}: left in the landing zone (folder " in failed.stdout
    assert "is `connectra up` running?" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert (home / "landing" / "cli" / sample.name).is_file()

"""`connectra ingest --wait`: the same Dagster job for given files, with progress and counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.sample_data import read_manifest, write_sample_files
from stores.duckdb import DuckDBStore

PROFILE_VARS = ("API_KEY", "PG_DB_HOST", "DATABASE_URL", "ELASTICSEARCH_HOST", "SEARCH_URL",
                "S3_BUCKET", "DAGSTER_HOME")  # fmt: skip


def connectra(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
    env["CONNECTRA_HOME"] = str(home)
    return subprocess.run(
        [str(Path(sys.executable).parent / "connectra"), *args],
        env=env, cwd=home.parent, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


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
        assert len(store.ids_for_file("contacts", f"cli/{sample.name}")) == expected["loaded"]
    finally:
        store.close()

    failed = connectra(home, "ingest", str(not_csv), "--wait")
    assert failed.returncode == 1
    assert "cli/photo.csv: FAILED" in failed.stdout and "not" in failed.stdout.lower()

"""Faults during a load: a backend dies after the first batch, comes back, and a rerun of the
file converges to exactly the file's records in both stores.

What the assets rely on (assets/ingest.py): load_file raises TransientStoreError for a
backend that went away, which the asset's retry policy retries; anything else fails the run
for good. So each test checks the type of the failure, that the half-loaded file is visible
(the stores_agree asset check fails on it, nothing is left silently), and that the rerun
leaves both stores holding the same ids, those of a fault-free load of the same file, with
the counts of the sample file's manifest and no duplicate.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from assets.loading import LoadProgress, load_file, stores_agree
from stores.errors import TransientStoreError
from stores.factory import Stores
from stores.landing import LandingZone, LocalLandingZone, S3LandingZone
from stores.settings import S3Settings, Secret
from tests.conftest import Services
from tests.reliability.conftest import CODEC, Proxied
from tests.reliability.faults import TcpProxy, wait_until
from tests.reliability.loads import BATCH_ROWS, KEY, reference_ids, sample

pytestmark = pytest.mark.services


def cut_after_first_batch(proxy: TcpProxy) -> Any:
    def progress(state: LoadProgress) -> None:
        if state.batches == 1:
            proxy.stop()

    return progress


def assert_converged(
    proxied: Proxied, key: str, expected: dict[str, int], reference: dict[str, set[str]],
    counts: LoadProgress,
) -> None:
    stores = Stores(proxied.records, proxied.search, CODEC)
    assert (counts.rows_read, counts.rows_loaded, counts.rows_merged, counts.rows_rejected) == (
        expected["read"], expected["loaded"], expected["merged"], expected["rejected"]
    )
    agreement = stores_agree(stores, key)
    assert agreement.passed, agreement
    for service, ids in reference.items():
        assert set(proxied.records.ids_for_file(service, key)) == ids  # type: ignore[arg-type]
        assert set(proxied.search.ids_for_file(service, key)) == ids  # type: ignore[arg-type]
    # No duplicate anywhere: as many rows and documents as distinct ids.
    assert proxied.records.count_rows("contacts") == len(reference["contacts"]) == expected[
        "loaded"
    ]
    assert proxied.search.count("contacts", None) == len(reference["contacts"])
    assert proxied.records.count_rows("companies") == len(reference["companies"])
    assert proxied.search.count("companies", None) == len(reference["companies"])


def _loader_threads() -> int:
    """Threads other than the proxies' own: a proxy pumps each connection the record store's
    pool keeps open (a load with two batches in flight may open a few more), which are the
    pool's, not threads the load left behind."""
    return sum(
        1
        for thread in threading.enumerate()
        if not thread.name.startswith("proxy-") and not thread.name.endswith("(_tracked)")
    )


def no_threads_left(before: int) -> bool:
    return wait_until(lambda: _loader_threads() <= before, timeout=10)


@pytest.mark.parametrize("victim", ["search", "postgres"])
def test_backend_dies_mid_load_then_a_rerun_converges(
    victim: str, proxied: Proxied, tmp_path: Path
) -> None:
    path, expected = sample(tmp_path, 3_000, seed=11)
    reference = reference_ids(tmp_path, path)
    landing = LocalLandingZone(tmp_path / "landing")
    with path.open("rb") as stream:
        landing.put(KEY, stream)
    stores = Stores(proxied.records, proxied.search, CODEC)
    proxy = proxied.engine if victim == "search" else proxied.pg
    threads_before = _loader_threads()

    with pytest.raises(TransientStoreError) as failure:
        load_file(landing, KEY, stores, "run-1", BATCH_ROWS, progress=cut_after_first_batch(proxy))
    assert failure.value.backend == ("opensearch" if victim == "search" else "postgres")
    assert no_threads_left(threads_before), threading.enumerate()

    proxy.start()  # the backend is back, on the same port
    proxied.search.refresh()  # load_file refreshes at its end only
    partial = stores_agree(stores, KEY)
    if victim == "search":
        # A batch's records commit only once its documents are indexed (assets/loading.py):
        # a batch the engine did not take is rolled back, so the stores hold the same ones.
        assert partial.passed, partial
    # With PostgreSQL gone, a batch may write nothing at all: it takes the index-writes lock
    # (stores/postgres/changes.py) in PostgreSQL before either write starts; one cut between
    # its indexing and its commit leaves the index ahead, which the rerun below repairs.

    counts = load_file(landing, KEY, stores, "run-2", BATCH_ROWS)  # the retry
    assert_converged(proxied, KEY, expected, reference, counts)


@pytest.mark.parametrize("victim", ["search", "postgres"])
def test_a_backend_down_from_the_start_fails_transiently_and_writes_nothing_half(
    victim: str, proxied: Proxied, tmp_path: Path
) -> None:
    path, expected = sample(tmp_path, 1_000, seed=12)
    reference = reference_ids(tmp_path, path)
    landing = LocalLandingZone(tmp_path / "landing")
    with path.open("rb") as stream:
        landing.put(KEY, stream)
    stores = Stores(proxied.records, proxied.search, CODEC)
    proxy = proxied.engine if victim == "search" else proxied.pg
    proxy.stop()
    with pytest.raises(TransientStoreError):
        load_file(landing, KEY, stores, "run-1", BATCH_ROWS)
    proxy.start()
    counts = load_file(landing, KEY, stores, "run-2", BATCH_ROWS)
    assert_converged(proxied, KEY, expected, reference, counts)


# -- the landing zone in S3 -------------------------------------------------------------------


@pytest.fixture
def slow_s3(services: Services, s3: Any) -> Any:
    """moto behind a proxy that streams at 1 MB/s, so a download is still going on when the
    test cuts it."""
    endpoint = services.s3_endpoint.rsplit(":", 1)
    proxy = TcpProxy(endpoint[0].split("//")[-1], int(endpoint[1]), bytes_per_second=1e6)
    with proxy:
        yield proxy


def s3_landing(services: Services, port: int, prefix: str) -> S3LandingZone:
    env = services.env
    return S3LandingZone(
        S3Settings(
            bucket=env["S3_BUCKET"], prefix=prefix, region=env["S3_REGION"],
            access_key=Secret(env["S3_ACCESS_KEY"]), secret_key=Secret(env["S3_SECRET_KEY"]),
            endpoint=f"http://127.0.0.1:{port}",
        )
    )


def test_s3_cut_mid_download_is_transient_and_a_rerun_converges(
    services: Services, s3: Any, slow_s3: TcpProxy, proxied: Proxied, tmp_path: Path
) -> None:
    path, expected = sample(tmp_path, 8_000, seed=13)  # ~3.5 MB: several seconds at 1 MB/s
    reference = reference_ids(tmp_path, path)
    prefix = f"reliability/{uuid.uuid4().hex[:8]}/"
    s3.upload_file(str(path), services.env["S3_BUCKET"], prefix + KEY)
    landing: LandingZone = s3_landing(services, slow_s3.port, prefix)
    stores = Stores(proxied.records, proxied.search, CODEC)
    try:
        with pytest.raises(TransientStoreError):
            load_file(landing, KEY, stores, "run-1", BATCH_ROWS,
                      progress=cut_after_first_batch(slow_s3))
    finally:
        slow_s3.restore()
    counts = load_file(landing, KEY, stores, "run-2", BATCH_ROWS)
    assert_converged(proxied, KEY, expected, reference, counts)


def test_s3_unreachable_when_a_load_starts_is_transient(
    services: Services, s3: Any, slow_s3: TcpProxy, proxied: Proxied, tmp_path: Path
) -> None:
    path, _ = sample(tmp_path, 100, seed=14)
    prefix = f"reliability/{uuid.uuid4().hex[:8]}/"
    s3.upload_file(str(path), services.env["S3_BUCKET"], prefix + KEY)
    landing = s3_landing(services, slow_s3.port, prefix)
    slow_s3.stop()
    stores = Stores(proxied.records, proxied.search, CODEC)
    with pytest.raises(TransientStoreError) as failure:
        load_file(landing, KEY, stores, "run-1", BATCH_ROWS)
    assert failure.value.backend == "s3"
    with pytest.raises(TransientStoreError):
        landing.list()  # the sensor's tick: skipped and retried, not a crash

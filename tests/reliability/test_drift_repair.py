"""A load whose search writes are dropped (the engine cut off mid-load, after PostgreSQL took
the batch) leaves the index behind the records; the drift check finds the file behind and
the reindex it asks for repairs it: both stores then hold the same ids and values.

Real PostgreSQL and OpenSearch, each behind a TcpProxy (tests/reliability/faults.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from assets.loading import LoadProgress, load_file
from orchestration.drift import measure, plan_repair
from orchestration.drift_sensor import differing_values
from orchestration.reindex import reindex
from stores.errors import TransientStoreError
from stores.factory import Stores
from stores.landing import LocalLandingZone
from tests.agreement import assert_stores_agree
from tests.reliability.conftest import CODEC, Proxied
from tests.reliability.loads import BATCH_ROWS, KEY, sample

pytestmark = pytest.mark.services


def test_search_writes_cut_mid_load_are_found_behind_and_repaired(
    proxied: Proxied, opensearch: Any, tmp_path: Path
) -> None:
    path, expected = sample(tmp_path, 3_000, seed=11)  # three read batches
    landing = LocalLandingZone(tmp_path / "landing")
    with path.open("rb") as stream:
        landing.put(KEY, stream)
    stores = Stores(proxied.records, proxied.search, CODEC)

    def cut_the_engine(state: LoadProgress) -> None:
        if state.batches == 2:  # batch 1 is in both stores, batch 2 on its way
            proxied.engine.stop()

    with pytest.raises(TransientStoreError) as failure:
        load_file(landing, KEY, stores, "run-1", BATCH_ROWS, progress=cut_the_engine)
    assert failure.value.backend == "opensearch"
    proxied.engine.start()  # the engine is reachable again; the load is not retried
    proxied.search.refresh()

    started = time.monotonic()
    drift = measure(
        proxied.records, proxied.search,
        same_values=differing_values(proxied.records, proxied.search),
    )  # fmt: skip
    measured = time.monotonic() - started
    records, documents = drift.files_behind["contacts"][KEY]
    assert records > documents > 0, drift.describe()  # PostgreSQL has more of the file
    plan = plan_repair(drift)
    assert plan is not None and plan.files == [KEY], plan

    started = time.monotonic()
    report = reindex(stores, batch_rows=500, files=plan.files)
    repaired = time.monotonic() - started
    assert report.services[1].documents_written == records
    assert plan_repair(measure(proxied.records, proxied.search)) is None
    prefix = proxied.search.index_prefix
    assert_stores_agree(stores, opensearch, prefix, compare={})  # every field of every document
    print(f"drift measured in {measured:.2f} s, {records - documents} documents repaired "
          f"in {repaired:.2f} s ({records} contacts of {expected['read']} rows)")  # fmt: skip

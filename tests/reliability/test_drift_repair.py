"""Documents lost from the index (deleted behind Connectra's back, an old snapshot restored)
leave it behind the records; the drift check finds the file behind and the reindex it asks
for repairs it: both stores then hold the same ids and values.

(A load cut off mid-file no longer leaves such drift: a batch's records commit only once
its documents are indexed, so an engine cut mid-load rolls the batch back in PostgreSQL
too; tests/reliability/test_load_faults.py checks that the stores agree then.)

Real PostgreSQL and OpenSearch, each behind a TcpProxy (tests/reliability/faults.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from assets.loading import load_file
from orchestration.drift import measure, plan_repair
from orchestration.drift_sensor import differing_values
from orchestration.reindex import reindex
from stores.factory import Stores
from stores.landing import LocalLandingZone
from tests.agreement import assert_stores_agree
from tests.reliability.conftest import CODEC, Proxied
from tests.reliability.loads import BATCH_ROWS, KEY, sample

pytestmark = pytest.mark.services


def test_documents_lost_from_the_index_are_found_behind_and_repaired(
    proxied: Proxied, opensearch: Any, tmp_path: Path
) -> None:
    path, expected = sample(tmp_path, 3_000, seed=11)  # three read batches
    landing = LocalLandingZone(tmp_path / "landing")
    with path.open("rb") as stream:
        landing.put(KEY, stream)
    stores = Stores(proxied.records, proxied.search, CODEC)
    load_file(landing, KEY, stores, "run-1", BATCH_ROWS)
    lost = sorted(proxied.records.ids_for_file("contacts", KEY))[::3]  # a third of the file
    opensearch.delete_by_query(
        index=proxied.search.alias("contacts"), body={"query": {"ids": {"values": lost}}},
        refresh=True,
    )  # fmt: skip
    proxied.search.refresh()

    started = time.monotonic()
    drift = measure(
        proxied.records, proxied.search,
        same_values=differing_values(proxied.records, proxied.search),
    )  # fmt: skip
    measured = time.monotonic() - started
    records, documents = drift.files_behind["contacts"][KEY]
    assert records - documents == len(lost), drift.describe()  # PostgreSQL has more
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

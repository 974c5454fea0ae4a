"""Both stores holding the same ids and values: the check of the reindex, drift and outage
tests. The truth is what a rebuild from the records writes with nothing else running."""

from __future__ import annotations

from typing import Any

from orchestration.drift import measure, plan_repair
from orchestration.drift_sensor import COMPARED, differing_values
from orchestration.reindex import reindex
from stores.factory import Stores

SERVICES = ("contacts", "companies")
# The loader's projection of a record is not always the records' own: it stamps the load
# time on a record it sees again (test_reindex_repairs_what_the_loader_left_behind), and a
# contact's company_* fields come from the contact's own batch. So where loads write the
# live index after the swap, documents are compared on the fields the drift check compares.
COMPARED_ONLY: dict[str, tuple[str, ...]] = {s: ("id", *f) for s, f in COMPARED.items()}


def index_documents(opensearch: Any, alias: str) -> dict[str, dict[str, Any]]:
    """Every document behind the alias: id -> _source."""
    opensearch.indices.refresh(index=alias)
    answer = opensearch.search(index=alias, body={"query": {"match_all": {}}, "size": 10_000})
    assert answer["hits"]["total"]["value"] < 10_000
    return {hit["_id"]: hit["_source"] for hit in answer["hits"]["hits"]}


def only(docs: dict[str, dict[str, Any]], fields: tuple[str, ...] | None) -> dict[str, Any]:
    if fields is None:
        return docs
    return {i: {k: d.get(k) for k in fields} for i, d in docs.items()}


def assert_stores_agree(
    stores: Stores, opensearch: Any, prefix: str, compare: dict[str, tuple[str, ...]]
) -> None:
    """Same ids in both stores, each document what a rebuild from the records (with no load
    running) writes (on the `compare` fields of a service, all fields if not given), and no
    drift found."""
    held = {s: index_documents(opensearch, f"{prefix}{s}") for s in SERVICES}
    for service in SERVICES:
        ids = {str(r["id"]) for r in stores.records.fetch(service, sorted(held[service]), ["id"])}  # type: ignore[arg-type]
        assert ids == held[service].keys(), f"{service}: the index holds ids the records lack"
        assert stores.records.count_search_rows(service) == len(held[service]), service  # type: ignore[attr-defined]
    drift = measure(
        stores.records, stores.search, same_values=differing_values(stores.records, stores.search)
    )
    assert plan_repair(drift) is None, drift.describe()
    reindex(stores, batch_rows=2_000)  # the records' own projection, nothing running
    for service in SERVICES:
        truth = only(index_documents(opensearch, f"{prefix}{service}"), compare.get(service))
        seen = only(held[service], compare.get(service))
        wrong = sorted(i for i in truth if seen.get(i) != truth[i])
        first = {k: (seen[wrong[0]].get(k), v) for k, v in truth[wrong[0]].items()} if wrong else {}
        assert not wrong, f"{service}: {len(wrong)} documents differ; (held, records): {first}"

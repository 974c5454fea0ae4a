"""The search index rebuilt from PostgreSQL: the same documents, no failed query on the way.

Real services: a fresh database and an index prefix of the test's own per test; every index
under that prefix (leftovers included) is deleted afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest

from assets.loading import READ_BATCH_FACTOR, load_file
from dbt_like_sql.schemas import COMPANY_DOCUMENT_FIELDS
from orchestration.definitions import build_definitions
from orchestration.reindex import reindex
from orchestration.sample_data import read_manifest, write_sample_files
from stores.base import COMPANY_VIEW_COLUMNS
from stores.errors import TerminalStoreError
from stores.factory import Stores
from stores.landing import LocalLandingZone
from stores.search import SearchEngineStore
from stores.settings import settings_from_mapping
from tests.conftest import Services
from tests.orchestration.conftest import production_variables
from vql.parser import parse_query, parse_where

SERVICES = ("contacts", "companies")
FILE_KEY = "batch/people.csv"


def load_sample(
    stores: Stores, tmp_path: Path, rows: int = 1_500, read_batch: int = 4_000
) -> dict[str, int]:
    """A generated CSV through the real loader, read `read_batch` rows at a time; its
    manifest. One read batch by default: across batches the loader's index drifts from the
    records (see test_reindex_repairs_what_the_loader_left_behind)."""
    [path] = write_sample_files(rows, tmp_path / "gen", seed=11)
    landing = LocalLandingZone(tmp_path / "landing")
    with path.open("rb") as stream:
        landing.put(FILE_KEY, stream)
    load_file(landing, FILE_KEY, stores, "run-1", batch_rows=read_batch // READ_BATCH_FACTOR)
    return dict(read_manifest(path).expected)


def documents(opensearch: Any, alias: str) -> dict[str, dict[str, Any]]:
    """Every document behind the alias: id -> _source."""
    opensearch.indices.refresh(index=alias)
    answer = opensearch.search(index=alias, body={"query": {"match_all": {}}, "size": 10_000})
    assert answer["hits"]["total"]["value"] < 10_000
    return {hit["_id"]: hit["_source"] for hit in answer["hits"]["hits"]}


def behind(opensearch: Any, alias: str) -> list[str]:
    if not opensearch.indices.exists_alias(name=alias):
        return []
    return sorted(opensearch.indices.get_alias(name=alias))


def test_the_document_shape_is_one_list_for_the_loader_and_the_record_store() -> None:
    assert tuple(COMPANY_VIEW_COLUMNS.items()) == COMPANY_DOCUMENT_FIELDS


def test_a_lost_index_is_rebuilt_with_the_same_ids_and_values(
    stores: Stores, opensearch: Any, prefix: str, tmp_path: Path
) -> None:
    expected = load_sample(stores, tmp_path)
    before = {s: documents(opensearch, f"{prefix}{s}") for s in SERVICES}
    assert len(before["contacts"]) == expected["loaded"] and before["companies"]

    for index in opensearch.indices.get_alias(index=f"{prefix}*"):  # the node lost its data
        opensearch.indices.delete(index=index)
    assert behind(opensearch, f"{prefix}contacts") == []

    seen: list[str] = []
    report = reindex(stores, batch_rows=300, progress=lambda p: seen.append(p.describe()))

    assert [s.documents_written for s in report.services] == [
        len(before["companies"]), len(before["contacts"]),
    ]  # fmt: skip
    assert sum(" contacts: " in line and " rows read (" in line for line in seen) > 1
    for service in SERVICES:
        assert behind(opensearch, f"{prefix}{service}") == [f"{prefix}{service}_v2"]
        after = documents(opensearch, f"{prefix}{service}")
        assert after.keys() == before[service].keys()
        differing = [i for i in after if after[i] != before[service][i]]
        assert not differing, _difference(before[service], after, differing)


def _difference(
    old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]], ids: list[str]
) -> dict[str, Any]:
    return {
        i: {k: (old[i].get(k), new[i].get(k)) for k in old[i].keys() | new[i].keys()
            if old[i].get(k) != new[i].get(k)}
        for i in ids[:3]
    }  # fmt: skip


def test_reindex_repairs_what_the_loader_left_behind(
    stores: Stores, opensearch: Any, prefix: str, tmp_path: Path
) -> None:
    """A contact seen again in a later read batch without created_at: the records keep its
    first created_at, the loader's index upsert overwrote it with the load time. After a
    reindex the index holds the records' values."""
    load_sample(stores, tmp_path, read_batch=400)
    reindex(stores, batch_rows=1_000)
    indexed = documents(opensearch, f"{prefix}contacts")
    records = {r["id"]: r for r in stores.records.fetch("contacts", sorted(indexed))}
    assert records.keys() == indexed.keys()
    wrong = [i for i in indexed if indexed[i]["created_at"][:19] != records[i]["created_at"][:19]]
    assert not wrong, [(indexed[i]["created_at"], records[i]["created_at"]) for i in wrong[:3]]


def _queries() -> dict[str, Any]:
    """Counts and pages the test keeps asking while the index is rebuilt."""
    return {
        "count all contacts": ("count", "contacts", parse_where("contacts", {})),
        "count contacts in germany": (
            "count", "contacts",
            parse_where("contacts", {"keyword_match": {"must": {"country": "germany"}}}),
        ),
        "count companies": ("count", "companies", parse_where("companies", {})),
        "page of engineers": (
            "search", "contacts",
            parse_query("contacts", {
                "where": {"text_matches": {"must": [
                    {"filter_key": "title", "text_value": "engineer", "search_type": "shuffle"},
                ]}},
                "order_by": [{"order_by": "created_at", "order_direction": "desc"}], "limit": 50,
            }),
        ),
        "companies by size": (
            "search", "companies",
            parse_query("companies", {"order_by": [{"order_by": "employees_count",
                                                    "order_direction": "desc"}], "limit": 100}),
        ),
    }  # fmt: skip


def _ask(search: Any, kind: str, service: str, query: Any) -> Any:
    if kind == "count":
        return search.count(service, query)
    page = search.search(query)
    return (page.ids, page.total)


def answered_the_same_during(
    search: Any, queries: dict[str, Any], before: dict[str, Any], action: Callable[[], object]
) -> None:
    """Runs `action` while two threads ask `queries` without pause; asserts none failed,
    more than 20 were asked during it, and every answer equals `before`'s."""
    stop = threading.Event()
    answers: list[tuple[str, Any]] = []
    errors: list[BaseException] = []

    def keep_asking() -> None:
        while not stop.is_set():
            for name, query in queries.items():
                try:
                    answers.append((name, _ask(search, *query)))
                except BaseException as exc:  # noqa: BLE001 - collected, asserted below
                    errors.append(exc)

    askers = [threading.Thread(target=keep_asking) for _ in range(2)]
    for asker in askers:
        asker.start()
    try:
        time.sleep(0.3)
        asked_before = len(answers)
        action()
        asked_during = len(answers) - asked_before
        time.sleep(0.5)
    finally:
        stop.set()
        for asker in askers:
            asker.join(30)

    assert not errors, errors[:3]
    assert asked_during > 20  # the queries really ran while the action did its work
    wrong = [(name, answer) for name, answer in answers if answer != before[name]]
    assert not wrong, wrong[:3]


def test_queries_keep_answering_the_same_while_the_index_is_rebuilt(
    stores: Stores, opensearch: Any, prefix: str, tmp_path: Path
) -> None:
    load_sample(stores, tmp_path, rows=3_000)
    queries = _queries()
    before = {name: _ask(stores.search, *q) for name, q in queries.items()}
    assert before["count all contacts"] > 0 and before["page of engineers"][0]
    old = {s: behind(opensearch, f"{prefix}{s}") for s in SERVICES}
    assert old["contacts"] == [f"{prefix}contacts_v1"]

    answered_the_same_during(
        stores.search, queries, before, lambda: reindex(stores, batch_rows=100)
    )
    assert {name: _ask(stores.search, *q) for name, q in queries.items()} == before
    for service in SERVICES:
        assert behind(opensearch, f"{prefix}{service}") == [f"{prefix}{service}_v2"]
        assert not opensearch.indices.exists(index=old[service][0])


def test_reindex_of_a_file_restores_its_missing_documents_in_the_live_index(
    stores: Stores, opensearch: Any, prefix: str, tmp_path: Path
) -> None:
    load_sample(stores, tmp_path)
    alias = f"{prefix}contacts"
    before = documents(opensearch, alias)
    dropped = sorted(before)[:25]  # a load whose search writes were lost
    for doc_id in dropped:
        opensearch.delete(index=alias, id=doc_id)
    opensearch.indices.refresh(index=alias)
    assert len(documents(opensearch, alias)) == len(before) - len(dropped)

    report = reindex(stores, batch_rows=500, files=["no/such/file.csv"])
    assert report.documents == 0
    report = reindex(stores, batch_rows=500, files=[FILE_KEY])

    assert report.mode == "files" and report.services[1].documents_written == len(before)
    assert documents(opensearch, alias) == before
    assert behind(opensearch, alias) == [f"{prefix}contacts_v1"]  # upserts: no new index


def test_a_failed_rebuild_leaves_the_live_index_and_deletes_its_own(
    stores: Stores, opensearch: Any, prefix: str, tmp_path: Path
) -> None:
    load_sample(stores, tmp_path, rows=300)
    search = stores.search
    assert isinstance(search, SearchEngineStore)
    alias = f"{prefix}companies"
    before = documents(opensearch, alias)

    def broken() -> Iterator[pa.Table]:
        yield pa.table({"id": ["00000000-0000-3000-8000-000000000001"], "name": ["Acme"]})
        raise TerminalStoreError("postgres", "the records went away")

    with pytest.raises(TerminalStoreError, match="went away"):
        search.rebuild("companies", broken())
    assert behind(opensearch, alias) == [f"{prefix}companies_v1"]
    assert sorted(opensearch.indices.get_alias(index=f"{prefix}companies_v*")) == [
        f"{prefix}companies_v1"
    ]
    assert documents(opensearch, alias) == before


def test_the_reindex_job_runs_in_dagster_and_logs_each_batch(
    stores: Stores,
    opensearch: Any,
    prefix: str,
    services: Services,
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load_sample(stores, tmp_path)
    before = {s: documents(opensearch, f"{prefix}{s}") for s in SERVICES}
    variables = production_variables(services, database, prefix, tmp_path / "home")
    for name in ("PG_DB_HOST", "ELASTICSEARCH_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**variables, "BATCH_SIZE_FOR_INSERTION": "10"}.items():
        monkeypatch.setenv(name, value)  # what the resource reads, as in a run worker
    job = build_definitions(settings_from_mapping(variables)).resolve_job_def("reindex")

    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success
        messages = [e.user_message for e in instance.all_logs(result.run_id)]

    for service in SERVICES:
        batches = [
            m for m in messages if m.startswith(f"reindex {service}: ") and " rows read (" in m
        ]
        assert len(batches) > (service == "contacts"), messages  # 400-row batches
        assert behind(opensearch, f"{prefix}{service}") == [f"{prefix}{service}_v2"]
        assert documents(opensearch, f"{prefix}{service}") == before[service]
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata  # type: ignore[union-attr]
    assert metadata["contacts_documents"].value == len(before["contacts"])
    assert metadata["contacts_index"].value == f"{prefix}contacts_v2"

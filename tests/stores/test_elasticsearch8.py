"""What only a real Elasticsearch 8 node shows: its media types, an engine without the
analysis-common module, point in time through Elasticsearch's own endpoints.

The node is the one `CONNECTRA_ES=1 make services` starts (tools/elasticsearch/: the server
jar and transport-netty4 from Maven Central, no modules); without it these tests skip. The
rest of the search store's behaviour runs on it through tests/stores/test_search.py's
`elasticsearch8` parameter.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from stores.search import SearchEngineStore, make_search_store
from stores.settings import SearchSettings
from vql.parser import parse_query

pytestmark = pytest.mark.services

COMPANIES = ["a.b*c Labs", "axb*c Labs", "What? Inc", "C:\\Temp Works", "Acme Corp"]


@pytest.fixture
def node(elasticsearch8: tuple[str, int]) -> SearchSettings:
    host, port = elasticsearch8
    return SearchSettings(host, port, engine="elasticsearch")


@pytest.fixture
def store(node: SearchSettings, unique_name: str) -> Iterator[SearchEngineStore]:
    s = make_search_store(node, f"{unique_name}_", replicas=0)
    try:
        yield s
    finally:
        s.drop_indices()
        s.close()


def _companies(names: list[str], source_file: str = "landing/a.csv") -> pa.Table:
    return pa.table(
        {
            "id": [str(uuid.uuid5(uuid.NAMESPACE_URL, n)) for n in names],
            "name": names,
            "source_file": [source_file] * len(names),
        }
    )


def _substring(s: SearchEngineStore, text: str) -> set[str]:
    where = {"text_matches": {"must": [
        {"filter_key": "name", "text_value": text, "search_type": "substring"}
    ]}}  # fmt: skip
    page = s.search(parse_query("companies", {"where": where, "limit": 100}))
    return {str(uuid.UUID(i)) for i in page.ids}


def _ids(*names: str) -> set[str]:
    return {str(uuid.uuid5(uuid.NAMESPACE_URL, n)) for n in names}


def test_the_node_is_elasticsearch_8_and_takes_the_clients_requests(
    store: SearchEngineStore,
) -> None:
    """elasticsearch-py 9 alone marks requests compatible-with=9, which Elasticsearch 8
    refuses with a 400 media_type_header_exception on every call (before the fix: on the
    first index creation); the dialect asks for the 8.x REST API instead."""
    from elasticsearch import BadRequestError, Elasticsearch

    info = store.dialect.info()
    assert info["version"]["number"].startswith("8.") and "distribution" not in info["version"]
    plain = Elasticsearch(store.settings.urls)
    with pytest.raises(BadRequestError) as refused:
        plain.cluster.health()
    assert refused.value.error == "media_type_header_exception"
    plain.close()
    store.ensure_indices()
    store.bulk_upsert("companies", _companies(COMPANIES))
    store.refresh()
    assert store.count("companies", None) == len(COMPANIES)


def test_without_analysis_common_indices_lack_ngram_and_substring_still_works(
    store: SearchEngineStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Before the fix, index creation failed: `Unknown tokenizer type [ngram]`."""
    assert store.dialect.has_ngram_tokenizer() is False
    with caplog.at_level(logging.WARNING, logger="stores.search.store"):
        store.ensure_indices()
    assert "no ngram tokenizer" in caplog.text
    properties = store.dialect.mapping_properties(store.alias("companies"))
    assert set(properties["name"]["fields"]) == {"keyword"}
    assert store.substring_mode("companies") == "wildcard"
    store.bulk_upsert("companies", _companies(COMPANIES))
    store.refresh()
    assert _substring(store, "B*C l") == _ids("a.b*c Labs", "axb*c Labs")  # case-insensitive
    assert _substring(store, "a.b*") == _ids("a.b*c Labs")  # `*` and `.` are literal
    assert _substring(store, "t? i") == _ids("What? Inc")  # so is `?`
    assert _substring(store, "a?b") == set()
    assert _substring(store, ":\\tem") == _ids("C:\\Temp Works")  # and the backslash


def test_a_rebuild_on_this_engine_makes_the_same_lean_index(store: SearchEngineStore) -> None:
    store.ensure_indices()
    rebuilt = store.rebuild("companies", [_companies(COMPANIES)])
    assert rebuilt.documents == len(COMPANIES)
    store.refresh()
    assert store.substring_mode("companies") == "wildcard"
    assert _substring(store, "labs") == _ids("a.b*c Labs", "axb*c Labs")


def test_a_files_ids_are_read_inside_a_point_in_time(
    store: SearchEngineStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Elasticsearch's own `POST /<index>/_pit` and `DELETE /_pit`, opened and closed once."""
    store.ensure_indices()
    store.bulk_upsert("companies", _companies(COMPANIES[:3], "landing/a.csv"))
    store.bulk_upsert("companies", _companies(COMPANIES[3:], "landing/b.csv"))
    store.refresh()
    opened: list[str] = []
    closed: list[str] = []
    dialect: Any = store.dialect
    open_pit, close_pit = dialect.open_pit, dialect.close_pit

    def spy_open(index: str, keep_alive: str) -> str:
        opened.append(open_pit(index, keep_alive))
        return opened[-1]

    def spy_close(pit_id: str) -> None:
        close_pit(pit_id)
        closed.append(pit_id)

    monkeypatch.setattr(dialect, "open_pit", spy_open)
    monkeypatch.setattr(dialect, "close_pit", spy_close)
    assert set(store.ids_for_file("companies", "landing/a.csv")) == _ids(*COMPANIES[:3])
    assert len(opened) == 1 and opened == closed

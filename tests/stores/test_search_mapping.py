"""The lean index of issue 17.1 on every engine test_search.py runs: the n-gram sub-field
only on the fields that take substring, an older index's mapping seen as drift, and a
rebuild that brings it to the current mapping while substring searches answer the same."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from stores.search import SearchEngineStore, index_name
from tests.stores.test_search import _store, engine  # noqa: F401 - the parametrized fixture
from vql.mapping import index_body
from vql.parser import parse_query
from vql.registry import registry

pytestmark = pytest.mark.services

SUBSTRING = {
    "contacts": {"first_name", "last_name", "full_name", "email", "title", "company_name",
                 "company_domain"},
    "companies": {"name", "domain", "website"},
}
NAMES = ["Acme Software", "Globex Security", "Initech Software Labs", "Umbrella Corp"]


@pytest.fixture
def store(engine: Any, unique_name: str) -> Iterator[SearchEngineStore]:  # noqa: F811
    s = _store(engine[1], f"{unique_name}_")
    try:
        yield s
    finally:
        s.drop_indices()
        s.close()


def _companies() -> pa.Table:
    return pa.Table.from_pylist([
        {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, n)), "name": n, "city": "New York",
         "keywords": ["cloud software"], "source_file": ["landing/a.csv"]}
        for n in NAMES
    ])  # fmt: skip


def _substring(s: SearchEngineStore, text: str) -> set[str]:
    where = {"text_matches": {"must": [
        {"filter_key": "name", "text_value": text, "search_type": "substring"}]}}
    return set(s.search(parse_query("companies", {"where": where, "limit": 100})).ids)


def _ids(*names: str) -> set[str]:
    return {str(uuid.uuid5(uuid.NAMESPACE_URL, n)) for n in names}


def _with_ngram(s: SearchEngineStore, service: str) -> set[str]:
    properties = s.dialect.mapping_properties(s.alias(service))
    return {name for name, m in properties.items() if "ngram" in m.get("fields", {})}


def test_new_indices_carry_the_ngram_subfield_only_where_substring_is_taken(
    store: SearchEngineStore,
) -> None:
    """Before 17.1 every text field had one (city, state, country, industries, keywords...);
    on an engine without the ngram tokenizer (Elasticsearch 8 here) none has."""
    store.ensure_indices()
    has_ngram = store.dialect.has_ngram_tokenizer()
    for service in ("contacts", "companies"):
        assert _with_ngram(store, service) == (SUBSTRING[service] if has_ngram else set())
        assert store.mapping_drift(service) == ()  # type: ignore[arg-type]
    store.bulk_upsert("companies", _companies())
    store.refresh()
    assert _substring(store, "SOFTWARE") == _ids("Acme Software", "Initech Software Labs")


def old_body(s: SearchEngineStore, service: str) -> dict[str, Any]:
    """The body indices were made with before 17.1: an n-gram sub-field on every text field."""
    body = s._index_body(service)  # type: ignore[arg-type]
    properties = body["mappings"]["properties"]
    ngram = properties["name" if service == "companies" else "title"]["fields"]["ngram"]
    for field in registry(service):
        if field.analyzed:
            properties[field.name]["fields"]["ngram"] = ngram
    body["aliases"] = {s.alias(service): {}}
    return body


def test_an_index_of_the_old_mapping_is_drift_until_a_rebuild_makes_it_lean(
    store: SearchEngineStore, unique_name: str
) -> None:
    prefix = f"{unique_name}_"
    if not store.dialect.has_ngram_tokenizer():
        # No index with n-gram sub-fields can exist here: the engine refuses the analyzer.
        with pytest.raises(Exception) as refused:
            store.dialect.create_index(index_name(prefix, "companies"), index_body("companies", 0))
        failure = store.dialect.failure(refused.value)
        assert failure is not None and failure.status == 400
        return
        return
    for service in ("contacts", "companies"):
        store.dialect.create_index(index_name(prefix, service), old_body(store, service))
    store.ensure_indices()  # finds them: nothing is recreated, only non-analyzed fields added
    store.bulk_upsert("companies", _companies())
    store.refresh()
    drift = store.mapping_drift("companies")
    assert {line.split(":")[0] for line in drift} == {
        "city", "state", "country", "industries", "keywords", "technologies"}
    assert "keywords: text + keyword, ngram -> text + keyword" in drift
    assert len(store.mapping_drift("contacts")) == 6  # city, state, country, company_*
    assert _substring(store, "ware la") == _ids("Initech Software Labs")  # the old index

    rebuilt = store.rebuild("companies", [_companies()])
    store.refresh()
    assert rebuilt.index == index_name(prefix, "companies", 2)
    assert store.mapping_drift("companies") == ()
    assert _with_ngram(store, "companies") == SUBSTRING["companies"]
    assert _substring(store, "ware la") == _ids("Initech Software Labs")  # the lean one

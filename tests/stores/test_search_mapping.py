"""The lean index of issue 17.1 on every engine test_search.py runs: the n-gram sub-field
only on the fields that take substring, an older index's mapping seen as drift, and a
rebuild that brings it to the current mapping while substring searches answer the same."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pytest

from stores.search import SearchEngineStore, index_name
from tests.old_mappings import properties_17_1, properties_before_17_1
from tests.stores.test_search import _store, engine  # noqa: F401 - the parametrized fixture
from vql.mapping import index_body
from vql.parser import parse_query

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


def old_body(
    s: SearchEngineStore, service: str, properties: Callable[[str], dict[str, Any]] = (
        properties_before_17_1)
) -> dict[str, Any]:
    """The body indices were made with before 17.1 (an n-gram sub-field on every text
    field), or with another mapping of tests/old_mappings.py."""
    body = s._index_body(service)  # type: ignore[arg-type]
    body["mappings"]["properties"] = properties(service)
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
    for service in ("contacts", "companies"):
        store.dialect.create_index(index_name(prefix, service), old_body(store, service))
    store.ensure_indices()  # finds them: nothing is recreated, only non-analyzed fields added
    store.bulk_upsert("companies", _companies())
    store.refresh()
    drift = store.mapping_drift("companies")
    assert {line.split(":")[0] for line in drift} == {
        "city", "state", "country", "industries", "keywords", "technologies",  # 17.1
        "website", "employees_count_min", "employees_count_max", "linkedin_url"}  # 17
    assert "keywords: text + keyword, ngram -> text + keyword" in drift
    assert len(store.mapping_drift("contacts")) == 10  # + full_name, title, phone, linkedin_url
    assert _substring(store, "ware la") == _ids("Initech Software Labs")  # the old index

    rebuilt = store.rebuild("companies", [_companies()])
    store.refresh()
    assert rebuilt.index == index_name(prefix, "companies", 2)
    assert store.mapping_drift("companies") == ()
    assert _with_ngram(store, "companies") == SUBSTRING["companies"]
    assert _substring(store, "ware la") == _ids("Initech Software Labs")  # the lean one


def _search(s: SearchEngineStore, service: str, body: dict[str, Any]) -> set[str]:
    return set(s.search(parse_query(service, {**body, "limit": 100})).ids)


def test_an_index_of_the_17_1_mapping_keeps_working_until_migrate_makes_it_leaner(
    store: SearchEngineStore, unique_name: str
) -> None:
    """Issue 17: parts no query reads (the keyword sub-field of website, linkedin_url and
    employees_count_min/max indexed) are dropped from new indices; an index made with them
    still takes the store's setup (the fields it has are left as they are: putting the new
    parameters on them would be a mapping conflict), answers as before, is reported as drift
    and is rebuilt to the current mapping with the same answers."""
    prefix = f"{unique_name}_"
    for service in ("contacts", "companies"):
        body = old_body(store, service, properties_17_1)
        if not store.dialect.has_ngram_tokenizer():  # the wildcard-mode index of 17.1
            for mapping in body["mappings"]["properties"].values():
                mapping.get("fields", {}).pop("ngram", None)
        store.dialect.create_index(index_name(prefix, service), body)
    store.ensure_indices()
    companies = _companies().append_column(
        "employees_count_min", pa.array([10, 50, 200, 5000], pa.int64())
    ).append_column("website", pa.array(["acme.io", "globex.com", "initech.com", None]))
    store.bulk_upsert("companies", companies)
    store.refresh()
    # without n-grams, website's substring is a wildcard on its keyword sub-field: kept
    website = {"website"} if store.dialect.has_ngram_tokenizer() else set()
    assert {line.split(":")[0] for line in store.mapping_drift("companies")} == {
        "employees_count_min", "employees_count_max", "linkedin_url", *website}
    queries: dict[str, dict[str, Any]] = {
        "substring": {"where": {"text_matches": {"must": [
            {"filter_key": "website", "text_value": "tech.c", "search_type": "substring"}]}}},
        "words": {"where": {"text_matches": {"must": [
            {"filter_key": "website", "text_value": "globex.com", "search_type": "exact"}]}}},
        "keyword": {"where": {"keyword_match": {"must": {"city": "new york"}}},
                    "order_by": [{"order_by": "name", "order_direction": "desc"}]},
    }  # fmt: skip
    before = {name: _search(store, "companies", q) for name, q in queries.items()}
    assert before == {"substring": _ids("Initech Software Labs"),
                      "words": _ids("Globex Security"), "keyword": _ids(*NAMES)}

    store.rebuild("companies", [companies])
    store.refresh()
    assert store.mapping_drift("companies") == ()
    assert {name: _search(store, "companies", q) for name, q in queries.items()} == before
    document = store.get_documents("companies", list(_ids("Acme Software")))
    assert [d["employees_count_min"] for d in document.values()] == [10]  # kept in _source

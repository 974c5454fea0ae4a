"""`connectra migrate` on indices of an older mapping (issue 17.1: before it, an n-gram
sub-field on every text field; issue 17: parts no query reads are no longer indexed):
rebuilt through a new versioned index and the alias swap, while queries keep answering,
unchanged and without one error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestration.migrate import migrate_stores, outdated_indices
from stores.factory import open_stores
from stores.search import SearchEngineStore, index_name
from stores.settings import Settings
from tests.conftest import Services
from tests.orchestration.conftest import production_variables
from tests.orchestration.test_ingest_command import connectra
from tests.orchestration.test_reindex import (
    SERVICES,
    _ask,
    _queries,
    answered_the_same_during,
    behind,
    load_sample,
)
from tests.stores.test_search_mapping import old_body
from vql.parser import parse_query, parse_where


def _substring_queries() -> dict[str, Any]:
    def text(service: str, field: str, value: str, kind: str = "substring") -> Any:
        where = {"text_matches": {"must": [
            {"filter_key": field, "text_value": value, "search_type": kind}]}}
        return ("count", service, parse_where(service, where))

    return {
        "contacts with 'gineer' in the title": text("contacts", "title", "gineer"),
        "contacts with 'son@' in the email": text("contacts", "email", "son@"),
        "companies with 'tech' in the name": text("companies", "name", "tech"),
        "contacts in new york (words)": text("contacts", "city", "new york", "shuffle"),
        "page of substring matches": ("search", "contacts", parse_query("contacts", {
            "where": {"text_matches": {"must": [
                {"filter_key": "company_name", "text_value": "sys", "search_type": "substring"},
            ]}}, "limit": 20})),
    }  # fmt: skip


def test_migrate_rebuilds_an_index_of_the_old_mapping_while_queries_keep_answering(
    settings: Settings, opensearch: Any, prefix: str, tmp_path: Path
) -> None:
    stores = open_stores(settings)
    search = stores.search
    assert isinstance(search, SearchEngineStore)
    for service in SERVICES:
        search.dialect.create_index(index_name(prefix, service), old_body(search, service))
    try:
        load_sample(stores, tmp_path, rows=3_000)
        assert set(outdated_indices(stores)) == set(SERVICES)
        queries = {**_queries(), **_substring_queries()}
        before = {name: _ask(search, *q) for name, q in queries.items()}
        assert all(before[name] for name in _substring_queries()), before

        said: list[str] = []
        answered_the_same_during(
            search, queries, before, lambda: migrate_stores(settings, said.append)
        )
        assert any(
            line.startswith("contacts index: mapping out of date (full_name: text + keyword, "
                            "ngram -> text + ngram; title: ") and
            "; city: text + keyword, ngram -> text + keyword;" in line for line in said
        ), said
        assert any(line.startswith("reindex contacts: ") and "swapped from" in line
                   for line in said), said
        for service in SERVICES:
            assert behind(opensearch, f"{prefix}{service}") == [f"{prefix}{service}_v2"]
            assert not opensearch.indices.exists(index=index_name(prefix, service))
        assert outdated_indices(stores) == {}
        assert {name: _ask(search, *q) for name, q in queries.items()} == before

        again: list[str] = []
        migrate_stores(settings, again.append)  # up to date: nothing to do
        assert again == []
        assert behind(opensearch, f"{prefix}contacts") == [f"{prefix}contacts_v2"]
    finally:
        stores.close()


def test_the_migrate_command_says_what_drifted_and_rebuilds_it(
    settings: Settings, services: Services, database: str, opensearch: Any, prefix: str,
    tmp_path: Path,
) -> None:
    """`connectra migrate` as a user runs it, on empty indices of the old mapping: it names
    the fields that differ, rebuilds, and a second run finds nothing to do."""
    stores = open_stores(settings)
    search = stores.search
    assert isinstance(search, SearchEngineStore)
    try:
        for service in SERVICES:
            search.dialect.create_index(index_name(prefix, service), old_body(search, service))
    finally:
        stores.close()
    home = tmp_path / "home"
    profile = production_variables(services, database, prefix, home)

    done = connectra(home, "migrate", profile=profile)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "companies index: mapping out of date (website: text + keyword, ngram -> text + " \
        "ngram; industries: text + keyword, ngram -> text + keyword; employees_count_min: " \
        "long -> long (not indexed, no doc values); employees_count_max: " in done.stdout
    assert f"0 documents in {prefix}companies_v2" in done.stdout
    assert "schema and indices ready (production profile)" in done.stdout
    for service in SERVICES:
        assert behind(opensearch, f"{prefix}{service}") == [f"{prefix}{service}_v2"]

    again = connectra(home, "migrate", profile=profile)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "out of date" not in again.stdout and "reindex" not in again.stdout

"""Versioned indices behind stable aliases, created idempotently and race-safely.

Readers and writers only ever name the alias (`contacts`), so a later mapping version can be
built beside the live one (`contacts_v2`) and swapped in by moving the alias, with no
downtime. Creation is one request that makes the index and its alias together, so two
processes racing to set up see either nothing or both; the loser's
`resource_already_exists_exception` is success.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stores.base import Service
from stores.errors import TerminalStoreError
from stores.search.dialect import Dialect
from stores.search.errors import translate

SERVICES: tuple[Service, ...] = ("contacts", "companies")
INDEX_VERSION = 1  # bump when the mapping changes incompatibly; a reindex then moves the alias


def alias_name(prefix: str, service: str) -> str:
    return f"{prefix}{service}"


def index_name(prefix: str, service: str, version: int = INDEX_VERSION) -> str:
    return f"{prefix}{service}_v{version}"


def ensure_index(
    dialect: Dialect,
    prefix: str,
    service: Service,
    body_for: Callable[[Service], dict[str, Any]],
    mappings_for: Callable[[Service], dict[str, Any]] | None = None,
) -> str:
    """Makes sure alias -> some index exists; returns the index the alias points to. An
    existing index is given the fields of `mappings_for(service)` it lacks (fields added
    since it was made); those it has stay as they are, even where the mapping changed
    since (that is drift: `connectra migrate` rebuilds the index, vql.mapping_drift)."""
    alias = alias_name(prefix, service)
    try:
        existing = dialect.alias_indices(alias)
        if existing:
            # Whichever version is live (never step back to ours), given the fields the
            # mapping gained since it was created: adding a field needs no reindex.
            if mappings_for is not None:
                _add_missing_fields(dialect, existing[0], mappings_for(service))
            return existing[0]
        index = index_name(prefix, service)
        body = dict(body_for(service))
        body["aliases"] = {**body.get("aliases", {}), alias: {}}
        try:
            dialect.create_index(index, body)
        except Exception as exc:
            failure = dialect.failure(exc)
            if failure is None or "resource_already_exists" not in failure.error_type:
                raise
            # Another process created it (with the alias, atomically) or an older run
            # created the index without the alias: either way, make sure the alias is there.
            if alias not in dialect.aliases_of(index):
                dialect.put_alias(index, alias)
        return index
    except TerminalStoreError:
        raise
    except Exception as exc:
        raise translate(dialect, exc, f"create index {alias}") from exc


def _add_missing_fields(dialect: Dialect, index: str, mappings: dict[str, Any]) -> None:
    """Puts the fields of `mappings` that `index` does not map yet (an existing field given
    with other parameters would be refused as a conflict)."""
    have = dialect.mapping_properties(index)
    missing = {k: v for k, v in mappings.get("properties", {}).items() if k not in have}
    if missing:
        dialect.put_mapping(index, {**mappings, "properties": missing})


def drop_indices(dialect: Dialect, prefix: str) -> None:
    """Deletes every versioned index behind this prefix's aliases (tests; never the API)."""
    for service in SERVICES:
        for index in dialect.alias_indices(alias_name(prefix, service)):
            dialect.delete_index(index)

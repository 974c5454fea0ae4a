"""Rebuilding one service's index beside the live one, then swapping the alias to it.

The index is derived data: the records can always rebuild it. A rebuild writes every document
into a new versioned index (`contacts_v3` when `contacts_v2` is live: one more than the
highest version there is, and never the default version `ensure_index` would create, so a
process that recreates a lost index meanwhile cannot collide with the one being built).
Until the swap, readers and writers keep using the live index behind the alias; the new
index is written through a build alias of its own (`contacts_rebuild`), so `require_alias`
still guards every write. While it is built the new index has no replicas and no refresh
(the cheapest way in); both are restored, the index refreshed and its document count
checked, and then one `_aliases` request moves the alias (removes it from the old index,
adds it to the new, drops the build alias): readers see the old index or the new one, never
neither. The old index is deleted a moment later, once searches already running on it
have ended. A rebuild that fails deletes its half-built index; the alias never moved.

A missing alias (the node lost its data) is no special case: there is nothing to remove,
and the rebuild creates the alias. Indices of the pattern that no alias points at are
leftovers of a rebuild that died; they are deleted before a new one starts.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from stores.base import Service
from stores.errors import TerminalStoreError
from stores.search.bulk import BulkOptions, BulkWriter
from stores.search.dialect import Dialect
from stores.search.indices import INDEX_VERSION, alias_name, index_name

log = logging.getLogger(__name__)
BUILD_ALIAS_SUFFIX = "_rebuild"
DELETE_GRACE_SECONDS = 2.0  # searches that resolved the alias just before the swap finish
GREEN_WAIT_SECONDS = 120


@dataclass(frozen=True)
class Rebuilt:
    service: Service
    alias: str
    index: str
    replaced: tuple[str, ...]  # the indices the alias pointed to before (now deleted)
    leftovers: tuple[str, ...]  # indices of a rebuild that died, deleted first
    documents: int
    seconds: float

    def describe(self) -> str:
        before = ", ".join(self.replaced) or "no index (built fresh)"
        return (
            f"{self.service}: {self.documents:,} documents in {self.index}, alias {self.alias} "
            f"swapped from {before} ({self.seconds:.1f} s, "
            f"{self.documents / max(self.seconds, 1e-6):,.0f} documents/s)"
        )


def versioned_indices(dialect: Dialect, prefix: str, service: Service) -> dict[str, set[str]]:
    """Every `{prefix}{service}_v<n>` index, with its aliases."""
    stem = re.escape(alias_name(prefix, service))
    pattern = re.compile(rf"{stem}_v(\d+)")
    found = dialect.indices_matching(f"{alias_name(prefix, service)}_v*")
    return {name: aliases for name, aliases in found.items() if pattern.fullmatch(name)}


def version_of(index: str) -> int:
    return int(index.rsplit("_v", 1)[1])


def next_version(existing: Iterable[str]) -> int:
    return max([INDEX_VERSION, *(version_of(i) for i in existing)]) + 1


def build_body(body: dict[str, Any], build_alias: str) -> dict[str, Any]:
    """The index body for building: no replicas, no refresh, the build alias."""
    built = copy.deepcopy(body)
    index_settings = built.setdefault("settings", {}).setdefault("index", {})
    index_settings["number_of_replicas"] = 0
    index_settings["refresh_interval"] = "-1"
    built["aliases"] = {build_alias: {}}
    return built


def rebuild_index(
    dialect: Dialect,
    prefix: str,
    service: Service,
    body: dict[str, Any],
    documents: Iterable[pa.Table],
    *,
    replicas: int,
    bulk_options: BulkOptions | None = None,
    delete_grace_seconds: float = DELETE_GRACE_SECONDS,
    created: Callable[[str], None] = lambda index: None,
) -> Rebuilt:
    """Builds `documents` into a new versioned index and moves the alias to it; `created`
    hears the new index's name before the first document is written."""
    started = time.monotonic()
    alias = alias_name(prefix, service)
    building = f"{alias}{BUILD_ALIAS_SUFFIX}"
    existing = versioned_indices(dialect, prefix, service)
    leftovers = tuple(sorted(i for i, aliases in existing.items() if alias not in aliases))
    for index in leftovers:
        log.info("rebuild %s: deleting %s, left by a rebuild that did not finish", alias, index)
        dialect.delete_index(index)
    new = index_name(prefix, service, next_version(existing))
    dialect.create_index(new, build_body(body, building))
    try:
        created(new)
        sent = BulkWriter(dialect, bulk_options).write_all(building, documents, action="index")
        dialect.put_settings(
            new, {"index": {"number_of_replicas": replicas, "refresh_interval": None}}
        )
        dialect.refresh(new)
        held = dialect.count(new, {"match_all": {}})
        if held != sent:
            raise TerminalStoreError(
                dialect.engine, f"rebuild {alias}: {new} holds {held:,} of {sent:,} documents"
            )
        if replicas and not dialect.wait_for_green(new, GREEN_WAIT_SECONDS):
            log.warning("rebuild %s: replicas of %s not all allocated yet", alias, new)
        live = dialect.alias_indices(alias)  # read again: another process may have moved it
        actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": alias}} for i in live]
        actions += [
            {"remove": {"index": new, "alias": building}},
            {"add": {"index": new, "alias": alias}},
        ]
        dialect.update_aliases(actions)
    except BaseException:
        _delete_quietly(dialect, new)
        raise
    if live:
        time.sleep(delete_grace_seconds)
    for old in live:
        dialect.delete_index(old)
    return Rebuilt(
        service, alias, new, tuple(live), leftovers, sent, time.monotonic() - started
    )


def _delete_quietly(dialect: Dialect, index: str) -> None:
    try:
        dialect.delete_index(index)
    except Exception as exc:  # noqa: BLE001 - the rebuild's own error is the one to report
        log.warning("could not delete the half-built index %s (%s)", index, type(exc).__name__)

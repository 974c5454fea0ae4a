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
Whatever loads write to the live index while the new one is built is not lost with it: the
caller writes the records those loads changed into the new index before the swap
(IndexBuild's steps; orchestration/reindex.py).

A missing alias (the node lost its data) is no special case: there is nothing to remove,
and the rebuild creates the alias. Indices of the pattern that no alias points at are
leftovers of a rebuild that died; they are deleted before a new one starts.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from stores.base import Service
from stores.errors import StoreError, TerminalStoreError
from stores.search.bulk import BulkOptions, BulkWriter
from stores.search.dialect import Dialect
from stores.search.errors import translate
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


class IndexBuild:
    """One rebuild of one service's index, step by step, so that the caller can write more
    than one stream into it and choose when the alias moves (orchestration/reindex.py writes
    the records' snapshot, then what loads changed meanwhile, and swaps under a lock):
    begin() -> write()... -> settle() -> swap(expected) -> retire(), or discard() on failure.
    Each step raises StoreErrors only."""

    def __init__(
        self,
        dialect: Dialect,
        prefix: str,
        service: Service,
        body: dict[str, Any],
        *,
        replicas: int,
        bulk_options: BulkOptions | None = None,
        delete_grace_seconds: float = DELETE_GRACE_SECONDS,
    ) -> None:
        self.dialect = dialect
        self.prefix = prefix
        self.service = service
        self.body = body
        self.replicas = replicas
        self.bulk_options = bulk_options
        self.delete_grace_seconds = delete_grace_seconds
        self.alias = alias_name(prefix, service)
        self.building = f"{self.alias}{BUILD_ALIAS_SUFFIX}"
        self.index = ""
        self.leftovers: tuple[str, ...] = ()
        self.replaced: tuple[str, ...] = ()
        self.documents = 0
        self.swapped = False
        self.started = time.monotonic()

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            raise translate(self.dialect, exc, f"rebuild {self.alias}: {what}") from exc

    def begin(self) -> str:
        """Deletes the leftovers of rebuilds that died and creates the new index (no
        replicas, no refresh, the build alias); returns its name."""
        with self._translated("create the new index"):
            existing = versioned_indices(self.dialect, self.prefix, self.service)
            self.leftovers = tuple(
                sorted(i for i, aliases in existing.items() if self.alias not in aliases)
            )
            for index in self.leftovers:
                log.info("rebuild %s: deleting %s, left by a rebuild that died", self.alias, index)
                self.dialect.delete_index(index)
            self.index = index_name(self.prefix, self.service, next_version(existing))
            self.dialect.create_index(self.index, build_body(self.body, self.building))
        return self.index

    def write(self, documents: Iterable[pa.Table]) -> int:
        """Writes whole documents through the build alias (a later one of an id replaces the
        earlier); returns how many were sent."""
        return BulkWriter(self.dialect, self.bulk_options).write_all(
            self.building, documents, action="index"
        )

    def settle(self) -> None:
        """Restores replicas and refresh and waits (bounded) for the replicas: the slow part
        of finishing, done before the caller stops the writers for the swap."""
        with self._translated("restore replicas and refresh"):
            self.dialect.put_settings(
                self.index,
                {"index": {"number_of_replicas": self.replicas, "refresh_interval": None}},
            )
            if self.replicas and not self.dialect.wait_for_green(self.index, GREEN_WAIT_SECONDS):
                log.warning("rebuild %s: replicas of %s not all allocated yet", self.alias,
                            self.index)  # fmt: skip

    def swap(self, expected: int) -> None:
        """Checks the new index holds `expected` documents, then moves the alias to it in
        one `_aliases` request (readers see the old index or the new one, never neither)."""
        with self._translated("swap the alias"):
            self.dialect.refresh(self.index)
            held = self.dialect.count(self.index, {"match_all": {}})
            if held != expected:
                raise TerminalStoreError(
                    self.dialect.engine,
                    f"rebuild {self.alias}: {self.index} holds {held:,} of {expected:,} documents",
                )
            live = self.dialect.alias_indices(self.alias)  # another process may have moved it
            actions: list[dict[str, Any]] = [
                {"remove": {"index": i, "alias": self.alias}} for i in live
            ]
            actions += [
                {"remove": {"index": self.index, "alias": self.building}},
                {"add": {"index": self.index, "alias": self.alias}},
            ]
            self.dialect.update_aliases(actions)
        self.replaced = tuple(live)
        self.documents = held
        self.swapped = True

    def retire(self) -> Rebuilt:
        """Deletes the replaced indices, once searches already running on them have ended."""
        if self.replaced:
            time.sleep(self.delete_grace_seconds)
        with self._translated("delete the replaced index"):
            for old in self.replaced:
                self.dialect.delete_index(old)
        return Rebuilt(
            self.service, self.alias, self.index, self.replaced, self.leftovers,
            self.documents, time.monotonic() - self.started,
        )  # fmt: skip

    def discard(self) -> None:
        """A failed rebuild deletes its half-built index; the alias never moved."""
        if self.index and not self.swapped:
            _delete_quietly(self.dialect, self.index)


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
    """Builds `documents` into a new versioned index and moves the alias to it, with nothing
    written meanwhile to watch for; `created` hears the new index's name first."""
    build = IndexBuild(
        dialect, prefix, service, body, replicas=replicas, bulk_options=bulk_options,
        delete_grace_seconds=delete_grace_seconds,
    )  # fmt: skip
    try:
        created(build.begin())
        sent = build.write(documents)
        build.settle()
        build.swap(expected=sent)
    except BaseException:
        build.discard()
        raise
    return build.retire()


def _delete_quietly(dialect: Dialect, index: str) -> None:
    try:
        dialect.delete_index(index)
    except Exception as exc:  # noqa: BLE001 - the rebuild's own error is the one to report
        log.warning("could not delete the half-built index %s (%s)", index, type(exc).__name__)

"""The search store on OpenSearch or Elasticsearch: VQL in, ids and exact totals out.

Everything here is written once for both engines; the dialect (chosen from settings, or
detected from `GET /` on first use, so a process can start while the engine is down) hides
the two client libraries. Every driver exception leaves this class as a stores.errors
StoreError; VQL errors (a cursor for another engine family) pass through unchanged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

import pyarrow as pa

from stores.base import SearchPage, Service, ValueCount
from stores.errors import IndexMissing, StoreError
from stores.search import lineage
from stores.search.bulk import BulkOptions, BulkWriter
from stores.search.dialect import DIALECTS, Dialect, OpenSearchDialect
from stores.search.errors import translate
from stores.search.indices import SERVICES, alias_name, drop_indices, ensure_index
from stores.search.rebuild import IndexBuild, Rebuilt, rebuild_index
from stores.settings import SearchSettings
from vql.cursor import CursorCodec
from vql.cursor_values import sort_values_from_hit
from vql.errors import ErrorDetail, VQLUnsupportedError
from vql.explain import ExplainRequest, count_plan, explain_payload, probes
from vql.explain_search import (
    compile_search_counts,
    compile_search_probes,
    read_search_counts,
    read_search_probes,
)
from vql.facets import FacetsRequest, facets_payload
from vql.facets_search import (
    compile_search_all_values,
    compile_search_facets,
    read_search_facets,
)
from vql.mapping import (
    SubstringMode,
    index_body,
    mapping_drift,
    search_path,
    substring_mode_of,
)
from vql.nodes import Query, Where
from vql.registry import registry
from vql.search import compile_search, compile_search_where
from vql.values import ValuesRequest, compile_search_values

log = logging.getLogger(__name__)
T = TypeVar("T")
SCAN_PAGE = 5_000
FILE_COUNTS_PAGE = 1_000
PIT_KEEP_ALIVE = "2m"


class SearchEngineStore:
    """stores.base.SearchStore on a search engine, behind `{index_prefix}contacts` etc.

    `cursors` signs next_cursor values; it must be the codec the API parses requests with.
    Without one, pages carry no next_cursor (page/limit paging still works).
    `replicas` None picks 0 on a single data node and 1 otherwise, at index creation.
    """

    def __init__(
        self,
        settings: SearchSettings,
        index_prefix: str = "",
        *,
        cursors: CursorCodec | None = None,
        replicas: int | None = None,
        timeout_seconds: float = 30.0,
        bulk_options: BulkOptions | None = None,
        merge_in_engine: bool | None = None,
    ) -> None:
        self.settings = settings
        self.index_prefix = index_prefix
        self.cursors = cursors
        self.replicas = replicas
        self.timeout_seconds = timeout_seconds
        self.bulk_options = bulk_options or BulkOptions()
        # None: asked of the engine at the first write (does it run Painless?)
        self._merge_in_engine = merge_in_engine
        self._dialect: Dialect | None = None
        self._lock = threading.Lock()
        self._ensured = False
        self._new_index_substring: SubstringMode | None = None
        self._substring_modes: dict[str, SubstringMode] = {}

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        """The client dialect, detected from the server on first use."""
        if self._dialect is None:
            with self._lock:
                if self._dialect is None:
                    self._dialect = self._connect()
        return self._dialect

    @property
    def engine(self) -> str:
        return self.dialect.engine

    def _connect(self) -> Dialect:
        engine = self.settings.engine
        # A request that finds its node away is retried once, or on each other node given.
        retries = max(1, len(self.settings.more_hosts))
        if engine in DIALECTS:
            return DIALECTS[engine](self.settings, self.timeout_seconds, max_retries=retries)
        # opensearch-py makes no product check, so it can ask any of the two what it is.
        probe = OpenSearchDialect(self.settings, self.timeout_seconds, max_retries=retries)
        try:
            info = probe.info()
        except Exception as exc:
            probe.close()
            raise translate(probe, exc, "detect the search engine") from exc
        if info.get("version", {}).get("distribution") == "opensearch":
            return probe
        probe.close()
        return DIALECTS["elasticsearch"](self.settings, self.timeout_seconds, max_retries=retries)

    def _call(self, operation: str, call: Callable[[Dialect], T]) -> T:
        dialect = self.dialect
        try:
            return call(dialect)
        except StoreError:
            raise
        except Exception as exc:
            raise translate(dialect, exc, operation) from exc

    def _search(self, operation: str, index: str | None, body: dict[str, Any]) -> Any:
        return self._call(operation, lambda d: d.search(index, body))

    def alias(self, service: str) -> str:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
        return alias_name(self.index_prefix, service)

    # -- indices ----------------------------------------------------------------------------

    def ensure_indices(self) -> None:
        """Creates the versioned indices and their aliases unless they exist (race-safe)."""
        for service in SERVICES:
            ensure_index(
                self.dialect, self.index_prefix, service, self._index_body, _mappings
            )
        self._ensured = True

    def _index_body(self, service: Service) -> dict[str, Any]:
        """Asked only when an index is actually created (so usually never)."""
        return index_body(service, self._replicas(), self._substring_for_new_index())

    def _substring_for_new_index(self) -> SubstringMode:
        """`ngram` where the engine has the ngram tokenizer, else `wildcard` (the index is
        then made without n-gram sub-fields; substring conditions become wildcard queries)."""
        if self._new_index_substring is None:
            has = self._call("probe the ngram tokenizer", lambda d: d.has_ngram_tokenizer())
            if not has:
                log.warning(
                    "%s has no ngram tokenizer (the analysis-common module): new indices get "
                    "no n-gram sub-fields; substring conditions run as wildcard queries on "
                    "the keyword sub-fields",
                    self.engine,
                )
            self._new_index_substring = "ngram" if has else "wildcard"
        return self._new_index_substring

    def substring_mode(self, service: str) -> SubstringMode:
        """How the live index of `service` answers substring conditions (read from its
        mapping once: an index made without n-gram sub-fields keeps that until a reindex)."""
        mode = self._substring_modes.get(service)
        if mode is None:
            alias = self.alias(service)
            properties = self._call("read the mapping", lambda d: d.mapping_properties(alias))
            mode = self._substring_modes[service] = substring_mode_of(service, properties)
        return mode

    def _substring(self, service: str, where: Where | None) -> SubstringMode:
        """The substring mode, looked up only for a where with a substring condition."""
        if where is None:
            return "ngram"
        if not any(c.kind == "substring" for c in (*where.must, *where.must_not, *where.should)):
            return "ngram"
        return self.substring_mode(service)

    def _replicas(self) -> int:
        if self.replicas is not None:
            return self.replicas
        nodes = self._call("read cluster health", lambda d: d.data_nodes())
        return 0 if nodes <= 1 else 1

    def rebuild(
        self,
        service: Service,
        documents: Iterable[pa.Table],
        created: Callable[[str], None] = lambda index: None,
    ) -> Rebuilt:
        """Builds `documents` (every document of the service) into a new versioned index
        with the current mapping, then swaps the alias to it (stores/search/rebuild.py)."""
        replicas = self._replicas()
        body = index_body(service, replicas, self._substring_for_new_index())
        self._substring_modes.pop(service, None)  # the alias moves to an index of this body
        return self._call(
            f"rebuild {self.alias(service)}",
            lambda d: rebuild_index(
                d,
                self.index_prefix,
                service,
                body,
                documents,
                replicas=replicas,
                bulk_options=self.bulk_options,
                created=created,
            ),
        )

    def index_build(self, service: Service) -> IndexBuild:
        """A rebuild of the service's index with the current mapping, to be driven step by
        step (IndexBuild.begin() first); each step raises StoreErrors only."""
        replicas = self._replicas()
        body = index_body(service, replicas, self._substring_for_new_index())
        self._substring_modes.pop(service, None)  # the alias moves to an index of this body
        return IndexBuild(
            self.dialect, self.index_prefix, service, body,
            replicas=replicas, bulk_options=self.bulk_options,
        )  # fmt: skip

    def mapping_drift(self, service: Service) -> tuple[str, ...]:
        """How the live index of `service` differs from the mapping a new one gets (one
        line per field: vql.mapping.mapping_drift); empty when it is up to date. A rebuild
        (orchestration/reindex.py) moves the alias to an index of the current mapping."""
        alias = self.alias(service)
        properties = self._call("read the mapping", lambda d: d.mapping_properties(alias))
        return mapping_drift(service, properties, self._substring_for_new_index())

    def drop_indices(self) -> None:
        """Deletes this prefix's indices: for tests and teardown, never called by the API."""
        self._call("delete indices", lambda d: drop_indices(d, self.index_prefix))
        self._ensured = False
        self._substring_modes.clear()

    def refresh(self) -> None:
        targets = ",".join(self.alias(s) for s in SERVICES)
        self._call("refresh", lambda d: d.refresh(targets))

    # -- writes -----------------------------------------------------------------------------

    def merges_in_engine(self) -> bool:
        """Whether the engine runs the lineage merge script (Painless); else the store merges
        each batch with the stored lineage itself (stores/search/lineage.py)."""
        if self._merge_in_engine is None:
            languages = self._call("list script languages", lambda d: d.script_languages())
            self._merge_in_engine = "painless" in languages
            if not self._merge_in_engine:
                log.warning(
                    "%s runs no Painless: lineage is merged by reading each batch's stored "
                    "lineage before writing it (stores/search/lineage.py)",
                    self.engine,
                )
        return self._merge_in_engine

    def _writer(self) -> BulkWriter:
        return BulkWriter(self.dialect, self.bulk_options, scripted=self.merges_in_engine())

    def _merged(self, service: Service, documents: pa.Table) -> pa.Table:
        """The documents ready for the writer: as they are when the engine merges them."""
        if self.merges_in_engine() or documents.num_rows == 0:
            return documents
        ids = list(dict.fromkeys(str(i) for i in documents.column("id").to_pylist()))
        alias, fields = self.alias(service), list(lineage.STORED_LINEAGE)
        stored: dict[str, Any] = {}
        for start in range(0, len(ids), SCAN_PAGE):
            chunk = ids[start : start + SCAN_PAGE]

            def read(d: Dialect, c: list[str] = chunk) -> dict[str, Any]:
                return d.get_sources(alias, c, fields)

            stored.update(self._call("read stored lineage", read))
        return lineage.merged_with_stored(documents, stored)

    def bulk_upsert(self, service: Service, documents: pa.Table) -> None:
        """Partial upserts by id (a new non-null value wins; nulls never erase; lineage
        merged as in the record stores)."""
        alias = self.alias(service)
        if not self._ensured:
            self.ensure_indices()
        try:
            sent = self._writer().write(alias, self._merged(service, documents))
        except IndexMissing:
            # The node lost the index under us: the retry of this batch ensures it again (the
            # drift check then finds the files it no longer holds and reindexes them).
            self._ensured = False
            raise
        log.debug("bulk upsert: %d documents into %s", sent, alias)

    def index_documents(self, service: Service, sources: Iterable[tuple[str, str]]) -> int:
        """Writes whole documents, (id, JSON source) each, replacing what the index held
        for those ids: documents that are already the merged record (the records'
        projection, PostgresRecordStore.upserted_documents), so no merge runs here."""
        alias = self.alias(service)
        if not self._ensured:
            self.ensure_indices()
        try:
            return BulkWriter(self.dialect, self.bulk_options).write_sources(alias, sources)
        except IndexMissing:
            self._ensured = False
            raise

    def bulk_upsert_all(self, service: Service, documents: Iterable[pa.Table]) -> int:
        """bulk_upsert for a stream of tables, the senders kept busy across them."""
        alias = self.alias(service)
        if not self._ensured:
            self.ensure_indices()
        return self._writer().write_all(alias, (self._merged(service, d) for d in documents))

    # -- reads ------------------------------------------------------------------------------

    def search(self, query: Query) -> SearchPage:
        body = compile_search(query, self._substring(query.service, query.where))
        paged_by_cursor = query.cursor is not None
        if paged_by_cursor:
            body["size"] = query.limit + 1  # one extra hit tells whether another page exists
        response = self._search("search", self.alias(query.service), body)
        hits = response["hits"]["hits"]
        total = int(response["hits"]["total"]["value"])
        if paged_by_cursor:
            more = len(hits) > query.limit
            hits = hits[: query.limit]
        else:
            more = query.offset + len(hits) < total
        next_cursor = None
        if more and hits and self.cursors is not None:
            next_cursor = self.cursors.encode(query, sort_values_from_hit(query, hits[-1]))
        return SearchPage([hit["_id"] for hit in hits], total, next_cursor)

    def count(self, service: Service, where: Where | None) -> int:
        if where is None:
            query: dict[str, Any] = {"match_all": {}}
        else:
            query = compile_search_where(where, self._substring(service, where))
        return self._call("count", lambda d: d.count(self.alias(service), query))

    def values(
        self,
        service: Service,
        field: str,
        search_text: str,
        limit: int,
        where: Where | None = None,
    ) -> list[ValueCount]:
        """Distinct values containing search_text (case-insensitive), most frequent first."""
        spec = registry(service).get(field)
        if spec is None or not spec.has_values:
            listable = [f.name for f in registry(service) if f.has_values]
            message = f"{field!r} has no value list; allowed: {', '.join(listable)}"
            raise VQLUnsupportedError([ErrorDetail("/filter_key", message, "unsupported")])
        request = ValuesRequest(service, field, search_text or None, max(1, limit), where)
        # terms on the keyword path, escaped `include`
        body = compile_search_values(request, self._substring(service, where))
        response = self._search("values", self.alias(service), body)
        buckets = response["aggregations"]["values"]["buckets"]
        return [ValueCount(str(b["key"]), int(b["doc_count"])) for b in buckets]

    def facets(self, request: FacetsRequest) -> dict[str, Any]:
        """Disjunctive facet counts in one request (vql/facets_search.py)."""
        alias = self.alias(request.service)
        substring = self._substring(request.service, request.where)
        response = self._search("facets", alias, compile_search_facets(request, substring))

        def recount(index: int) -> list[tuple[str, int]]:
            every: list[tuple[str, int]] = []
            after: dict[str, Any] | None = None
            while True:
                body = compile_search_all_values(request, index, after, substring=substring)
                result = self._search("facet values", alias, body)["aggregations"]["values"]
                every += [(str(b["key"]["value"]), int(b["doc_count"])) for b in result["buckets"]]
                after = result.get("after_key")
                if not result["buckets"] or after is None:
                    return every

        total, counts = read_search_facets(request, response, recount)
        return facets_payload(request, total, counts)

    def explain(self, request: ExplainRequest) -> dict[str, Any]:
        """Counts per condition in one request; suggestion probes in one more when the total
        is 0 (vql/explain_search.py)."""
        alias = self.alias(request.service)
        plan = count_plan(request)
        substring = self._substring(request.service, request.where)
        counts = read_search_counts(
            self._search("explain", alias, compile_search_counts(plan, substring))
        )
        asked = probes(request, counts)
        answers = {}
        if asked:
            body = compile_search_probes(request.service, asked, substring)
            response = self._search("explain suggestions", alias, body)
            answers = read_search_probes(request.service, asked, response)
        return explain_payload(request, counts, asked, answers)

    def ids_for_file(self, service: Service, source_file: str) -> Iterator[str]:
        """Every id whose document names source_file among its files, ascending."""
        path = search_path(service, "source_file", "keyword")
        query = {"bool": {"filter": [{"term": {path: source_file}}]}}
        for page in self._scan(service, query):
            yield from (hit["_id"] for hit in page)

    def file_counts(self, service: Service) -> dict[str, int]:
        """Documents per source file (a document counts for each of its files), exact: a
        composite aggregation paged to the end."""
        path = search_path(service, "source_file", "keyword")
        composite: dict[str, Any] = {
            "size": FILE_COUNTS_PAGE,
            "sources": [{"file": {"terms": {"field": path}}}],
        }
        body = {"size": 0, "track_total_hits": False, "aggs": {"files": {"composite": composite}}}
        counts: dict[str, int] = {}
        while True:
            response = self._search("count per file", self.alias(service), body)
            result = response["aggregations"]["files"]
            for bucket in result["buckets"]:
                counts[str(bucket["key"]["file"])] = int(bucket["doc_count"])
            after = result.get("after_key")
            if not result["buckets"] or after is None:
                return counts
            composite["after"] = after

    def index_identity(self, service: Service) -> str | None:
        """Which physical index answers for `service`: `name/uuid` of the index behind its
        alias, None when there is none. It changes with every reindex swap, and when a node
        that lost its data got the index created anew by a load (the drift sensor tells the
        two apart: a rebuild it did not run means whatever the old index held is gone)."""
        found = self._call(
            "read index settings", lambda d: d.index_uuids(self.alias(service))
        )
        return ",".join(f"{name}/{uuid}" for name, uuid in sorted(found.items())) or None

    def get_documents(self, service: Service, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored documents of these ids (those the index holds), by id."""
        if not ids:
            return {}
        body = {"query": {"ids": {"values": ids}}, "size": len(ids), "track_total_hits": False}
        response = self._search("get documents", self.alias(service), body)
        return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}

    def _scan(self, service: Service, query: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Pages of hits sorted by id with search_after, inside a point in time if offered.

        Sorting on the unique id keeps search_after exact even without a point in time
        (an endpoint some proxies and older servers lack); the point in time adds a
        consistent snapshot while writes go on.
        """
        alias = self.alias(service)
        id_path = search_path(service, "id", "sort")
        body: dict[str, Any] = {
            "query": query,
            "sort": [{id_path: {"order": "asc"}}],
            "size": SCAN_PAGE,
            "_source": False,
            "track_total_hits": False,
        }
        pit_id = self._open_pit(alias)
        try:
            while True:
                if pit_id is not None:
                    body["pit"] = {"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}
                index = None if pit_id is not None else alias
                response = self._search("scan", index, body)
                pit_id = response.get("pit_id", pit_id)
                hits = response["hits"]["hits"]
                if hits:
                    yield hits
                if len(hits) < SCAN_PAGE:
                    return
                body["search_after"] = hits[-1]["sort"]
        finally:
            if pit_id is not None:
                self._close_pit(pit_id)

    def walk_ids(self, query: Query) -> Iterator[list[str]]:
        """Every id matching the query, in its order, query.limit at a time: search_after
        pages inside one point in time, opened at the first step (the export's snapshot of
        the index: documents written later are not seen). Servers without a point in time
        are walked with search_after alone (no snapshot; the log says so)."""
        alias = self.alias(query.service)
        pit_id = self._open_pit(alias)
        if pit_id is None:
            log.warning("%s has no point in time: the walk is not a snapshot", alias)
        query = replace(query, page=1, cursor=None)
        substring = self._substring(query.service, query.where)
        after: list[Any] | None = None
        try:
            while True:
                body = compile_search(query, substring)
                body.pop("from", None)
                body["track_total_hits"] = False
                if after is not None:
                    # The engine's own sort values of the last hit: inside a point in time
                    # Elasticsearch adds its `_shard_doc` tiebreaker to them.
                    body["search_after"] = after
                if pit_id is not None:
                    body["pit"] = {"id": pit_id, "keep_alive": PIT_KEEP_ALIVE}
                index = None if pit_id is not None else alias
                response = self._search("walk", index, body)
                pit_id = response.get("pit_id", pit_id)
                hits = response["hits"]["hits"]
                if hits:
                    yield [hit["_id"] for hit in hits]
                if len(hits) < query.limit:
                    return
                after = hits[-1]["sort"]
        finally:
            if pit_id is not None:
                self._close_pit(pit_id)

    def _open_pit(self, alias: str) -> str | None:
        dialect = self.dialect
        try:
            return dialect.open_pit(alias, PIT_KEEP_ALIVE)
        except Exception as exc:
            failure = dialect.failure(exc)
            if failure is not None and failure.kind == "http" and failure.status in (400, 405):
                log.debug("no point in time on this server (%s); scanning without", failure)
                return None  # the endpoint does not exist here: scan without a snapshot
            raise translate(dialect, exc, "open point in time") from exc

    def _close_pit(self, pit_id: str) -> None:
        try:
            self.dialect.close_pit(pit_id)
        except Exception as exc:  # noqa: BLE001 - it expires by itself; never mask the result
            log.debug("closing a point in time failed (%s); it expires on its own", exc)

    # -- health -----------------------------------------------------------------------------

    def ping(self) -> None:
        """The engine answers and every alias points at an index (IndexMissing otherwise)."""
        self._call("ping", lambda d: d.info())
        missing = [
            alias
            for alias in (self.alias(s) for s in SERVICES)
            if not self._call("read aliases", lambda d, a=alias: d.alias_indices(a))  # type: ignore[misc]
        ]
        if missing:
            raise IndexMissing(
                self.dialect.engine,
                f"no index behind {', '.join(missing)} (rebuilt from the records by "
                "`connectra reindex`)",
            )

    def close(self) -> None:
        if self._dialect is not None:
            self._dialect.close()
            self._dialect = None


def _mappings(service: Service) -> dict[str, Any]:
    """The fields an index made by an older version may lack (lineage, for one): those that
    need no analyzer, so the body suits an index whatever analysis it was made with. Only
    those the index lacks are put (ensure_index): one it maps otherwise is drift."""
    every = index_body(service, replicas=0)["mappings"]["properties"]
    return {"properties": {f.name: every[f.name] for f in registry(service) if not f.analyzed}}


def make_search_store(
    settings: SearchSettings,
    index_prefix: str = "",
    *,
    cursors: CursorCodec | None = None,
    replicas: int | None = None,
) -> SearchEngineStore:
    """A store for settings; the engine is detected on first use when settings.engine is None.

    Nothing is contacted here, so a process can start while the engine is down.
    """
    if settings.engine not in (None, *DIALECTS):
        raise ValueError(f"{settings.engine!r} is not a search engine this store speaks to")
    return SearchEngineStore(settings, index_prefix, cursors=cursors, replicas=replicas)

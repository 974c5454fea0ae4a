"""What differs between opensearch-py 3 and elasticsearch-py 9, and nothing else.

Both clients speak the same search DSL to the same REST endpoints, but they are built
differently: opensearch-py takes a request body (`body=`) and query parameters as keyword
arguments; elasticsearch-py 9 spreads the body into keyword arguments (`query=`, `sort=`,
`from_=`), names the bulk payload `operations=`, sets timeouts through `.options()`, names
the point-in-time endpoints differently and raises its own exception classes. A dialect
hides exactly these differences behind one small interface, so the store is written once.

elasticsearch-py 9 marks every request `compatible-with=9`, which Elasticsearch 8 refuses
(400 media_type_header_exception) on every call; the Elasticsearch dialect asks for the 8.x
REST API instead, which Elasticsearch 8 speaks natively and 9 through its REST API
compatibility (what an elasticsearch-py 8 client does with both).
Every method returns plain dicts (never the clients' response wrappers).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

from stores.settings import SearchEngine, SearchSettings

# Keys of a search body that elasticsearch-py 9 spells differently as keyword arguments.
_ES_BODY_KEYWORDS = {"from": "from_", "_source": "source"}
# The REST API version the Elasticsearch dialect asks for: 8 (Elasticsearch 8 and 9 answer it).
ES_REST_API_VERSION = 8
_ES_MEDIA_TYPES = {
    f"application/{kind}": (
        f"application/vnd.elasticsearch+{kind}; compatible-with={ES_REST_API_VERSION}"
    )
    for kind in ("json", "x-ndjson")
}


@dataclass(frozen=True)
class Failure:
    """A driver exception reduced to what error translation needs (no credentials)."""

    kind: str  # "connection", "timeout", "http", "other"
    status: int | None = None
    error_type: str = ""
    reason: str = ""


class Dialect:
    """The operations the store needs, spelled for one client library."""

    engine: ClassVar[SearchEngine]

    def __init__(self, settings: SearchSettings, timeout: float, max_retries: int) -> None:
        self.settings = settings
        self.timeout = timeout
        self.max_retries = max_retries
        self.client: Any = self._connect()

    def _connect(self) -> Any:
        raise NotImplementedError

    # Requests whose spelling differs.
    def search(self, index: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """`index` None: the body names a point in time instead."""
        raise NotImplementedError

    def count(self, index: str, query: dict[str, Any]) -> int:
        raise NotImplementedError

    def bulk(self, payload: bytes, filter_path: str, timeout: float) -> dict[str, Any]:
        raise NotImplementedError

    def create_index(self, index: str, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def put_mapping(self, index: str, mappings: dict[str, Any]) -> None:
        """Adds fields to an index's mapping (existing fields must be given unchanged)."""
        raise NotImplementedError

    def get_sources(self, index: str, ids: list[str], fields: list[str]) -> dict[str, Any]:
        """`fields` of the documents with these ids, by id, read in real time (`_mget`: no
        refresh needed); missing ids are left out."""
        raise NotImplementedError

    def open_pit(self, index: str, keep_alive: str) -> str:
        raise NotImplementedError

    def close_pit(self, pit_id: str) -> None:
        raise NotImplementedError

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        """Applies every alias action in one request: atomically, all or none."""
        raise NotImplementedError

    def put_settings(self, index: str, settings: dict[str, Any]) -> None:
        raise NotImplementedError

    def analyze(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /_analyze` with an inline analysis chain (no index needed)."""
        raise NotImplementedError

    def failure(self, exc: BaseException) -> Failure | None:
        """The driver exception as a Failure; None when it is not a driver exception."""
        raise NotImplementedError

    # Requests both clients spell alike (their namespaced `indices` APIs agree).
    def info(self) -> dict[str, Any]:
        return _plain(self.client.info())

    def alias_indices(self, alias: str) -> list[str]:
        """The indices behind `alias`; empty when there is no such alias."""
        try:
            found = _plain(self.client.indices.get_alias(name=alias))
        except Exception as exc:
            failure = self.failure(exc)
            if failure is not None and failure.status == 404:
                return []
            raise
        return sorted(found)

    def has_ngram_tokenizer(self) -> bool:
        """Whether the engine knows the `ngram` tokenizer (analysis-common's; a node built
        without that module refuses it with a 400 illegal_argument_exception)."""
        try:
            self.analyze({"tokenizer": {"type": "ngram", "min_gram": 3, "max_gram": 3},
                          "text": "abc"})
        except Exception as exc:
            failure = self.failure(exc)
            if failure is not None and failure.status == 400 and (
                failure.error_type == "illegal_argument_exception"
            ):
                return False
            raise
        return True

    def mapping_properties(self, alias: str) -> dict[str, Any]:
        """The mapped fields of the (first) index behind `alias`."""
        found = _plain(self.client.indices.get_mapping(index=alias))
        for entry in found.values():
            return dict(entry.get("mappings", {}).get("properties", {}))
        return {}

    def index_uuids(self, alias: str) -> dict[str, str]:
        """The indices behind `alias` with their uuids (a recreated index has a new one);
        empty when there is no such alias."""
        try:
            found = _plain(
                self.client.indices.get_settings(index=alias, name="index.uuid")
            )
        except Exception as exc:
            failure = self.failure(exc)
            if failure is not None and failure.status == 404:
                return {}
            raise
        return {name: str(entry["settings"]["index"]["uuid"]) for name, entry in found.items()}

    def data_nodes(self) -> int:
        return int(_plain(self.client.cluster.health()).get("number_of_data_nodes", 1))

    def aliases_of(self, index: str) -> set[str]:
        found = _plain(self.client.indices.get_alias(index=index))
        return set(found.get(index, {}).get("aliases", {}))

    def script_languages(self) -> set[str]:
        """The script languages the engine runs (`GET /_script_language`)."""
        found = _plain(self.client.get_script_languages())
        return {str(c.get("language")) for c in found.get("language_contexts", [])}

    def indices_matching(self, pattern: str) -> dict[str, set[str]]:
        """Every index whose name matches `pattern` (wildcards allowed), with its aliases."""
        found = _plain(self.client.indices.get_alias(index=pattern))
        return {name: set(entry.get("aliases", {})) for name, entry in found.items()}

    def wait_for_green(self, index: str, seconds: int) -> bool:
        """Whether `index` is green (every replica allocated) within `seconds`."""
        health = _plain(
            self.client.cluster.health(index=index, wait_for_status="green", timeout=f"{seconds}s")
        )
        return not health.get("timed_out", False)

    def put_alias(self, index: str, alias: str) -> None:
        self.client.indices.put_alias(index=index, name=alias)

    def refresh(self, index: str) -> None:
        self.client.indices.refresh(index=index)

    def delete_index(self, index: str) -> None:
        self.client.indices.delete(index=index)

    def close(self) -> None:
        self.client.close()


class OpenSearchDialect(Dialect):
    engine = "opensearch"

    def _connect(self) -> Any:
        from opensearchpy import OpenSearch

        from stores.search.fastjson import orjson_serializer

        s = self.settings
        auth = (s.username, s.password.get()) if s.username and s.password else None
        return OpenSearch(
            hosts=s.urls,
            http_auth=auth,
            verify_certs=s.ssl,
            timeout=self.timeout,
            max_retries=self.max_retries,
            retry_on_timeout=False,
            pool_maxsize=8,
            serializer=orjson_serializer(),
        )

    def search(self, index: str | None, body: dict[str, Any]) -> Any:
        if index is None:
            return _plain(self.client.search(body=body))
        return _plain(self.client.search(index=index, body=body))

    def count(self, index: str, query: dict[str, Any]) -> int:
        return int(self.client.count(index=index, body={"query": query})["count"])

    def bulk(self, payload: bytes, filter_path: str, timeout: float) -> dict[str, Any]:
        return _plain(
            self.client.bulk(body=payload, filter_path=filter_path, request_timeout=timeout)
        )

    def create_index(self, index: str, body: dict[str, Any]) -> None:
        self.client.indices.create(index=index, body=body)

    def put_mapping(self, index: str, mappings: dict[str, Any]) -> None:
        self.client.indices.put_mapping(index=index, body=mappings)

    def get_sources(self, index: str, ids: list[str], fields: list[str]) -> dict[str, Any]:
        found = _plain(
            self.client.mget(index=index, body={"ids": ids}, _source_includes=fields)
        )
        return {d["_id"]: d.get("_source", {}) for d in found["docs"] if d.get("found")}

    def open_pit(self, index: str, keep_alive: str) -> str:
        return str(self.client.create_pit(index=index, keep_alive=keep_alive)["pit_id"])

    def close_pit(self, pit_id: str) -> None:
        self.client.delete_pit(body={"pit_id": [pit_id]})

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self.client.indices.update_aliases(body={"actions": actions})

    def put_settings(self, index: str, settings: dict[str, Any]) -> None:
        self.client.indices.put_settings(index=index, body=settings)

    def analyze(self, body: dict[str, Any]) -> dict[str, Any]:
        return _plain(self.client.indices.analyze(body=body))

    def failure(self, exc: BaseException) -> Failure | None:
        from opensearchpy import exceptions as ose

        if isinstance(exc, ose.ConnectionTimeout):
            return Failure("timeout", reason=type(exc.info).__name__)
        if isinstance(exc, ose.ConnectionError):
            return Failure("connection", reason=_root_reason(exc.info))
        if isinstance(exc, ose.TransportError):
            status = exc.status_code if isinstance(exc.status_code, int) else None
            return _http_failure(status, exc.info, str(exc.error))
        if isinstance(exc, ose.OpenSearchException):
            return Failure("other", reason=type(exc).__name__)
        return None


class ElasticsearchDialect(Dialect):
    engine = "elasticsearch"

    def _connect(self) -> Any:
        s = self.settings
        auth = (s.username, s.password.get()) if s.username and s.password else None
        return _elasticsearch_client_class()(
            hosts=s.urls,
            basic_auth=auth,
            verify_certs=s.ssl,
            request_timeout=self.timeout,
            max_retries=self.max_retries,
            retry_on_timeout=False,
            connections_per_node=8,
        )

    def search(self, index: str | None, body: dict[str, Any]) -> Any:
        kwargs = {_ES_BODY_KEYWORDS.get(k, k): v for k, v in body.items()}
        if index is not None:
            kwargs["index"] = index
        return _plain(self.client.search(**kwargs))

    def count(self, index: str, query: dict[str, Any]) -> int:
        return int(self.client.count(index=index, query=query)["count"])

    def bulk(self, payload: bytes, filter_path: str, timeout: float) -> dict[str, Any]:
        client = self.client.options(request_timeout=timeout)
        return _plain(client.bulk(operations=payload, filter_path=filter_path))

    def create_index(self, index: str, body: dict[str, Any]) -> None:
        self.client.indices.create(index=index, **body)

    def put_mapping(self, index: str, mappings: dict[str, Any]) -> None:
        self.client.indices.put_mapping(index=index, **mappings)

    def get_sources(self, index: str, ids: list[str], fields: list[str]) -> dict[str, Any]:
        found = _plain(self.client.mget(index=index, ids=ids, source_includes=fields))
        return {d["_id"]: d.get("_source", {}) for d in found["docs"] if d.get("found")}

    def open_pit(self, index: str, keep_alive: str) -> str:
        return str(self.client.open_point_in_time(index=index, keep_alive=keep_alive)["id"])

    def close_pit(self, pit_id: str) -> None:
        self.client.close_point_in_time(id=pit_id)

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self.client.indices.update_aliases(actions=actions)

    def put_settings(self, index: str, settings: dict[str, Any]) -> None:
        self.client.indices.put_settings(index=index, settings=settings)

    def analyze(self, body: dict[str, Any]) -> dict[str, Any]:
        return _plain(self.client.indices.analyze(**body))

    def failure(self, exc: BaseException) -> Failure | None:
        import elastic_transport as et
        import elasticsearch as es

        if isinstance(exc, et.ConnectionTimeout):
            return Failure("timeout", reason=_root_reason(exc.errors[0] if exc.errors else None))
        if isinstance(exc, et.ConnectionError):
            return Failure("connection", reason=_root_reason(exc.errors[0] if exc.errors else None))
        if isinstance(exc, es.UnsupportedProductError):
            return Failure("http", exc.meta.status, "unsupported_product", exc.message)
        if isinstance(exc, es.ApiError):
            return _http_failure(exc.meta.status, exc.body, str(exc.message))
        if isinstance(exc, et.TransportError):
            return Failure("other", reason=type(exc).__name__)
        return None


@functools.cache
def _elasticsearch_client_class() -> type[Any]:
    """elasticsearch.Elasticsearch, asking for the 8.x REST API on every request.

    The client sets `Accept` and `Content-Type` per request (`application/json`, or
    `application/x-ndjson` for bulk) and then turns them into `compatible-with=9` vendor types;
    a header that already names a vendor type is left as it is, so naming version 8 here is
    enough. `options()` copies the client with type(self), so this class stays in force there.
    """
    from elasticsearch import Elasticsearch

    class Elasticsearch8Api(Elasticsearch):
        def perform_request(  # type: ignore[override]
            self, method: str, path: str, *, headers: Any = None, **kwargs: Any
        ) -> Any:
            if headers:
                headers = {
                    k: _ES_MEDIA_TYPES.get(v, v) if k.lower() in _MEDIA_HEADERS else v
                    for k, v in headers.items()
                }
            return super().perform_request(method, path, headers=headers, **kwargs)

    return Elasticsearch8Api


_MEDIA_HEADERS = {"accept", "content-type"}

DIALECTS: dict[str, type[Dialect]] = {
    "opensearch": OpenSearchDialect,
    "elasticsearch": ElasticsearchDialect,
}


def _plain(response: Any) -> Any:
    """The body of a response: a dict for both clients (ES wraps it in ObjectApiResponse)."""
    return getattr(response, "body", response)


def _http_failure(status: int | None, body: Any, fallback: str) -> Failure:
    error_type, reason = "", fallback
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            cause = (error.get("root_cause") or [error])[0]
            error_type = str(cause.get("type") or error.get("type") or "")
            reason = str(cause.get("reason") or error.get("reason") or fallback)
        elif error is not None:
            reason = str(error)
    return Failure("http", status, error_type, reason)


def _root_reason(error: Any) -> str:
    """`connection refused` rather than a urllib3 object's repr (which may show the URL)."""
    seen = 0
    while error is not None and seen < 5:
        reason = getattr(error, "reason", None) or getattr(error, "__cause__", None)
        if reason is None or reason is error:
            break
        error, seen = reason, seen + 1
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return type(error).__name__ if error is not None else "unknown"

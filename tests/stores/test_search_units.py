"""The search store's pure parts: bulk encoding, per-item retry rules, error translation.

Load shedding (429 items, a 503 answer) cannot be provoked on demand from a healthy node, so
the bulk writer is driven here by a dialect whose `bulk` plays a script: a stand-in for the
transport only, while tests/stores/test_search.py covers the same writer on the real node.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from stores import abandon
from stores.base import SearchStore
from stores.errors import (
    BackendMisconfigured,
    IndexMissing,
    StoreTimeout,
    TerminalStoreError,
    TransientStoreError,
)
from stores.search.bulk import BulkOptions, BulkWriter, encode
from stores.search.dialect import Dialect, Failure
from stores.search.errors import from_status, translate
from stores.search.lineage import MERGE_SCRIPT
from stores.search.store import make_search_store
from stores.settings import SearchSettings, Secret
from tests.stores.es_proxy import to_plain_media_type, to_vendor_media_type

FAST = BulkOptions(backoff_seconds=0.0, max_attempts=3, threads=2)
OK = {"update": {"status": 200}}


class ScriptedFailure(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class ScriptedDialect(Dialect):
    """Answers bulk requests from a script; records what was sent."""

    engine = "opensearch"

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.sent: list[list[str]] = []
        settings_ = SearchSettings("127.0.0.1", 9, username="u", password=Secret("pw-123"))
        super().__init__(settings_, timeout=1.0, max_retries=0)

    def _connect(self) -> Any:
        return None

    def bulk(self, payload: bytes, filter_path: str, timeout: float) -> dict[str, Any]:
        lines = payload.decode().splitlines()
        self.sent.append([json.loads(a)["update"]["_id"] for a in lines[::2]])
        step = self.script.pop(0) if self.script else None
        if isinstance(step, BaseException):
            raise step
        if step is None:
            return {"errors": False, "items": [OK for _ in lines[::2]]}
        return step  # type: ignore[no-any-return]

    def failure(self, exc: BaseException) -> Failure | None:
        return exc.failure if isinstance(exc, ScriptedFailure) else None


def docs(n: int) -> pa.Table:
    return pa.table({"id": [f"id{i}" for i in range(n)], "city": ["x"] * n})


def item(status: int, error_type: str = "", reason: str = "") -> dict[str, Any]:
    return {"update": {"status": status, "error": {"type": error_type, "reason": reason}}}


def test_rejected_items_are_sent_again_alone() -> None:
    d = ScriptedDialect(
        [{"errors": True, "items": [OK, item(429, "es_rejected_execution_exception"), OK]}]
    )
    BulkWriter(d, FAST).write("contacts", docs(3))
    assert d.sent == [["id0", "id1", "id2"], ["id1"]]


def test_item_that_never_gets_in_is_transient() -> None:
    busy = {"errors": True, "items": [item(503, "unavailable_shards_exception")]}
    d = ScriptedDialect([busy, busy, busy])
    with pytest.raises(TransientStoreError, match="1 documents still rejected after 3 attempts"):
        BulkWriter(d, FAST).write("contacts", docs(1))


def test_an_abandoned_bulk_stops_pausing_between_attempts() -> None:
    """A load being stopped (stores/abandon.py) does not sit out the retry pauses of a node
    shedding load: the sender thread sees the caller's scope and gives up at once."""
    busy = {"errors": True, "items": [item(429, "es_rejected_execution_exception")]}
    d = ScriptedDialect([busy] * 5)
    slow = BulkOptions(backoff_seconds=5.0, max_attempts=5, threads=2)
    abandoned = threading.Event()
    threading.Timer(0.5, abandoned.set).start()
    started = time.monotonic()
    with abandon.scope(abandoned), pytest.raises(abandon.OperationAbandoned):
        BulkWriter(d, slow).write("contacts", docs(1))
    assert time.monotonic() - started < 2.0  # the first pause alone is 2.5-7.5 s
    assert d.sent == [["id0"]]


def test_mapping_error_is_terminal_and_names_the_field() -> None:
    reason = "failed to parse field [company_employees_count] of type [long] in document"
    d = ScriptedDialect(
        [{"errors": True, "items": [OK, item(400, "mapper_parsing_exception", reason)]}]
    )
    with pytest.raises(TerminalStoreError, match="on field company_employees_count") as caught:
        BulkWriter(d, FAST).write("contacts", docs(2))
    assert "document id1" in str(caught.value)


@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        (Failure("connection", reason="connection refused"), None),
        (Failure("timeout"), None),
        (Failure("http", 429, "circuit_breaking_exception", "too big"), None),
        (Failure("http", 400, "parse_exception", "bad"), TerminalStoreError),
    ],
)
def test_whole_request_failures(failure: Failure, raised: type[Exception] | None) -> None:
    d = ScriptedDialect([ScriptedFailure(failure)])
    if raised is None:
        BulkWriter(d, FAST).write("contacts", docs(2))
        assert d.sent == [["id0", "id1"], ["id0", "id1"]]
    else:
        with pytest.raises(raised):
            BulkWriter(d, FAST).write("contacts", docs(2))


def test_chunks_by_bytes_send_every_document_once() -> None:
    d = ScriptedDialect([])
    options = BulkOptions(chunk_bytes=2_000, threads=3, backoff_seconds=0.0)
    assert BulkWriter(d, options).write("contacts", docs(500)) == 500
    assert len(d.sent) > 10
    sent = [i for chunk in d.sent for i in chunk]
    assert sorted(sent) == sorted(f"id{i}" for i in range(500))


def test_encoding_omits_nulls_and_writes_utc_iso_dates() -> None:
    table = pa.table(
        {
            "id": ["a", "b", "a"],
            "first_name": ["Zoë", None, None],
            "departments": [["sales"], None, []],
            "created_at": pa.array(
                [datetime(2024, 5, 1, 12, 30, tzinfo=UTC), None, None], pa.timestamp("us", "UTC")
            ),
            "company_employees_count": pa.array([None, 5, 7], pa.int64()),
        }
    )
    lines = [b.decode() for _, b in encode("p_contacts", table, BulkOptions())]
    assert len(lines) == 2  # the two rows of id "a" were merged
    action, doc = (json.loads(x) for x in lines[0].splitlines())
    assert action == {
        "update": {
            "_index": "p_contacts",
            "_id": "a",
            "require_alias": True,
            "retry_on_conflict": 3,
        }
    }
    assert doc == {
        "scripted_upsert": True,  # the merge script (stores/search/lineage.py) creates it too
        "script": {
            "source": MERGE_SCRIPT,
            "lang": "painless",
            "params": {
                "doc": {
                    "id": "a",
                    "first_name": "Zoë",
                    "departments": [],
                    "created_at": "2024-05-01T12:30:00.000000Z",
                    "company_employees_count": 7,
                }
            },
        },
        "upsert": {},
    }
    second = json.loads(lines[1].splitlines()[1])["script"]["params"]["doc"]
    assert second == {"id": "b", "company_employees_count": 5}


@pytest.mark.parametrize(
    ("status", "error_type", "kind"),
    [
        (429, "es_rejected_execution_exception", TransientStoreError),
        (502, "", TransientStoreError),
        (503, "", TransientStoreError),
        (504, "", StoreTimeout),
        (400, "mapper_parsing_exception", TerminalStoreError),
        (404, "index_not_found_exception", IndexMissing),
        (401, "security_exception", BackendMisconfigured),
        (403, "security_exception", BackendMisconfigured),
    ],
)
def test_statuses_translate(status: int, error_type: str, kind: type[Exception]) -> None:
    d = ScriptedDialect([])
    error = from_status(d, status, error_type, "reason with pw-123 inside", "search")
    assert type(error) is kind
    assert "pw-123" not in str(error)
    if error_type == "index_not_found_exception":
        assert "connectra reindex" in str(error)


def test_timeouts_and_connection_errors_translate() -> None:
    d = ScriptedDialect([])
    timeout = translate(d, ScriptedFailure(Failure("timeout")), "count")
    assert type(timeout) is StoreTimeout
    refused = translate(d, ScriptedFailure(Failure("connection", reason="connection refused")), "x")
    assert type(refused) is TransientStoreError and "127.0.0.1:9" in str(refused)
    assert type(translate(d, RuntimeError("boom"), "x")) is TerminalStoreError


def test_proxy_media_type_translation() -> None:
    vendor = "application/vnd.elasticsearch+x-ndjson; compatible-with=9"
    assert to_plain_media_type(vendor) == "application/x-ndjson"
    assert to_plain_media_type("text/plain") == "text/plain"
    assert to_vendor_media_type("application/json; charset=UTF-8") == (
        "application/vnd.elasticsearch+json; compatible-with=9"
    )


def test_store_is_a_search_store_and_connects_lazily() -> None:
    store: SearchStore = make_search_store(SearchSettings("127.0.0.1", 9))  # mypy checks this
    store.close()  # nothing was contacted, nothing to close
    with pytest.raises(ValueError, match="duckdb"):
        make_search_store(SearchSettings("127.0.0.1", 9, engine="duckdb"))


def test_the_elasticsearch_dialect_asks_for_the_8x_rest_api() -> None:
    """Every request, JSON or bulk NDJSON, says compatible-with=8 (Elasticsearch 8 refuses
    elasticsearch-py 9's own compatible-with=9; 9 accepts 8). A loopback server that records
    the headers stands for the engine: the real node is tests/stores/test_elasticsearch8.py's."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from stores.search.dialect import ElasticsearchDialect

    seen: list[tuple[str, str | None, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length", 0)))
            seen.append((self.path, self.headers["accept"], self.headers["content-type"]))
            body = b'{"count": 0, "errors": false, "items": []}'
            self.send_response(200)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_PUT = do_POST  # noqa: N815 - the client sends _bulk as PUT

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dialect = ElasticsearchDialect(
        SearchSettings("127.0.0.1", server.server_address[1]), timeout=5, max_retries=0
    )
    try:
        dialect.count("i", {"match_all": {}})
        dialect.bulk(b'{"index": {"_index": "i"}}\n{}\n', "errors", timeout=5)
    finally:
        dialect.close()
        server.shutdown()
    json8 = "application/vnd.elasticsearch+json; compatible-with=8"
    ndjson8 = "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
    assert seen == [("/i/_count", json8, json8), ("/_bulk?filter_path=errors", json8, ndjson8)]

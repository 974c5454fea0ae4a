"""Cursors: opaque, bound to the query's where and order, and tamper-evident."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import sqlalchemy as sa

import vql
from vql import SortKey, SortValues

REQUEST: dict[str, Any] = {
    "where": {"keyword_match": {"must": {"country": "france"}}},
    "order_by": [{"order_by": "last_name", "order_direction": "desc"}],
    "limit": 10,
}


def issue(codec: vql.CursorCodec, request: dict[str, Any] = REQUEST) -> str:
    query = vql.parse_query("contacts", request, codec)
    return codec.encode(query, vql.sort_values_from_row(query, ("id-1", "o'neil")))


def cursor_error(codec: vql.CursorCodec, request: dict[str, Any]) -> vql.CursorError:
    with pytest.raises(vql.CursorError) as info:
        vql.parse_query("contacts", request, codec)
    assert [e.path for e in info.value.errors] == ["/cursor"]
    return info.value


def test_round_trip(codec: vql.CursorCodec) -> None:
    token = issue(codec)
    assert token.isascii() and "o'neil" not in token  # opaque enough for a URL or JSON
    query = vql.parse_query("contacts", {**REQUEST, "cursor": token, "page": 99, "limit": 3},
                            codec)
    assert query.cursor == SortValues(
        "sql", (SortKey("last_name", "keyword", True), SortKey("id", "id")), ("o'neil", "id-1"))
    assert query.offset == 0  # page is ignored with a cursor
    assert query.limit == 3  # the limit may change between pages


@pytest.mark.parametrize(
    "change",
    [
        {"where": {"keyword_match": {"must": {"country": "germany"}}}},
        {"where": None},
        {"order_by": [{"order_by": "last_name", "order_direction": "asc"}]},
        {"order_by": None},
    ],
)
def test_bound_to_where_and_order(codec: vql.CursorCodec, change: dict[str, Any]) -> None:
    error = cursor_error(codec, {**REQUEST, **change, "cursor": issue(codec)})
    assert "where and order_by must stay the same" in error.errors[0].message


def test_edited_truncated_foreign_or_garbage(codec: vql.CursorCodec) -> None:
    token = issue(codec)
    head, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    payload["v"][0] = "a"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    foreign = issue(vql.CursorCodec(b"another-secret-of-16-bytes"))
    for bad in [f"{forged}.{mac}", token[:-3], token[:10], foreign, ".", "x", "é.é",
                token + "." + mac, "A" * 5000, f"{head}.{mac[:-1]}B"]:
        cursor_error(codec, {**REQUEST, "cursor": bad})


def test_cursor_problems_come_after_shape_problems(codec: vql.CursorCodec) -> None:
    with pytest.raises(vql.VQLParseError) as both:
        vql.parse_query("contacts", {**REQUEST, "cursor": "garbage", "limit": 0}, codec)
    assert [e.path for e in both.value.errors] == ["/limit", "/cursor"]
    # A broken where is reported alone: the cursor cannot be checked against it.
    with pytest.raises(vql.VQLError) as alone:
        vql.parse_query("contacts", {"where": {"nope": 1}, "cursor": "garbage"}, codec)
    assert [e.path for e in alone.value.errors] == ["/where/nope"]


def test_relevance_cursors_belong_to_their_engine(
    codec: vql.CursorCodec, contacts_source: sa.Table
) -> None:
    request = {"where": {"text_matches": {"must": [
        {"filter_key": "title", "text_value": "cto", "search_type": "shuffle"}]}}}
    query = vql.parse_query("contacts", request, codec)
    hit = {"_id": "id-1", "sort": [3.2712, "id-1"]}
    token = codec.encode(query, vql.sort_values_from_hit(query, hit))
    resumed = vql.parse_query("contacts", {**request, "cursor": token}, codec)
    assert vql.compile_search(resumed)["search_after"] == [3.2712, "id-1"]
    with pytest.raises(vql.CursorError):
        vql.compile_sql(resumed, contacts_source)


def test_sql_cursor_is_refused_by_the_search_compiler_when_orders_differ(
    codec: vql.CursorCodec,
) -> None:
    request = {"where": {"text_matches": {"must": [
        {"filter_key": "title", "text_value": "cto", "search_type": "shuffle"}]}}}
    query = vql.parse_query("contacts", request, codec)
    token = codec.encode(query, vql.sort_values_from_row(query, ("id-1", 1700000000000)))
    resumed = vql.parse_query("contacts", {**request, "cursor": token}, codec)
    with pytest.raises(vql.CursorError):
        vql.compile_search(resumed)


def test_structured_cursors_work_on_both_engines(codec: vql.CursorCodec) -> None:
    request = {"order_by": [{"order_by": "created_at"}]}
    query = vql.parse_query("contacts", request, codec)
    from_hit = vql.sort_values_from_hit(query, {"sort": [2**63 - 1, "id-7"]})
    assert from_hit.values == (None, "id-7")
    resumed = vql.parse_query("contacts", {**request, "cursor": codec.encode(query, from_hit)},
                              codec)
    assert vql.compile_search(resumed)["search_after"] == [2**63 - 1, "id-7"]


def test_codec_contract() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        vql.CursorCodec(b"short")
    codec = vql.CursorCodec(b"0123456789abcdef")
    query = vql.parse_query("contacts", {})
    wrong = SortValues("sql", (SortKey("id", "id"),), ("x",))
    with pytest.raises(ValueError, match="do not belong"):
        codec.encode(query, wrong)
    with pytest.raises(ValueError, match="2 keys"):
        vql.sort_values_from_hit(query, {"sort": [1]})

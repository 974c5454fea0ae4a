"""Compile a parsed query to a plan for the embedded tantivy index: VQL's third target.

Pure, like the SQL and search-DSL compilers: the plan is a small tree of tuples that
stores/duckdb/index.py turns into ``tantivy.Query`` objects (the text is split there, by the
index's own analyzer, so query words and indexed words cannot be split differently).

Index layout (one tantivy document per record, built from the DuckDB search view):

- ``<field>`` for analyzed fields: words as OpenSearch's ``standard`` analyzer splits them
  (Unicode word boundaries: ``o'neil``, ``john.doe`` and ``example.com`` stay one word),
  lowercased, with positions (phrases with slop, fuzzy terms);
- ``<field>__kw`` for every string field: the whole lowercased value (each list element),
  for keyword matches (and keyword sorting: a fast field when the field sorts);
- ``<field>__s`` for analyzed fields: the lowercased value cut into consecutive 3-character
  chunks (a third of the tokens of OpenSearch's trigrams). A needle starting r characters
  into a chunk is a phrase of regex terms: any r characters then its first 3 - r, its
  following whole chunks, and a chunk starting with its remainder (:func:`substring_terms`,
  three phrases for r = 0, 1, 2): substring search with exact answers;
- numbers as i64, dates as i64 epoch milliseconds, both indexed and fast.

What the index cannot answer in VQL's order raises :class:`TantivyFallback` with a reason;
the store then answers with SQL (the same rows and order, only slower).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vql.nodes import (
    Condition,
    ExactMatch,
    KeywordMatch,
    Query,
    RangeMatch,
    ShuffleMatch,
    SortKey,
    SubstringMatch,
    Where,
)
from vql.ordering import query_sort
from vql.registry import registry
from vql.timeutil import epoch_millis

# A plan node: ("all",), ("bool", must, must_not, should), ("terms", field, values),
# ("range", field, lower, upper, include_lower, include_upper), ("phrase", field, text, slop),
# ("words", field, text, operator, fuzzy), ("substring", field, needle).
Plan = tuple[Any, ...]
CHUNK = 3  # characters per chunk of the substring fields


class TantivyFallback(Exception):  # noqa: N818 - a signal, not an error
    """The index cannot answer this query exactly as SQL does; the message says why."""


def kw_field(field: str) -> str:
    return f"{field}__kw"


def chunk_field(field: str) -> str:
    return f"{field}__s"


@dataclass(frozen=True)
class PagePlan:
    """What one page asks of the index: the filter, the one sort key (then the id), paging."""

    where: Plan
    key: SortKey
    sort_field: str  # the fast field the key reads
    descending: bool
    need: int  # rows to collect from the start (offset + limit + 1)
    offset: int
    after: tuple[Any, str] | None  # (key value, id) of a cursor


def compile_tantivy_where(where: Where) -> Plan:
    if where.is_empty:
        return ("all",)
    return (
        "bool",
        tuple(condition(where.service, c) for c in where.must),
        tuple(condition(where.service, c) for c in where.must_not),
        tuple(condition(where.service, c) for c in where.should),
    )


def condition(service: str, node: Condition) -> Plan:
    field = registry(service)[node.field]
    if isinstance(node, KeywordMatch):
        return ("terms", kw_field(node.field), tuple(dict.fromkeys(v.lower() for v in node.values)))
    if isinstance(node, RangeMatch):
        return _range(node)
    if isinstance(node, ExactMatch):
        if node.slop > 0 and field.is_list:
            # tantivy leaves one position between list elements (OpenSearch 100): a sloppy
            # phrase could span two elements here and not there.
            raise TantivyFallback(f"exact with slop on the list field {node.field}")
        return ("phrase", node.field, node.text, node.slop)
    if isinstance(node, ShuffleMatch):
        return ("words", node.field, node.text, node.operator, node.fuzzy)
    if isinstance(node, SubstringMatch):
        return ("substring", node.field, node.text.lower())
    raise TantivyFallback(f"condition kind {node.kind}")  # pragma: no cover - all kinds above


def _bound(value: Any) -> int:
    return epoch_millis(value) if isinstance(value, datetime) else int(value)


def _range(node: RangeMatch) -> Plan:
    lower = node.gte if node.gte is not None else node.gt
    upper = node.lte if node.lte is not None else node.lt
    return (
        "range",
        node.field,
        None if lower is None else _bound(lower),
        None if upper is None else _bound(upper),
        node.gt is None,
        node.lt is None,
    )


def _literal(text: str) -> str:
    """`text` as a regex matching itself (letters and digits as is, the rest escaped)."""
    return "".join(c if c.isalnum() else f"\\x{{{ord(c):x}}}" for c in text)


def substring_terms(needle: str) -> list[list[str]]:
    """Per start r in a chunk (0, 1, 2): the regex terms of consecutive chunks that hold
    `needle` (at least 3 characters, lowercased) starting r characters into a chunk."""
    out = []
    for r in range(CHUNK):
        terms = [f"(?s:.){{{r}}}{_literal(needle[: CHUNK - r])}"] if r else []
        rest = needle[CHUNK - r :] if r else needle
        whole = len(rest) - len(rest) % CHUNK
        terms += [_literal(rest[i : i + CHUNK]) for i in range(0, whole, CHUNK)]
        if rest[whole:]:
            terms.append(f"{_literal(rest[whole:])}(?s:.)*")
        out.append(terms)
    return out


def compile_tantivy_page(query: Query) -> PagePlan:
    """The plan of one page in SQL's order (the embedded profile's cursors are SQL's)."""
    keys = query_sort(query, "sql")
    if len(keys) != 2:
        raise TantivyFallback("more than one order_by key")
    key = keys[0]
    after = None
    if query.cursor is not None:
        if query.cursor.engine != "sql" or query.cursor.keys != keys:
            raise TantivyFallback("a cursor of another order (SQL refuses it clearly)")
        if key.kind == "keyword":
            raise TantivyFallback("a cursor on a keyword order (no string ranges in tantivy)")
        value, last_id = query.cursor.values
        after = (value, str(last_id))
    sort_field = kw_field(key.field) if key.kind == "keyword" else key.field
    return PagePlan(
        where=compile_tantivy_where(query.where),
        key=key,
        sort_field=sort_field,
        descending=key.descending,
        need=query.offset + query.limit + 1,
        offset=query.offset,
        after=after,
    )


def index_fields(service: str) -> list[tuple[str, str, str]]:
    """(index field, kind, registry field) of what the service's queries can ask for; kind:
    id, id_hi (the uuid's first 64 bits: cursors skip ahead by it), int, kw, sort (a kw that
    sorts), words (exact / shuffle), chunks (substring)."""
    out: list[tuple[str, str, str]] = [("id", "id", "id"), ("id_hi", "id_hi", "id")]
    for field in registry(service):
        name = field.name
        if name == "id":
            continue
        if field.data_type in ("int", "date"):
            if field.range or field.sortable:
                out.append((name, "int", name))
            continue
        if field.sortable:
            out.append((kw_field(name), "sort", name))
        elif field.keyword:
            out.append((kw_field(name), "kw", name))
        if {"exact", "shuffle"} & set(field.text):
            out.append((name, "words", name))
        if "substring" in field.text:
            out.append((chunk_field(name), "chunks", name))
    return out

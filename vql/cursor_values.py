"""Sort values: where a page ended, in one engine-neutral form, and back per compiler.

Neutral form, per sort key kind: ``keyword`` the lowercased string, ``number`` the int,
``date`` epoch milliseconds, ``score`` the float relevance, ``id`` the id string; ``None``
for a missing value (sorted last in both directions).

The search engine returns missing numbers and dates as the extreme value of the field's
type (it substitutes them to sort them last); those are mapped to ``None`` and back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from vql.errors import CursorError, ErrorDetail
from vql.nodes import Query, SortKey, SortValue, SortValues
from vql.ordering import Engine, query_sort
from vql.registry import registry
from vql.timeutil import epoch_millis

INT_EXTREMES = {32: (-(2**31), 2**31 - 1), 64: (-(2**63), 2**63 - 1)}


def _int_bits(service: str, key: SortKey) -> int:
    if key.kind == "number":
        return registry(service)[key.field].int_bits
    return 64


def _missing_substitute(service: str, key: SortKey) -> int:
    lo, hi = INT_EXTREMES[_int_bits(service, key)]
    return lo if key.descending else hi


def cursor_mismatch(message: str) -> CursorError:
    return CursorError([ErrorDetail("/cursor", message, "cursor")])


def check_cursor(query: Query, engine: Engine) -> tuple[SortKey, ...]:
    """The keys of ``query`` on ``engine``, checked against its cursor's keys."""
    keys = query_sort(query, engine)
    cursor = query.cursor
    if cursor is not None and (cursor.engine != engine or cursor.keys != keys):
        raise cursor_mismatch(
            "this cursor was issued by another search backend or for another order; "
            "repeat the request without a cursor"
        )
    return keys


def search_after(query: Query, keys: tuple[SortKey, ...]) -> list[Any]:
    """The ``search_after`` array for ``query.cursor`` (``None`` -> the engine's substitute)."""
    check_cursor(query, "search")
    assert query.cursor is not None
    out: list[Any] = []
    for key, value in zip(keys, query.cursor.values, strict=True):
        if value is None and key.kind in ("number", "date"):
            value = _missing_substitute(query.service, key)
        out.append(value)
    return out


def _neutral(service: str, key: SortKey, value: Any, from_search: bool) -> SortValue:
    if value is None:
        return None
    if key.kind in ("number", "date"):
        if isinstance(value, datetime):
            return epoch_millis(value)
        if isinstance(value, Decimal | float):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"sort value for {key.field} must be an integer, got {value!r}")
        if from_search and value == _missing_substitute(service, key):
            return None
        return value
    if key.kind == "score":
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"sort value for {key.field} must be a string, got {value!r}")
    return value  # already the engine's lowercase sort key; lowering again could differ


def sort_values_from_hit(query: Query, hit: Mapping[str, Any]) -> SortValues:
    """Where a search-engine page ended, from its last hit (``hit["sort"]``)."""
    keys = query_sort(query, "search")
    raw = list(hit["sort"])
    if len(raw) != len(keys):
        raise ValueError(f"hit has {len(raw)} sort values, the query sorts on {len(keys)} keys")
    values = tuple(_neutral(query.service, k, v, True) for k, v in zip(keys, raw, strict=True))
    return SortValues("search", keys, values)


def sort_values_from_row(query: Query, row: Sequence[Any] | Mapping[str, Any]) -> SortValues:
    """Where a SQL page ended, from the last row of :func:`~vql.sql.compile_sql`'s select
    (a tuple ``(id, sort_0, sort_1, ...)`` or a mapping with those labels)."""
    keys = query_sort(query, "sql")
    if isinstance(row, Mapping):
        raw = [row[f"sort_{i}"] for i in range(len(keys) - 1)] + [row["id"]]
    else:
        items = list(row)
        raw = [*items[1 : len(keys)], items[0]]
    values = tuple(_neutral(query.service, k, v, False) for k, v in zip(keys, raw, strict=True))
    return SortValues("sql", keys, values)

"""Parsing of ``where``: text_matches, keyword_match and range_query into a :class:`Where`.

Each of the three members holds ``must`` / ``must_not`` / ``should`` clauses; all three
feed the one boolean group of the :class:`~vql.nodes.Where`. Keyword values and range
bounds go through the load rules when the caller gives them (vql.normalizing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vql.errors import child
from vql.nodes import (
    Condition,
    ExactMatch,
    KeywordMatch,
    RangeMatch,
    ShuffleMatch,
    SubstringMatch,
    Where,
)
from vql.normalizing import QueryValues
from vql.reader import Reader, allowed_list, json_type, string_problem, suggest
from vql.registry import SEARCH_TYPES, Field, ServiceRegistry
from vql.text import words

WHERE_KEYS = ("text_matches", "keyword_match", "range_query")
CLAUSES = ("must", "must_not", "should")
TEXT_KEYS = ("filter_key", "text_value", "search_type", "fuzzy", "slop", "operator")
RANGE_KEYS = ("gte", "gt", "lte", "lt")
MAX_TEXT = 200  # longest text_value (PostgreSQL's levenshtein takes 255 characters at most)
MAX_SLOP = 50  # the index puts 100 positions between list elements; phrases stay inside one
MAX_CONDITIONS = 100  # text conditions per clause
MAX_VALUES = 1000  # keyword values per field
MIN_SUBSTRING = 3
INT_LIMITS = {32: (-(2**31), 2**31 - 1), 64: (-(2**63), 2**63 - 1)}
DATE_HINT = "an ISO-8601 date or date-time string such as 2024-01-31 or 2024-01-31T12:00:00Z"


@dataclass(frozen=True)
class Located:
    """A condition of a parsed where, with its clause and its JSON pointer in the request
    (explain answers per condition and points at each)."""

    clause: str
    path: str
    node: Condition


def parse_where_into(
    r: Reader, reg: ServiceRegistry, value: Any, path: str, values: QueryValues | None = None
) -> Where:
    """Read ``value`` (the where member, at pointer ``path``) and record problems in ``r``;
    ``values`` normalizes keyword values and range bounds (as written when None)."""
    return parse_located_where(r, reg, value, path, values)[0]


def parse_located_where(
    r: Reader, reg: ServiceRegistry, value: Any, path: str, values: QueryValues | None = None
) -> tuple[Where, tuple[Located, ...]]:
    """:func:`parse_where_into`, plus where each condition came from, in request order."""
    values = values or QueryValues(None)
    empty = Where(reg.service)
    if value is None:
        return empty, ()
    w = r.object(value, path, WHERE_KEYS, "where")
    if w is None:
        return empty, ()
    groups: dict[str, list[Condition]] = {c: [] for c in CLAUSES}
    located: list[Located] = []
    readers = (
        ("text_matches", list, _text_condition_list),
        ("keyword_match", dict, _keyword_map),
        ("range_query", dict, _range_map),
    )
    for member, container, read in readers:
        if member not in w:
            continue
        mpath = child(path, member)
        clauses = r.object(w[member], mpath, CLAUSES, member)
        for clause, body in (clauses or {}).items():
            cpath = child(mpath, clause)
            if isinstance(body, list | dict) and not body:
                continue  # Go clients send empty clauses of either JSON type
            if not isinstance(body, container):
                shape = "an array of text conditions" if container is list else (
                    "an object that maps field names to values"
                )
                r.error(cpath, f"{member}.{clause} must be {shape}, got {json_type(body)}")
                continue
            for at, node in read(r, reg, body, cpath, values):  # type: ignore[arg-type]
                groups[clause].append(node)
                located.append(Located(clause, at, node))
    where = Where(
        reg.service,
        must=tuple(groups["must"]),
        must_not=tuple(groups["must_not"]),
        should=tuple(groups["should"]),
        normalized=tuple(values.changes),
    )
    return where, tuple(located)


def _field(r: Reader, reg: ServiceRegistry, name: str, path: str, kind: str) -> Field | None:
    allowed = reg.names(kind)
    f = reg.get(name)
    if f is not None and f.name in allowed:
        return f
    what = {"text": "text_matches", "keyword": "keyword_match", "range": "range_query"}[kind]
    why = "unknown field" if f is None else "field does not allow " + what + ":"
    r.error(
        path,
        f"{why} {name!r}.{suggest(name, allowed)} Fields for {what}: {allowed_list(allowed)}",
        "unsupported",
    )
    return None


def _text_condition_list(
    r: Reader, reg: ServiceRegistry, items: list[Any], path: str, values: QueryValues
) -> list[tuple[str, Condition]]:
    if len(items) > MAX_CONDITIONS:
        r.error(path, f"at most {MAX_CONDITIONS} text conditions per clause, got {len(items)}")
        return []
    out = []
    for i, item in enumerate(items):
        node = _text_condition(r, reg, item, child(path, i))
        if node is not None:
            out.append((child(path, i), node))
    return out


def _text_condition(r: Reader, reg: ServiceRegistry, item: Any, path: str) -> Condition | None:
    o = r.object(item, path, TEXT_KEYS, "a text condition")
    if o is None:
        return None
    n_errors = len(r.errors)
    field = None
    key = o.get("filter_key")
    if key is None:
        r.error(child(path, "filter_key"),
                f"filter_key is required: one of {allowed_list(reg.names('text'))}")
    elif not isinstance(key, str):
        r.error(child(path, "filter_key"), f"filter_key must be a string, got {json_type(key)}")
    else:
        field = _field(r, reg, key, child(path, "filter_key"), "text")

    allowed_types = field.text if field else SEARCH_TYPES
    st_path = child(path, "search_type")
    search_type = None
    if "search_type" not in o:
        r.error(st_path, f"search_type is required: one of {allowed_list(allowed_types)}")
    elif field is not None and o["search_type"] in SEARCH_TYPES and (
        o["search_type"] not in allowed_types
    ):
        takers = tuple(f.name for f in reg if o["search_type"] in f.text)
        r.error(
            st_path,
            f"field {field.name!r} does not take search_type {o['search_type']!r} (it takes "
            f"{allowed_list(allowed_types)}). Fields that take {o['search_type']}: "
            f"{allowed_list(takers)}",
            "unsupported",
        )
    else:
        search_type = r.choice(o["search_type"], st_path, "search_type", allowed_types)

    text = None
    tv_path = child(path, "text_value")
    if "text_value" not in o:
        r.error(tv_path, "text_value is required: the text to look for")
    else:
        text = r.text(o["text_value"], tv_path, "text_value", MAX_TEXT)
    if text is not None and search_type == "substring" and len(text) < MIN_SUBSTRING:
        r.error(tv_path, f"a substring needs at least {MIN_SUBSTRING} characters, got {len(text)}")
    elif text is not None and search_type in ("exact", "shuffle") and not words(text):
        r.error(tv_path, f"an {search_type} match needs at least one letter or digit")

    fuzzy = False
    if "fuzzy" in o:
        fuzzy = bool(r.boolean(o["fuzzy"], child(path, "fuzzy"), "fuzzy"))
        if fuzzy and search_type not in (None, "shuffle"):
            r.error(child(path, "fuzzy"), "fuzzy is only allowed with search_type shuffle",
                    "unsupported")
    slop = 0
    if "slop" in o:
        slop = r.integer(o["slop"], child(path, "slop"), "slop", 0, MAX_SLOP) or 0
        if slop and search_type not in (None, "exact"):
            r.error(child(path, "slop"), "slop is only allowed with search_type exact",
                    "unsupported")
    operator = "and"
    if o.get("operator", "") != "":
        op_path = child(path, "operator")
        operator = r.choice(o["operator"], op_path, "operator", ("and", "or")) or "and"
        if operator == "or" and search_type not in (None, "shuffle"):
            r.error(op_path, "operator is only allowed with search_type shuffle", "unsupported")

    if len(r.errors) != n_errors or field is None or text is None:
        return None
    if search_type == "exact":
        return ExactMatch(field.name, text, slop)
    if search_type == "shuffle":
        return ShuffleMatch(field.name, text, "or" if operator == "or" else "and", fuzzy)
    return SubstringMatch(field.name, text)


def _keyword_map(
    r: Reader, reg: ServiceRegistry, body: dict[Any, Any], path: str, values: QueryValues
) -> list[tuple[str, Condition]]:
    out: list[tuple[str, Condition]] = []
    for key, value in body.items():
        name = key if isinstance(key, str) else str(key)
        vpath = child(path, name)
        field = _field(r, reg, name, vpath, "keyword")
        if value is None or field is None:
            continue
        found = _keyword_values(r, field, value, vpath, values)
        if found:
            out.append((vpath, KeywordMatch(field.name, found)))
    return out


def _keyword_values(
    r: Reader, field: Field, value: Any, path: str, values: QueryValues
) -> tuple[str, ...] | None:
    if isinstance(value, str):
        ok = r.text(value, path, "a keyword value")
        return values.keyword(r, field, value, path) if ok is not None else None
    if not isinstance(value, list) or not value:
        what = "an empty array" if isinstance(value, list) else json_type(value)
        r.error(path, f"a keyword value must be a string or a non-empty array of strings, "
                      f"got {what}")
        return None
    if len(value) > MAX_VALUES:
        r.error(path, f"at most {MAX_VALUES} values per field, got {len(value)}")
        return None
    n_errors = len(r.errors)
    found: list[str] = []
    for i, v in enumerate(value):
        if r.text(v, child(path, i), "a keyword value") is not None:
            found.extend(values.keyword(r, field, v, child(path, i)) or ())
    if len(r.errors) != n_errors:
        return None
    return tuple(dict.fromkeys(found))


def _range_map(
    r: Reader, reg: ServiceRegistry, body: dict[Any, Any], path: str, values: QueryValues
) -> list[tuple[str, Condition]]:
    out: list[tuple[str, Condition]] = []
    for key, value in body.items():
        name = key if isinstance(key, str) else str(key)
        vpath = child(path, name)
        field = _field(r, reg, name, vpath, "range")
        if value is None or field is None:
            continue
        node = parse_range(r, field, value, vpath, values)
        if node is not None:
            out.append((vpath, node))
    return out


def parse_range(
    r: Reader, field: Field, value: Any, path: str, values: QueryValues | None = None
) -> RangeMatch | None:
    """One ``{gte, gt, lte, lt}`` object on a range field (range_query, facet ranges)."""
    values = values or QueryValues(None)
    o = r.object(value, path, RANGE_KEYS, "a range")
    if o is None:
        return None
    if not o:
        r.error(path, f"a range needs at least one bound: {allowed_list(RANGE_KEYS)}")
        return None
    n_errors = len(r.errors)
    for a, b in (("gt", "gte"), ("lt", "lte")):
        if a in o and b in o:
            r.error(child(path, a), f"give either {a} or {b}, not both")
    bounds: dict[str, Any] = {}
    for op, raw in o.items():
        bpath = child(path, op)
        if field.data_type == "date":
            bounds[op] = _date(r, raw, bpath, values)
        else:
            converted = _int_bound(r, field, op, raw, bpath, values)
            if converted is not None:
                bounds[converted[0]] = converted[1]
    if len(r.errors) != n_errors:
        return None
    return RangeMatch(field.name, **bounds)


def _int_bound(
    r: Reader, field: Field, op: str, raw: Any, path: str, values: QueryValues
) -> tuple[str, int] | None:
    """An integer bound; a fractional one becomes the equivalent inclusive integer bound
    (``gt 10.5`` is ``gte 11``), so both engines compare integers the same way. Text
    ("1.2k", "$3.5M") is read by the field's load rule."""
    number: int | float | None
    if isinstance(raw, str) and string_problem(raw, 64) is None:
        number = values.number(r, field, op, raw, path)
    else:
        number = r.number(raw, path, op)
    if number is None:
        return None
    if isinstance(number, float) and not number.is_integer():
        if op in ("gt", "gte"):
            op, number = "gte", math.ceil(number)
        else:
            op, number = "lte", math.floor(number)
    number = int(number)
    lo, hi = INT_LIMITS[field.int_bits]
    if not lo <= number <= hi:
        r.error(path, f"{op} is out of range for {field.name}: allowed {lo} to {hi}")
        return None
    return op, number


def _date(r: Reader, raw: Any, path: str, values: QueryValues) -> datetime | None:
    """An ISO-8601 date (midnight UTC) or date-time (UTC when no offset), to milliseconds:
    read by the loader's date rule when there are rules, else by Python's ISO parser."""
    if not isinstance(raw, str):
        r.error(path, f"a date bound must be {DATE_HINT}, got {json_type(raw)}")
        return None
    problem = string_problem(raw, 64)
    try:
        if problem:
            raise ValueError(problem)
        try:
            found = values.time(raw)
        except LookupError:
            found = datetime.fromisoformat(raw)
        if found is None:
            raise ValueError(raw)
        parsed = found if found.tzinfo is not None else found.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        r.error(path, f"a date bound must be {DATE_HINT}, got {raw[:64]!r}")
        return None
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)

"""The facets request (``POST /:service/facets``): counts per value, range and date bucket.

``{"where", "facets": [{"field", "size"} | {"field", "ranges"} | {"field", "interval"}],
"search_text"?}``. Counts are over the records matching the where, *disjunctively*: each
facet ignores the where's ``must`` conditions on its own field (so a user who ticked
"senior" still sees how many "lead" there are) and applies everything else. ``total`` is
the count under the whole where.

- keyword facets (fields with a value list): the ``size`` most frequent lowercased values
  (count desc, then value), as the filter-values endpoint lists them (a record counts once
  per distinct element of a list); ``other`` is the sum of the counts of the values beyond
  the top ``size`` (for single-valued fields: the records whose value is outside the top;
  for lists a record counts once per such value, as in Elasticsearch's
  ``sum_other_doc_count``); ``missing`` the records with no value. ``search_text`` (on the
  facet, else the request's) keeps values containing it, ignoring case.
- range facets (number and date fields): one count per range, bounds as in range_query,
  each range echoed as sent beside its count.
- interval facets (date fields): non-empty buckets of a UTC day, week (from Monday), month
  or year, oldest first; ``key`` is ``2026-01-31`` (day; week: its Monday), ``2026-01``,
  ``2026``.

This module parses and validates, derives each facet's where, and turns engine answers
into the one JSON shape; the compilers are :mod:`vql.facets_search` and
:mod:`vql.facets_sql`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from vql.errors import child, raise_for
from vql.nodes import Condition, RangeMatch, RangeValue, Where
from vql.normalizing import QueryValues, ValueRules
from vql.parser import checked_registry
from vql.reader import Reader, allowed_list, json_type, suggest
from vql.registry import Field, ServiceRegistry
from vql.timeutil import epoch_millis
from vql.where_parser import MAX_TEXT, parse_range, parse_where_into

FACETS_KEYS = ("where", "facets", "search_text")
FACET_KEYS = ("field", "size", "search_text", "ranges", "interval")
Interval = Literal["day", "week", "month", "year"]
INTERVALS: tuple[Interval, ...] = ("day", "week", "month", "year")
DEFAULT_SIZE = 10
MAX_SIZE = 100
MAX_FACETS = 20
MAX_RANGES = 50


@dataclass(frozen=True)
class KeywordFacet:
    field: str
    size: int = DEFAULT_SIZE
    search_text: str | None = None


@dataclass(frozen=True)
class RangeFacet:
    field: str
    ranges: tuple[RangeMatch, ...]
    given: tuple[tuple[tuple[str, Any], ...], ...] = ()  # each range's bounds as sent

    def given_json(self, index: int) -> dict[str, Any]:
        """Range ``index`` as the client wrote it (the answer echoes it beside its count)."""
        if self.given:
            return dict(self.given[index])
        return range_json(self.ranges[index])


@dataclass(frozen=True)
class IntervalFacet:
    field: str
    interval: Interval


Facet = KeywordFacet | RangeFacet | IntervalFacet


@dataclass(frozen=True)
class FacetsRequest:
    service: str
    where: Where
    facets: tuple[Facet, ...]

    def facet_where(self, field: str) -> Where:
        """The where a facet on ``field`` counts under: its own ``must`` conditions dropped."""
        return without_must_on(self.where, {field})

    def shared_where(self) -> Where:
        """What every facet and the total apply: the where without the ``must`` conditions
        on any faceted field (those are applied per facet)."""
        return without_must_on(self.where, {f.field for f in self.facets})

    def faceted_musts(self) -> tuple[Condition, ...]:
        fields = {f.field for f in self.facets}
        return tuple(c for c in self.where.must if c.field in fields)


def without_must_on(where: Where, fields: set[str]) -> Where:
    must = tuple(c for c in where.must if c.field not in fields)
    return Where(where.service, must=must, must_not=where.must_not, should=where.should)


# -- parsing -------------------------------------------------------------------------------


def facetable_names(reg: ServiceRegistry) -> tuple[str, ...]:
    return tuple(f.name for f in reg if f.facetable)


def parse_facets_request(
    service: str, body: Any, rules: ValueRules | None = None
) -> FacetsRequest:
    """Parse and validate a facets request; every problem is reported with its pointer.
    ``rules`` normalize the where's values as loads do (vql.normalizing)."""
    reg = checked_registry(service)
    r = Reader()
    top = r.object(body, "", FACETS_KEYS, "the request body")
    if top is None:
        raise_for(r.errors)
        top = {}
    where = parse_where_into(r, reg, top.get("where"), "/where", QueryValues(rules))
    default_text = None
    if top.get("search_text", "") != "":
        default_text = r.text(top["search_text"], "/search_text", "search_text", MAX_TEXT)
    facets: list[Facet] = []
    items = top.get("facets")
    if not isinstance(items, list) or not items:
        got = "an empty array" if isinstance(items, list) else json_type(items)
        r.error("/facets", f"facets must be a non-empty array of facets such as "
                           f'{{"field": "seniority", "size": 10}}, got {got}')
        items = []
    elif len(items) > MAX_FACETS:
        r.error("/facets", f"at most {MAX_FACETS} facets per request, got {len(items)}")
        items = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        facet = _facet(r, reg, item, child("/facets", i), default_text)
        if facet is None:
            continue
        if facet.field in seen:
            r.error(child(child("/facets", i), "field"),
                    f"{facet.field!r} is already faceted by an earlier facet")
            continue
        seen.add(facet.field)
        facets.append(facet)
    raise_for(r.errors)
    return FacetsRequest(reg.service, where, tuple(facets))


def _facet(
    r: Reader, reg: ServiceRegistry, item: Any, path: str, default_text: str | None
) -> Facet | None:
    o = r.object(item, path, FACET_KEYS, "a facet")
    if o is None:
        return None
    before = len(r.errors)
    field = _facet_field(r, reg, o.get("field"), child(path, "field"))
    if "ranges" in o and "interval" in o:
        r.error(path, "give either ranges or interval, not both")
        return None
    if field is None:
        return None
    if "ranges" in o or "interval" in o:
        keyword_only = [k for k in ("size", "search_text") if k in o]
        for k in keyword_only:
            r.error(child(path, k), f"{k} is only allowed on keyword facets (without ranges "
                                    "or interval)", "unsupported")
    if "interval" in o:
        facet: Facet | None = _interval_facet(r, field, o["interval"], child(path, "interval"))
    elif "ranges" in o:
        facet = _range_facet(r, field, o["ranges"], child(path, "ranges"))
    else:
        facet = _keyword_facet(r, field, o, path, default_text)
    return facet if len(r.errors) == before else None


def _facet_field(r: Reader, reg: ServiceRegistry, name: Any, path: str) -> Field | None:
    allowed = facetable_names(reg)
    if name is None:
        r.error(path, f"field is required: one of {allowed_list(allowed)}")
        return None
    if not isinstance(name, str):
        r.error(path, f"field must be a field name, got {json_type(name)}")
        return None
    field = reg.get(name)
    if field is None or not field.facetable:
        why = "unknown field" if field is None else "field cannot be faceted:"
        r.error(path, f"{why} {name!r}.{suggest(name, allowed)} Facetable fields: "
                      f"{allowed_list(allowed)}", "unsupported")
        return None
    return field


def _keyword_facet(
    r: Reader, field: Field, o: dict[str, Any], path: str, default_text: str | None
) -> KeywordFacet | None:
    if not field.has_values:
        hint = "ranges or interval" if field.data_type == "date" else "ranges"
        r.error(child(path, "field"), f"{field.name!r} is a range field: give {hint}, such as "
                                      '"ranges": [{"lt": 50}, {"gte": 50}]', "unsupported")
        return None
    size = DEFAULT_SIZE
    if "size" in o:
        size = r.integer(o["size"], child(path, "size"), "size", 1, MAX_SIZE) or DEFAULT_SIZE
    text = default_text
    if o.get("search_text", "") != "":
        text = r.text(o["search_text"], child(path, "search_text"), "search_text", MAX_TEXT)
    return KeywordFacet(field.name, size, text)


def _range_facet(r: Reader, field: Field, value: Any, path: str) -> RangeFacet | None:
    if not field.range:
        r.error(path, f"ranges are only allowed on number and date fields; {field.name!r} "
                      "takes size (a keyword facet)", "unsupported")
        return None
    if not isinstance(value, list) or not value:
        got = "an empty array" if isinstance(value, list) else json_type(value)
        r.error(path, f"ranges must be a non-empty array of ranges such as "
                      f'{{"gte": 50, "lt": 200}}, got {got}')
        return None
    if len(value) > MAX_RANGES:
        r.error(path, f"at most {MAX_RANGES} ranges per facet, got {len(value)}")
        return None
    out: list[RangeMatch] = []
    for i, item in enumerate(value):
        rpath = child(path, i)
        node = parse_range(r, field, item, rpath)
        if node is None:
            continue
        if is_empty_range(node):
            r.error(rpath, "this range holds no value: its lower bound is above its upper bound")
            continue
        out.append(node)
    given = tuple(tuple((k, v) for k, v in item.items() if v is not None) for item in value)
    return RangeFacet(field.name, tuple(out), given)


def _interval_facet(r: Reader, field: Field, value: Any, path: str) -> IntervalFacet | None:
    if field.data_type != "date":
        r.error(path, f"interval is only allowed on date fields; {field.name!r} takes "
                      "ranges", "unsupported")
        return None
    chosen = r.choice(value, path, "interval", INTERVALS)
    if chosen is None:
        return None
    return IntervalFacet(field.name, _as_interval(chosen))


def _as_interval(name: str) -> Interval:
    for interval in INTERVALS:
        if interval == name:
            return interval
    raise ValueError(name)


def _lowest_highest(node: RangeMatch) -> tuple[int | None, int | None]:
    """The range as inclusive integer bounds (dates in epoch milliseconds)."""

    def n(v: RangeValue) -> int:
        return epoch_millis(v) if isinstance(v, datetime) else v

    lo = n(node.gte) if node.gte is not None else n(node.gt) + 1 if node.gt is not None else None
    hi = n(node.lte) if node.lte is not None else n(node.lt) - 1 if node.lt is not None else None
    return lo, hi


def is_empty_range(node: RangeMatch) -> bool:
    lo, hi = _lowest_highest(node)
    return lo is not None and hi is not None and lo > hi


# -- answers -------------------------------------------------------------------------------


def range_json(node: RangeMatch) -> dict[str, Any]:
    """A range's bounds as JSON (dates as ISO-8601 UTC with a Z)."""
    return {op: _json_bound(v) for op, v in node.bounds()}


def _json_bound(value: RangeValue) -> Any:
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    return value


def bucket_key(interval: Interval, start: datetime) -> str:
    """The key of the UTC bucket that starts at ``start``."""
    start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    if interval == "year":
        return f"{start.year:04d}"
    if interval == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if interval == "week":
        start = start - timedelta(days=start.weekday())
    return start.date().isoformat()


@dataclass(frozen=True)
class KeywordCounts:
    values: list[tuple[str, int]]
    all_pairs: int  # sum of the counts of every value, top or not
    missing: int


@dataclass(frozen=True)
class RangeCounts:
    counts: list[int]  # one per range, in request order


@dataclass(frozen=True)
class BucketCounts:
    buckets: list[tuple[datetime, int]]  # (bucket start, count), oldest first


FacetCounts = KeywordCounts | RangeCounts | BucketCounts


def facets_payload(request: FacetsRequest, total: int, counts: list[FacetCounts]) -> dict[str, Any]:
    """The answer: ``counts`` holds one entry per facet, in request order."""
    out: dict[str, Any] = {}
    for facet, got in zip(request.facets, counts, strict=True):
        if isinstance(facet, KeywordFacet):
            assert isinstance(got, KeywordCounts)
            top = sum(n for _, n in got.values)
            out[facet.field] = {
                "values": [{"value": v, "count": n} for v, n in got.values],
                "other": got.all_pairs - top,
                "missing": got.missing,
            }
        elif isinstance(facet, RangeFacet):
            assert isinstance(got, RangeCounts)
            out[facet.field] = {"ranges": [{**facet.given_json(j), "count": n}
                                           for j, n in enumerate(got.counts)]}
        else:
            assert isinstance(got, BucketCounts)
            merged: dict[str, int] = {}
            for start, n in got.buckets:
                key = bucket_key(facet.interval, start)
                merged[key] = merged.get(key, 0) + n
            out[facet.field] = {"buckets": [{"key": k, "count": n} for k, n in merged.items()]}
    return {"total": total, "facets": out}

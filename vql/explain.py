"""Explain (``POST /:service/explain``): what each condition of a where does to the total.

The body is a VQL request (only ``where`` matters; the rest is accepted, as count does).
For every condition, at its JSON pointer: ``matches``, the records the condition lets
through alone (for a ``must_not`` condition: those it does not exclude), and
``total_without``, the total with that condition removed. Both are counts under wheres
built from the same tree, so a store answers them all at once (:func:`count_plan`): one
filters aggregation, or one SQL select of ``count(*) FILTER (WHERE ...)``.

When the total is 0 the clauses come ordered by ``total_without``, most first (the
condition whose removal restores the most results leads), and each ``must`` condition
whose removal would restore results gets suggestions, each a replacement for the value at
its path and the total the request would then have (:func:`probes`, one more round trip):

- keyword: existing values of the field within the AUTO edit distance of a queried value
  (plain Levenshtein, lowercased) or starting with it, counted under the rest of the where
  (the 20 most frequent fetched, the 5 nearest kept);
- text: the same text with ``fuzzy``, with ``operator: or``, (exact) as a shuffle, or
  (substring) as a fuzzy shuffle;
- range: the range widened down to the nearest existing value below it, or up to the
  nearest above it.

Suggestions with a total of 0 are dropped; the rest come most results first. Both engines
fetch the same candidates in the same order, and the ranking is done here, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from vql.errors import raise_for
from vql.facets import range_json
from vql.nodes import (
    Condition,
    ExactMatch,
    KeywordMatch,
    RangeMatch,
    RangeValue,
    ShuffleMatch,
    SubstringMatch,
    Where,
)
from vql.normalizing import QueryValues, ValueRules
from vql.parser import TOP_KEYS, checked_registry
from vql.reader import Reader
from vql.text import auto_fuzziness, levenshtein, words
from vql.where_parser import Located, parse_located_where

CANDIDATES = 20  # keyword values fetched per condition, most frequent first
KEYWORD_SUGGESTIONS = 5  # kept per condition, nearest first


@dataclass(frozen=True)
class ExplainRequest:
    service: str
    where: Where
    conditions: tuple[Located, ...]


def parse_explain_request(
    service: str, body: Any, rules: ValueRules | None = None
) -> ExplainRequest:
    """Parse and validate an explain request (a VQL request); ``rules`` as for a query."""
    reg = checked_registry(service)
    r = Reader()
    top = r.object(body, "", TOP_KEYS, "the request body")
    if top is None:
        raise_for(r.errors)
    where, located = parse_located_where(
        r, reg, (top or {}).get("where"), "/where", QueryValues(rules)
    )
    raise_for(r.errors)
    return ExplainRequest(reg.service, where, located)


def _without(request: ExplainRequest, i: int) -> Where:
    """The where with condition i (and only that occurrence) removed."""
    target = request.conditions[i]
    kept: dict[str, list[Condition]] = {"must": [], "must_not": [], "should": []}
    for j, located in enumerate(request.conditions):
        if j != i:
            kept[located.clause].append(located.node)
    assert target.clause in kept
    return Where(request.service, must=tuple(kept["must"]), must_not=tuple(kept["must_not"]),
                 should=tuple(kept["should"]))


def _alone(request: ExplainRequest, located: Located) -> Where:
    groups: dict[str, tuple[Condition, ...]] = {"must": (), "must_not": (), "should": ()}
    groups[located.clause] = (located.node,)
    return Where(request.service, groups["must"], groups["must_not"], groups["should"])


def count_plan(request: ExplainRequest) -> dict[str, Where]:
    """Named wheres to count: ``total``, ``m{i}`` (condition i alone), ``w{i}`` (without)."""
    plan = {"total": request.where}
    for i, located in enumerate(request.conditions):
        plan[f"m{i}"] = _alone(request, located)
        plan[f"w{i}"] = _without(request, i)
    return plan


# -- suggestions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CountProbe:
    """Count the records under ``where`` (a text alternative put in place)."""

    where: Where
    replace_with: Any
    reason: str


@dataclass(frozen=True)
class ValuesProbe:
    """Existing values of a keyword field near ``values`` under ``where``, with counts."""

    where: Where
    field: str
    values: tuple[str, ...]  # lowercased

    def fuzziness(self, value: str) -> int:
        return auto_fuzziness(value)


@dataclass(frozen=True)
class NearestProbe:
    """The nearest value of ``field`` beyond ``beyond`` (a range) under ``where``, and how
    many records hold it: ``side`` below (the largest) or above (the smallest)."""

    where: Where
    field: str
    beyond: RangeMatch
    side: Literal["below", "above"]
    condition: RangeMatch


Probe = CountProbe | ValuesProbe | NearestProbe
ProbeResult = int | list[tuple[str, int]] | tuple[RangeValue, int] | None


@dataclass(frozen=True)
class Probing:
    index: int  # of the condition in request.conditions
    probe: Probe


def probes(request: ExplainRequest, counts: dict[str, int]) -> dict[str, Probing]:
    """What to ask next, by name; empty unless the total is 0."""
    if counts["total"] != 0:
        return {}
    out: dict[str, Probing] = {}
    for i, located in enumerate(request.conditions):
        if located.clause != "must" or counts[f"w{i}"] == 0:
            continue  # replacing it cannot bring anything back
        base = _without(request, i)
        node = located.node
        found: list[Probe] = []
        if isinstance(node, KeywordMatch):
            values = tuple(dict.fromkeys(v.lower() for v in node.values))
            found.append(ValuesProbe(base, node.field, values))
        elif isinstance(node, RangeMatch):
            found += _range_probes(base, node)
        else:
            found += [
                CountProbe(_with(base, alt), _condition_json(alt), why)
                for alt, why in text_alternatives(node)
            ]
        for k, probe in enumerate(found):
            out[f"s{i}_{k}"] = Probing(i, probe)
    return out


def _with(where: Where, node: Condition) -> Where:
    return replace(where, must=(*where.must, node))


def text_alternatives(node: Condition) -> list[tuple[Condition, str]]:
    out: list[tuple[Condition, str]] = []
    if isinstance(node, ShuffleMatch):
        if not node.fuzzy:
            out.append((replace(node, fuzzy=True), "fuzzy: the words with a typo or two"))
        if node.operator == "and" and len(set(words(node.text))) > 1:
            out.append((replace(node, operator="or"), "operator or: any of the words"))
    elif isinstance(node, ExactMatch):
        out.append((ShuffleMatch(node.field, node.text), "shuffle: the words in any order"))
    elif isinstance(node, SubstringMatch) and words(node.text):
        out.append((ShuffleMatch(node.field, node.text, fuzzy=True),
                    "fuzzy shuffle: the words, with a typo or two"))
    return out


def _condition_json(node: Condition) -> dict[str, Any]:
    assert isinstance(node, ShuffleMatch)
    body: dict[str, Any] = {"filter_key": node.field, "text_value": node.text,
                            "search_type": node.kind}
    if node.fuzzy:
        body["fuzzy"] = True
    if node.operator != "and":
        body["operator"] = node.operator
    return body


def _range_probes(base: Where, node: RangeMatch) -> list[Probe]:
    found: list[Probe] = []
    low = node.gte if node.gte is not None else node.gt
    if low is not None:  # below: outside the lower bound
        beyond = RangeMatch(node.field, lt=low) if node.gte is not None else \
            RangeMatch(node.field, lte=low)
        found.append(NearestProbe(base, node.field, beyond, "below", node))
    high = node.lte if node.lte is not None else node.lt
    if high is not None:
        beyond = RangeMatch(node.field, gt=high) if node.lte is not None else \
            RangeMatch(node.field, gte=high)
        found.append(NearestProbe(base, node.field, beyond, "above", node))
    return found


# -- the answer ----------------------------------------------------------------------------


def explain_payload(
    request: ExplainRequest,
    counts: dict[str, int],
    asked: dict[str, Probing],
    answers: dict[str, ProbeResult],
) -> dict[str, Any]:
    total = counts["total"]
    clauses: list[dict[str, Any]] = [
        {"path": c.path, "clause": c.clause, "matches": counts[f"m{i}"],
         "total_without": counts[f"w{i}"]}
        for i, c in enumerate(request.conditions)
    ]
    if total == 0:
        clauses.sort(key=lambda c: -c["total_without"])  # stable: request order on ties
    suggestions: list[dict[str, Any]] = []
    for name, probing in asked.items():
        path = request.conditions[probing.index].path
        suggestions += [{"path": path, **s} for s in _suggested(probing.probe, answers[name])]
    suggestions.sort(key=lambda s: -int(s["total"]))
    return {"total": total, "clauses": clauses, "suggestions": suggestions}


def _suggested(probe: Probe, answer: ProbeResult) -> list[dict[str, Any]]:
    if isinstance(probe, CountProbe):
        assert isinstance(answer, int)
        if answer == 0:
            return []
        return [{"replace_with": probe.replace_with, "total": answer, "reason": probe.reason}]
    if isinstance(probe, ValuesProbe):
        assert isinstance(answer, list)

        def distance(value: str) -> int:
            return min(levenshtein(value, q) for q in probe.values)

        ranked = sorted(
            ((distance(v), -n, v) for v, n in answer if v not in probe.values and n > 0)
        )[:KEYWORD_SUGGESTIONS]
        return [{"replace_with": v, "total": -n, "reason": "nearest existing value"}
                for _, n, v in ranked]
    if answer is None:
        return []
    assert isinstance(answer, tuple)
    value, n = answer
    widened = _widened(probe.condition, probe.side, value)
    reason = f"widened {'down' if probe.side == 'below' else 'up'} to the nearest value"
    return [{"replace_with": range_json(widened), "total": n, "reason": reason}]


def _widened(node: RangeMatch, side: str, value: RangeValue) -> RangeMatch:
    if side == "below":
        return replace(node, gte=value, gt=None)
    return replace(node, lte=value, lt=None)


def nearest_value(value: Any) -> RangeValue:
    """A numeric or date value as the range's type (engines answer dates as epoch millis or
    datetimes)."""
    if isinstance(value, datetime):
        return value
    return int(value)

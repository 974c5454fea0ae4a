"""Facets and explain computed in plain Python over the loaded rows of tests/api/dataset.py.

Independent of the compilers: it reads the request JSON itself and walks the rows, so the
API's answers on either profile are checked against arithmetic, not against each other.
Text matching covers what the tests send: shuffle (and / or, fuzzy) and substring.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.dataset import DATASET

Row = dict[str, Any]
Cond = tuple[str, str, str, Any]  # (clause, kind, field, spec)


def rows(service: str) -> list[Row]:
    return DATASET.contact_documents() if service == "contacts" else list(DATASET.companies)


def conditions(where: dict[str, Any] | None) -> list[Cond]:
    """(clause, kind, field, spec) of every condition, in request order."""
    out: list[Cond] = []
    for member, kind in (("text_matches", "text"), ("keyword_match", "keyword"),
                         ("range_query", "range")):
        for clause, body in ((where or {}).get(member) or {}).items():
            if kind == "text":
                out += [(clause, kind, c["filter_key"], c) for c in body]
            else:
                out += [(clause, kind, f, spec) for f, spec in body.items()]
    return out


def _elements(value: Any) -> list[Any]:
    if value is None:
        return []
    return [v for v in value if v is not None] if isinstance(value, list) else [value]


def _words(text: str) -> list[str]:
    out, word = [], ""
    for ch in text.lower():
        if ch.isalnum():
            word += ch
        elif word:
            out.append(word)
            word = ""
    return [*out, word] if word else out


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _date(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def in_range(value: Any, spec: dict[str, Any]) -> bool:
    if value is None:
        return False
    for op, bound in spec.items():
        b = _date(bound) if isinstance(value, datetime) else bound
        if not {"gte": value >= b, "gt": value > b, "lte": value <= b, "lt": value < b}[op]:
            return False
    return True


def holds(row: Row, kind: str, field: str, spec: Any) -> bool:
    elements = _elements(row[field])
    if kind == "keyword":
        wanted = {v.lower() for v in ([spec] if isinstance(spec, str) else spec)}
        return any(e.lower() in wanted for e in elements)
    if kind == "range":
        return in_range(row[field], spec)
    text = spec["text_value"]
    if spec["search_type"] == "substring":
        return any(text.lower() in e.lower() for e in elements)
    tokens = set(_words(" ".join(elements)))
    found = []
    for w in set(_words(text)):
        k = (0 if len(w) <= 2 else 1 if len(w) <= 5 else 2) if spec.get("fuzzy") else 0
        found.append(any(_distance(w, t) <= k for t in tokens))
    return any(found) if spec.get("operator") == "or" else all(found)


def matches(row: Row, conds: list[Cond]) -> bool:
    must = [c for c in conds if c[0] == "must"]
    must_not = [c for c in conds if c[0] == "must_not"]
    should = [c for c in conds if c[0] == "should"]
    return (all(holds(row, *c[1:]) for c in must)
            and not any(holds(row, *c[1:]) for c in must_not)
            and (not should or any(holds(row, *c[1:]) for c in should)))


def count(service: str, conds: list[Cond]) -> int:
    return sum(1 for r in rows(service) if matches(r, conds))


def bucket(interval: str, value: datetime) -> str:
    value = value.astimezone(UTC)
    if interval == "year":
        return f"{value.year:04d}"
    if interval == "month":
        return f"{value.year:04d}-{value.month:02d}"
    if interval == "week":
        value -= timedelta(days=value.weekday())
    return value.date().isoformat()


def facets(service: str, body: dict[str, Any]) -> dict[str, Any]:
    conds = conditions(body.get("where"))
    out: dict[str, Any] = {}
    for facet in body["facets"]:
        field = facet["field"]
        own = [c for c in conds if not (c[0] == "must" and c[2] == field)]
        kept = [r for r in rows(service) if matches(r, own)]
        if "ranges" in facet:
            out[field] = {"ranges": [{**spec, "count": sum(in_range(r[field], spec) for r in kept)}
                                     for spec in facet["ranges"]]}
        elif "interval" in facet:
            keys = Counter(bucket(facet["interval"], r[field]) for r in kept if r[field])
            out[field] = {"buckets": [{"key": k, "count": n} for k, n in sorted(keys.items())]}
        else:
            needle = (facet.get("search_text") or body.get("search_text") or "").lower()
            per_value: Counter[str] = Counter()
            for r in kept:
                per_value.update({e.lower() for e in _elements(r[field]) if needle in e.lower()})
            ranked = sorted(per_value.items(), key=lambda vn: (-vn[1], vn[0]))
            top = ranked[: facet.get("size", 10)]
            out[field] = {
                "values": [{"value": v, "count": n} for v, n in top],
                "other": sum(per_value.values()) - sum(n for _, n in top),
                "missing": sum(1 for r in kept if not _elements(r[field])),
            }
    return {"total": count(service, conds), "facets": out}


def explain_counts(service: str, body: dict[str, Any]) -> tuple[int, list[tuple[int, int]]]:
    """(total, [(matches, total_without)] per condition in request order)."""
    conds = conditions(body.get("where"))
    per = []
    for i, (clause, kind, field, spec) in enumerate(conds):
        alone = sum(1 for r in rows(service)
                    if holds(r, kind, field, spec) != (clause == "must_not"))
        per.append((alone, count(service, conds[:i] + conds[i + 1:])))
    return count(service, conds), per

"""The parsed query: a small immutable tree, built by the parser and rendered by compilers.

Nodes hold validated, typed values only (field names from the registry, ints, UTC
datetimes), so compilers never re-check input. Each condition node names its ``kind``;
compilers dispatch on it with one method per kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

Operator = Literal["and", "or"]
Direction = Literal["asc", "desc"]
RangeValue = int | datetime


@dataclass(frozen=True)
class ExactMatch:
    """The words of ``text`` as a phrase, case-insensitive, with up to ``slop`` moves."""

    kind: ClassVar[str] = "exact"
    field: str
    text: str
    slop: int = 0


@dataclass(frozen=True)
class ShuffleMatch:
    """All (``and``) or any (``or``) words of ``text`` in any order; optionally fuzzy."""

    kind: ClassVar[str] = "shuffle"
    field: str
    text: str
    operator: Operator = "and"
    fuzzy: bool = False


@dataclass(frozen=True)
class SubstringMatch:
    """``text`` occurs in the value, case-insensitive (at least 3 characters)."""

    kind: ClassVar[str] = "substring"
    field: str
    text: str


TextMatch = ExactMatch | ShuffleMatch | SubstringMatch


@dataclass(frozen=True)
class KeywordMatch:
    """The whole value (any element, for lists) equals one of ``values``, ignoring case."""

    kind: ClassVar[str] = "keyword"
    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class RangeMatch:
    """Bounds on a number (int) or date (UTC datetime, millisecond precision) field."""

    kind: ClassVar[str] = "range"
    field: str
    gte: RangeValue | None = None
    gt: RangeValue | None = None
    lte: RangeValue | None = None
    lt: RangeValue | None = None

    def bounds(self) -> list[tuple[str, RangeValue]]:
        pairs = (("gte", self.gte), ("gt", self.gt), ("lte", self.lte), ("lt", self.lt))
        return [(op, v) for op, v in pairs if v is not None]


Condition = ExactMatch | ShuffleMatch | SubstringMatch | KeywordMatch | RangeMatch


@dataclass(frozen=True)
class Normalized:
    """A query value that a load rule changed: where it is, as sent, as understood."""

    path: str
    before: str
    after: str | int | tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        after = list(self.after) if isinstance(self.after, tuple) else self.after
        return {"path": self.path, "from": self.before, "to": after}


@dataclass(frozen=True)
class Where:
    """The boolean group: every ``must`` holds, no ``must_not`` holds, and when ``should``
    is not empty at least one of it holds. Empty means every record."""

    service: str
    must: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()
    should: tuple[Condition, ...] = ()
    # What the load rules changed in the request's values (not part of the query's
    # identity: "USA" and "united states" are the same where, and page the same cursors).
    normalized: tuple[Normalized, ...] = field(default=(), compare=False, repr=False)

    @property
    def is_empty(self) -> bool:
        return not (self.must or self.must_not or self.should)

    @property
    def scores_text(self) -> bool:
        """Text matches that contribute relevance (in must or should, not must_not)."""
        text_kinds = ("exact", "shuffle", "substring")
        return any(c.kind in text_kinds for c in (*self.must, *self.should))


@dataclass(frozen=True)
class Sort:
    field: str
    direction: Direction = "asc"


@dataclass(frozen=True)
class CompanyConfig:
    populate: bool = False
    select_columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SortKey:
    """One key of a query's effective order, as both compilers and cursors see it.

    ``kind`` is ``keyword`` (lowercased string), ``number``, ``date`` (epoch millis),
    ``score`` (search-engine relevance, search only) or ``id`` (the final tie-breaker).
    """

    field: str
    kind: Literal["keyword", "number", "date", "score", "id"]
    descending: bool = False


SortValue = str | int | float | None


@dataclass(frozen=True)
class SortValues:
    """Where a page ended: the effective order's keys and the last row's value per key.

    ``engine`` is ``search`` or ``sql``: with relevance order the two engines sort by
    different keys, so a cursor is only valid on the engine family that issued it.
    """

    engine: Literal["search", "sql"]
    keys: tuple[SortKey, ...]
    values: tuple[SortValue, ...]


@dataclass(frozen=True)
class Query:
    """A validated VQL request. ``cursor``, when set, replaces ``page``."""

    service: str
    where: Where
    order_by: tuple[Sort, ...] = ()
    page: int = 1
    limit: int = 25
    cursor: SortValues | None = None
    select_columns: tuple[str, ...] | None = None
    company_config: CompanyConfig | None = None

    @property
    def offset(self) -> int:
        return 0 if self.cursor is not None else (self.page - 1) * self.limit

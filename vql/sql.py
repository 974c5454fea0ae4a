"""Compile a parsed query to SQL (SQLAlchemy Core) for DuckDB and PostgreSQL.

``source`` is a table or view whose columns are named like the registry's fields (the
``contacts_search`` view, the ``companies`` table). Identifiers come from the registry only;
every value is a bound parameter. Engine differences are rendered by :mod:`vql.sql_dialects`.

Semantics, and where they differ from the search engine (the same ids on structured
filters; text matching is close, not identical):

- Words. The index splits text with the ``standard`` analyzer (Unicode word boundaries:
  ``o'neil``, ``john.doe``, ``example.com``, ``3.14`` stay one word); SQL cuts the lowercased
  value into the matches of the same rule as a regex (:data:`vql.text.WORD` on DuckDB; on
  PostgreSQL :data:`vql.text.POSTGRES_WORD`, whose letters follow the database's locale),
  and the query text by the same rule in Python. Emoji are words there, separators here.
  Where the caller knows a field's values are all plain (:class:`TextFacts`: no match of
  :data:`vql.text.CONTEXT`, which rules out everything that joins or splits differently),
  they are cut by the quick split into runs of letters and digits: the same words, cheaper.
  Lowercasing follows each engine's rules (per character in both, for ordinary text).
- exact: the query's words as consecutive words of the value; with ``slop`` > 0, each query
  word found within ``slop`` positions of its place in the phrase, in any order, as
  Lucene's sloppy phrase (offsets spread at most ``slop``), a repeated query word at as many
  distinct value words (as Lucene).
- shuffle: every (``and``) or any (``or``) query word is a word of the value. fuzzy: each
  query word within AUTO edit distance (0 for 1-2 letters, 1 for 3-5, 2 beyond) of some
  word of the value, by plain Levenshtein (the DSL sets ``fuzzy_transpositions: false`` to
  agree); the engine also caps a fuzzy word at 50 expansions (``max_expansions``). With
  an ``expand`` fact (the DuckDB store's) SQL does too: the data's words closest to the
  query word are looked up first (:func:`fuzzy_terms_statement`, Lucene's order) and then
  matched as words; without one (PostgreSQL) every word within the distance matches.
  PostgreSQL needs the ``fuzzystrmatch`` extension (the store creates it).
- substring: ``strpos(lower(value), lower(needle)) > 0``; the index matches consecutive
  trigrams, which is the same thing.
- Lists: keyword, exact and substring match any single element; shuffle and fuzzy look at
  the words of all elements together, as the index does (one field, many values).
- keyword: ``lower(value)`` equals a lowercased query value. The index keeps keyword values
  up to 512 characters; longer values neither match nor sort there.
- range: numbers compared as integers; date bounds at millisecond precision against the
  stored timestamps (the index stores milliseconds; SQL may hold microseconds). Date
  columns declared ``DateTime(timezone=True)`` get aware UTC bounds, others naive UTC.
- Order: text keys by ``lower(value)`` in byte order (``COLLATE "C"`` on PostgreSQL),
  numbers by value, dates by epoch milliseconds; NULLs last in both directions; the id
  ascending last. SQL has no relevance: with text matches and no ``order_by`` the engine
  orders by ``_score`` but SQL by ``created_at`` desc then id, so such pages differ and
  their cursors are not interchangeable.
- must_not excludes records where the condition holds; a missing value never holds, so
  records without the field stay (as in the engine).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, FromClause, Select

from vql.cursor_values import check_cursor
from vql.nodes import (
    Condition,
    ExactMatch,
    KeywordMatch,
    Query,
    RangeMatch,
    ShuffleMatch,
    SortKey,
    SortValue,
    SubstringMatch,
    Where,
)
from vql.registry import Field, registry
from vql.sql_dialects import (
    any_element,
    any_word,
    byte_order,
    count_in_window,
    element,
    epoch_millis,
    plain_spaced_words,
    plain_words,
    spaced_words,
    within_edits,
    word_count,
    word_in_window,
    words,
)
from vql.text import auto_fuzziness
from vql.text import words as query_words

Predicate = ColumnElement[bool]
# (field, query word, max edits) -> the words of the data within that many edits, closest
# first, at most MAX_EXPANSIONS (fuzzy_terms_statement runs on the caller's store); None
# for a word it did not look up (SQL then matches every word within the edits).
Expand = Callable[[str, str, int], Sequence[str] | None]
MAX_EXPANSIONS = 50  # the engine's default max_expansions of a fuzzy match


@dataclass(frozen=True)
class TextFacts:
    """What the caller's store knows of its text, looked up before a query compiles (the
    DuckDB store's, in the query's snapshot). ``expand``: a fuzzy word's terms in the data,
    as the engine expands it. ``plain``: the fields none of whose stored values has a match
    of :data:`vql.text.CONTEXT`, whose words SQL then cuts by the quick split (the same
    words, without the word pattern). ``lowercase``: the fields whose stored values are all
    lowercase ASCII already, which SQL then compares without ``lower()`` (~30% of a
    substring scan). Without facts every value's words are cut by the full
    rule and a fuzzy word matches every word within its edits."""

    expand: Expand | None = None
    plain: frozenset[str] = frozenset()
    lowercase: frozenset[str] = frozenset()  # every stored value is its own lower()


NO_FACTS = TextFacts()


@dataclass(frozen=True)
class Cut:
    """How SQL cuts one field's values into words: by the full rule, where a value may need
    the word pattern (row by row), or by the quick split (the field is plain). Either way a
    word of the value is first tested as a substring of it, which DuckDB runs once per
    distinct value of a dictionary-compressed column, so the cut runs on fewer rows (at 1M
    titles a word by the quick split: 25 ms alone, 12 ms after the substring test)."""

    split: type[words]
    spaced: type[spaced_words]
    per_row: bool
    lowercase: bool = False

    def has_all(self, text: ColumnElement[Any], phrase: Sequence[str]) -> Predicate:
        """Every word is a substring of the lowercased value: what a word of the value
        needs, tested before the value is cut."""
        low = text if self.lowercase else sa.func.lower(text)
        return sa.and_(*(sa.func.strpos(low, w) > 0 for w in dict.fromkeys(phrase)))

    def has_word(self, text: ColumnElement[Any], word: str) -> Predicate:
        return sa.and_(self.has_all(text, [word]),
                       sa.func.strpos(self.spaced(text), f" {word} ") > 0)

    def has_any(self, text: ColumnElement[Any], terms: Sequence[str]) -> Predicate:
        """Some word of the value is one of `terms`. Through the pattern, the value's words
        are cut once for all of them (6 terms at 200k titles: 400 -> 96 ms), after some term
        is found a substring; by the quick split (a string, not a list) each term is tested
        as a word alone, after its own substring test."""
        if not terms:
            return sa.false()
        if len(terms) == 1 or not self.per_row:
            return sa.or_(*(self.has_word(text, t) for t in terms))
        some = sa.or_(*(self.has_all(text, [t]) for t in terms))
        return sa.and_(some, any_word(text, sa.literal(list(terms), sa.ARRAY(sa.String()))))


FULL = Cut(words, spaced_words, per_row=True)
PLAIN = Cut(plain_words, plain_spaced_words, per_row=False)


@dataclass(frozen=True)
class Related:
    """Fields of another table reached by a semi-join, not through a joined view: a
    condition on one of them is ``source.foreign IN (SELECT key FROM related WHERE
    condition)``. ``related`` names its columns like the fields (company_name, ...). On
    DuckDB this filters 50k companies instead of joining them to a million contacts per
    query; the answer is the view's (a contact without its company matches no condition on
    its fields, and a must_not on them keeps it)."""

    fields: frozenset[str]
    source: FromClause
    key: str
    foreign: str


def _exists(rows: FromClause, *conditions: Predicate) -> Predicate:
    """EXISTS over a table function of the current row (correlated to everything else)."""
    found: Select[Any] = sa.select(sa.literal_column("1")).select_from(rows)
    return sa.exists(found.correlate_except(rows).where(*conditions))


class SqlCompiler:
    """One method per condition kind, over the columns of ``source``."""

    def __init__(
        self,
        service: str,
        source: FromClause,
        *,
        related: Related | None = None,
        facts: TextFacts = NO_FACTS,
    ) -> None:
        self.service = service
        self.registry = registry(service)
        self.source = source
        self.related = related
        self.facts = facts

    def column(self, name: str) -> ColumnElement[Any]:
        try:
            return self.source.c[name]
        except KeyError:
            raise ValueError(f"the SQL source has no column {name!r}") from None

    def field(self, name: str) -> Field:
        return self.registry[name]

    def cut(self, field: Field) -> Cut:
        cut = PLAIN if field.name in self.facts.plain else FULL
        return replace(cut, lowercase=True) if field.name in self.facts.lowercase else cut

    def lower(self, field: Field, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """lower(value), or the value itself where the store knows it is lowercase."""
        return value if field.name in self.facts.lowercase else sa.func.lower(value)

    @staticmethod
    def as_text(expr: ColumnElement[Any]) -> ColumnElement[Any]:
        """Strings as they are; other types (uuid) cast, so lower() applies."""
        return expr if isinstance(expr.type, sa.String) else sa.cast(expr, sa.String())

    def per_value(self, field: Field, test: Any, *, subquery: bool = False) -> Predicate:
        """``test(value)`` on the column, or on any element of a list column (DuckDB: a
        lambda, ~20x faster than EXISTS over unnest of a list column at 1M rows). ``subquery``:
        the test holds a subquery, which DuckDB cannot evaluate per element of a list."""
        col = self.column(field.name)
        if not field.is_list:
            result: Predicate = test(self.as_text(col))
            return result
        if not subquery:
            return any_element(col, test(element()))
        rows = sa.func.unnest(col).table_valued(sa.column("v", sa.String())).render_derived(
            name="e"
        )
        return _exists(rows, test(rows.c.v))

    def all_text(self, field: Field) -> ColumnElement[Any]:
        """The value as one text; a list's elements joined by spaces (words of all)."""
        col = self.column(field.name)
        if field.is_list:
            return sa.func.array_to_string(col, " ")
        return self.as_text(col)

    # -- the boolean group -------------------------------------------------------------
    def where(self, where: Where) -> Predicate:
        parts: list[Predicate] = [self.condition(c) for c in where.must]
        parts += [sa.not_(sa.func.coalesce(self.condition(c), sa.false())) for c in where.must_not]
        if where.should:
            parts.append(sa.or_(*(self.condition(c) for c in where.should)))
        return sa.and_(sa.true(), *parts) if parts else sa.true()

    def condition(self, node: Condition) -> Predicate:
        related = self.related
        if related is not None and node.field in related.fields:
            inner = SqlCompiler(self.service, related.source, facts=self.facts)
            matching = sa.select(inner.column(related.key)).where(inner.condition(node))
            return self.column(related.foreign).in_(matching)
        result: Predicate = getattr(self, node.kind)(node)
        return result

    # -- conditions ----------------------------------------------------------------------
    def keyword(self, node: KeywordMatch) -> Predicate:
        values = list(dict.fromkeys(v.lower() for v in node.values))
        field = self.field(node.field)
        return self.per_value(field, lambda v: self.lower(field, v).in_(values))

    def range(self, node: RangeMatch) -> Predicate:
        col = self.column(node.field)
        parts = []
        for op, value in node.bounds():
            bound = self.date_param(col, value) if isinstance(value, datetime) else value
            parts.append(
                {"gte": col >= bound, "gt": col > bound, "lte": col <= bound, "lt": col < bound}[op]
            )
        return sa.and_(*parts)

    @staticmethod
    def date_param(col: ColumnElement[Any], value: datetime) -> datetime:
        aware = isinstance(col.type, sa.DateTime) and bool(col.type.timezone)
        return value if aware else value.replace(tzinfo=None)

    def exact(self, node: ExactMatch) -> Predicate:
        field = self.field(node.field)
        cut = self.cut(field)
        phrase = query_words(node.text)
        slop = node.slop
        if slop == 0:
            needle = " " + " ".join(phrase) + " "
            def consecutive(value: ColumnElement[Any]) -> Predicate:
                found = sa.func.strpos(cut.spaced(value), needle) > 0
                return sa.and_(cut.has_all(value, phrase), found)

            return self.per_value(field, consecutive)

        at: dict[str, list[int]] = {}  # each word's places in the phrase
        for i, w in enumerate(phrase):
            at.setdefault(w, []).append(i)

        def sloppy(value: ColumnElement[Any]) -> Predicate:
            # Some anchor o where query word i sits at a position in [o + i, o + i + slop],
            # a repeated word at as many distinct positions: for its places j..k, at least
            # k - j + 1 of them in [o + j, o + k + slop] (Hall's condition, which for windows
            # of one length needs only such runs).
            toks = cut.split(value)
            anchor = sa.func.generate_series(1 - slop, word_count(toks)).table_valued(
                sa.column("o", sa.Integer())
            ).render_derived(name="g")
            o = anchor.c.o
            checks: list[Predicate] = []
            for w, places in at.items():
                for j, first in enumerate(places):
                    lo = sa.func.greatest(1, o + first)
                    checks.append(word_in_window(toks, lo, o + (first + slop), w))
                    checks += [
                        count_in_window(toks, lo, o + (last + slop), w) >= n + 2
                        for n, last in enumerate(places[j + 1:])
                    ]
            return sa.and_(cut.has_all(value, phrase), _exists(anchor, *checks))

        return self.per_value(field, sloppy, subquery=True)

    def shuffle(self, node: ShuffleMatch) -> Predicate:
        field = self.field(node.field)
        text = self.all_text(field)
        unique = dict.fromkeys(query_words(node.text))
        tests = [self.word_match(field, text, w, node.fuzzy) for w in unique]
        return sa.and_(*tests) if node.operator == "and" else sa.or_(*tests)

    def word_match(
        self, field: Field, text: ColumnElement[Any], word: str, fuzzy: bool
    ) -> Predicate:
        """A word of the value is `word` (or, fuzzy, within AUTO edits of it). A word is a
        substring ' word ' of the spaced words, a string test (an array of words per row
        costs ~40x more at 1M rows), after the word is found a substring (Cut). Fuzzy with
        an expander: the data's words close to `word`
        are looked up first, as the engine expands a fuzzy term, then tested as words."""
        k = auto_fuzziness(word) if fuzzy else 0
        cut = self.cut(field)
        if k == 0:
            return cut.has_word(text, word)
        terms = None if self.facts.expand is None else self.facts.expand(field.name, word, k)
        if terms is not None:
            return cut.has_any(text, terms)
        toks = cut.split(text)
        # EXISTS over unnest, not any_element: DuckDB runs a lambda with levenshtein ~10x
        # slower than this join over the words (0.46 s vs 0.05 s at 1M titles).
        tok = sa.func.unnest(toks).table_valued(sa.column("t", sa.String())).render_derived(
            name="u"
        )
        t = tok.c.t
        # The length guard keeps levenshtein off hopeless (and over-long) words.
        close = sa.case(
            (sa.func.abs(sa.func.length(t) - len(word)) <= k, within_edits(t, word, k)),
            else_=sa.false(),
        )
        return _exists(tok, close)

    def substring(self, node: SubstringMatch) -> Predicate:
        needle = node.text.lower()
        field = self.field(node.field)
        return self.per_value(field, lambda v: sa.func.strpos(self.lower(field, v), needle) > 0)

    # -- order and cursor ----------------------------------------------------------------
    def sort_expr(self, key: SortKey) -> ColumnElement[Any]:
        col = self.column(key.field)
        if key.kind == "keyword":
            return byte_order(sa.func.lower(self.as_text(col)))
        if key.kind == "date":
            return epoch_millis(col)
        return col

    def order(
        self, keys: Sequence[SortKey], exprs: Sequence[ColumnElement[Any]] | None = None
    ) -> list[ColumnElement[Any]]:
        """ORDER BY of the keys (over `exprs`, their sort_expr, when given): NULLs last."""
        exprs = [self.sort_expr(k) for k in keys] if exprs is None else exprs
        order: list[ColumnElement[Any]] = []
        for key, expr in zip(keys, exprs, strict=True):
            ordered = expr.desc() if key.descending else expr.asc()
            order.append(ordered if key.kind == "id" else ordered.nulls_last())
        return order

    def key_param(self, key: SortKey, expr: ColumnElement[Any], value: SortValue) -> Any:
        if key.kind == "id" and isinstance(expr.type, sa.Uuid) and expr.type.as_uuid:
            return uuid.UUID(str(value))
        return value

    def after(self, keys: tuple[SortKey, ...], values: tuple[SortValue, ...]) -> Predicate:
        """Rows strictly after ``values`` in the order of ``keys`` (NULLs last)."""
        exprs = [self.sort_expr(k) for k in keys]
        disjuncts: list[Predicate] = []
        equal_so_far: list[Predicate] = []
        for key, expr, value in zip(keys, exprs, values, strict=True):
            if value is not None:
                param = self.key_param(key, expr, value)
                beyond = expr < param if key.descending else expr > param
                if key.kind != "id":  # NULLs sort last, so they come after any value
                    beyond = sa.or_(beyond, expr.is_(None))
                disjuncts.append(sa.and_(*equal_so_far, beyond))
                equal_so_far.append(expr == param)
            else:
                equal_so_far.append(expr.is_(None))
        return sa.or_(*disjuncts) if disjuncts else sa.false()


def fuzzy_words(where: Where | None) -> dict[str, list[tuple[str, int]]]:
    """The fuzzy words of a where, per field, each with the edits AUTO allows it (> 0)."""
    found: dict[str, dict[tuple[str, int], None]] = {}
    conditions = () if where is None else (*where.must, *where.must_not, *where.should)
    for node in conditions:
        if isinstance(node, ShuffleMatch) and node.fuzzy:
            for word in query_words(node.text):
                if k := auto_fuzziness(word):
                    found.setdefault(node.field, {})[(word, k)] = None
    return {field: list(asked) for field, asked in found.items()}


def fuzzy_terms_statement(
    service: str,
    field: str,
    asked: Sequence[tuple[str, int]],
    source: FromClause,
    facts: TextFacts = NO_FACTS,
) -> Select[Any]:
    """Rows (i, term): for the i-th asked (word, k), the distinct words of `field` in
    `source` within k edits of it, at most MAX_EXPANSIONS: the terms the engine expands a
    fuzzy word to. Lucene keeps the terms of the highest boost, 1 - edits / min(length of
    term, length of word) in code points, and of equal boosts the lowest in byte order. The
    words are split once, from the field's distinct values (few, for titles and the like)."""
    compiler = SqlCompiler(service, source, facts=facts)
    spec = compiler.field(field)
    values = sa.select(compiler.all_text(spec).label("v")).distinct()
    split = values.subquery("vql_values")
    cut = compiler.cut(spec).split(split.c.v)
    toks = sa.select(sa.func.unnest(cut).label("w")).distinct().cte("vql_words")
    w = toks.c.w
    parts = []
    for i, (word, k) in enumerate(asked):
        distance = sa.func.levenshtein(w, word)
        shorter = sa.func.least(sa.func.length(w), len(word))
        closest = (
            sa.select(sa.literal(i).label("i"), w.label("term"))
            .where(sa.func.abs(sa.func.length(w) - len(word)) <= k, distance <= k)
            .order_by(sa.cast(distance, sa.Float()) / shorter, byte_order(w))
            .limit(MAX_EXPANSIONS)
            .subquery(f"vql_q{i}")
        )
        parts.append(sa.select(closest.c.i, closest.c.term))
    union = sa.union_all(*parts).subquery("vql_terms")
    return sa.select(union.c.i, union.c.term)


def compile_sql_where(
    where: Where,
    source: FromClause,
    *,
    related: Related | None = None,
    facts: TextFacts = NO_FACTS,
) -> Predicate:
    """The where condition alone (count and filter-values queries)."""
    return SqlCompiler(where.service, source, related=related, facts=facts).where(where)


def compile_sql(
    query: Query,
    source: FromClause,
    *,
    related: Related | None = None,
    facts: TextFacts = NO_FACTS,
) -> Select[Any]:
    """``SELECT id, sort_0, ... FROM source WHERE ... ORDER BY ... LIMIT/OFFSET``.

    The ``sort_i`` columns are the order's keys before the id (what
    ``sort_values_from_row`` turns into the next cursor). With a cursor, a keyset
    condition replaces the offset.
    """
    compiler = SqlCompiler(query.service, source, related=related, facts=facts)
    keys = check_cursor(query, "sql")
    exprs = [compiler.sort_expr(k) for k in keys]
    columns = [compiler.column("id").label("id")]
    columns += [e.label(f"sort_{i}") for i, e in enumerate(exprs[:-1])]
    condition = _page_condition(query, compiler, keys)
    order = compiler.order(keys, exprs)
    stmt = sa.select(*columns).select_from(source).where(condition).order_by(*order)
    stmt = stmt.limit(query.limit)
    if query.offset:
        stmt = stmt.offset(query.offset)
    return stmt



def _page_condition(
    query: Query,
    compiler: SqlCompiler,
    keys: tuple[SortKey, ...],
) -> Predicate:
    condition = compiler.where(query.where)
    if query.cursor is not None:
        condition = sa.and_(condition, compiler.after(keys, query.cursor.values))
    return condition


def compile_sql_window(
    query: Query,
    source: FromClause,
    size: int,
    *,
    related: Related | None = None,
    facts: TextFacts = NO_FACTS,
) -> Select[Any] | None:
    """The first `size` values of the first sort key's own column among the page's
    candidates (where and cursor), sorted by that column alone, NULLs last; None unless the
    key is a number or a date. A top-N over one plain column is what DuckDB does fastest (it
    skips row groups by their min/max as the N-th value improves); :func:`window_bound`
    turns its answer into a condition that keeps every row of the page, so the real sort
    (by the key, then the id, over every candidate) only sees the few rows near the top."""
    keys = check_cursor(query, "sql")
    key = keys[0]
    if key.kind not in ("number", "date"):
        return None
    compiler = SqlCompiler(query.service, source, related=related, facts=facts)
    col = compiler.column(key.field)
    ordered = (col.desc() if key.descending else col.asc()).nulls_last()
    condition = _page_condition(query, compiler, keys)
    return sa.select(col).select_from(source).where(condition).order_by(ordered).limit(size)


def window_bound(query: Query, source: FromClause, values: Sequence[Any]) -> Predicate | None:
    """The condition on the first sort key's column that every row of the window's size
    at the top of the page's order meets, from :func:`compile_sql_window`'s answer: the
    window's last value (a shorter window holds every candidate). None when it ends in NULL
    (nothing can be left out). Dates sort by epoch milliseconds, so the bound is the last
    value cut to its millisecond, widened by one millisecond more for whichever way the
    engine rounds instants before 1970."""
    if not values:
        return sa.false()
    if values[-1] is None:
        return None
    key = check_cursor(query, "sql")[0]
    col = SqlCompiler(query.service, source).column(key.field)
    last = values[-1]
    if key.kind == "date":
        cut = last.replace(microsecond=last.microsecond // 1000 * 1000)
        milli = timedelta(milliseconds=1)
        return col >= cut - milli if key.descending else col < cut + 2 * milli
    return col >= last if key.descending else col <= last

"""What differs between the two SQL engines, as small SQL constructs compiled per dialect.

The SQL compiler builds one dialect-neutral SQLAlchemy tree; the constructs below render as
DuckDB or PostgreSQL SQL when the tree is compiled. There is no DuckDB driver for
SQLAlchemy here, so :class:`DuckDBDialect` (PostgreSQL's grammar, ``qmark`` parameters) only
compiles; :func:`to_duckdb` turns a select into ``(sql, params)`` for ``duckdb`` itself.

Only constant patterns of our own are written into SQL; every value is a bound parameter.
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, ColumnElement, FunctionElement
from sqlalchemy.util import LRUCache

from vql import text as word_rule


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# One word of the engine's standard tokenizer (vql.text): every place SQL cuts text into
# words (word matches, phrases, fuzzy expansion) extracts the matches of this pattern (on
# DuckDB, of the one with emoji for a value that holds an emoji: _words_of_duckdb).
DUCKDB_WORD = _literal(word_rule.WORD)  # RE2: Unicode properties
DUCKDB_WORD_WITH_EMOJI = _literal(word_rule.WORD_WITH_EMOJI)
DUCKDB_EMOJI_CHARS = _literal(word_rule.EMOJI_CHARS)
DUCKDB_CONTEXT = _literal(word_rule.CONTEXT)
DUCKDB_NOT_RUN = _literal(word_rule.RUN.replace("[", "[^", 1))
POSTGRES_WORD = _literal(word_rule.POSTGRES_WORD)  # ARE: classes of the database's locale


class DuckDBDialect(PGDialect):
    """PostgreSQL's SQL grammar with DuckDB's name and positional ``?`` parameters."""

    name = "duckdb"
    supports_statement_cache = False

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("paramstyle", "qmark")
        super().__init__(**kw)


_DUCKDB = DuckDBDialect()


# Compiled statements by SQLAlchemy's cache key (the statement's shape, without its values),
# as an engine's compiled cache keeps them: a page's three statements took ~5 ms of
# compiling at every request.
_COMPILED: LRUCache[Any, SQLCompiler] = LRUCache(1000)


def to_duckdb(statement: ClauseElement) -> tuple[str, list[Any]]:
    """SQL text and positional parameters for ``duckdb.DuckDBPyConnection.execute``: the
    statement compiled once per shape, its values (IN lists expanded) bound each time."""
    key = statement._generate_cache_key()
    if key is None:  # a construct that cannot be cached: compiled every time
        compiled = statement.compile(dialect=_DUCKDB,
                                     compile_kwargs={"render_postcompile": True})
        names: list[str] = getattr(compiled, "positiontup", None) or []
        return str(compiled), [compiled.params[name] for name in names]
    cached = _COMPILED.get(key.key)
    if cached is None:
        cached = cast(SQLCompiler, statement.compile(dialect=_DUCKDB, cache_key=key))
        _COMPILED[key.key] = cached
    params = cached.construct_params(extracted_parameters=key.bindparams, escape_names=False)
    state = cached.construct_expanded_state(params, escape_names=False)
    return state.statement, [state.parameters[name] for name in state.positiontup or []]


def to_postgres(statement: ClauseElement) -> tuple[str, dict[str, Any]]:
    """SQL text (psycopg ``%(name)s`` style) and parameters, for logs and tests; stores
    execute the select itself through a SQLAlchemy engine."""
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    compiled = statement.compile(
        dialect=PGDialect_psycopg(), compile_kwargs={"render_postcompile": True}
    )
    return str(compiled), dict(compiled.params)


def _args(compiler: SQLCompiler, element: FunctionElement[Any], **kw: Any) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


class words(FunctionElement[Any]):  # noqa: N801 - SQL function style, like sa.func
    """The array of lowercased words of a text expression."""

    type = sa.ARRAY(sa.String())
    inherit_cache = True


def _words_of_pg(text: str) -> str:
    return f"ARRAY(SELECT (regexp_matches(lower({text}), {POSTGRES_WORD}, 'g'))[1])"


def _words_of_duckdb(text: str) -> str:
    """The words of `text`: a value that holds an emoji is cut by the rule with the emoji
    (RE2 runs it ~30x slower: only those values), any other by the rule without."""
    return (f"CASE WHEN strlen({text}) <> length({text}) "  # any emoji is beyond ASCII
            f"AND regexp_matches({text}, {DUCKDB_EMOJI_CHARS}) "
            f"THEN regexp_extract_all(lower({text}), {DUCKDB_WORD_WITH_EMOJI}) "
            f"ELSE regexp_extract_all(lower({text}), {DUCKDB_WORD}) END")


@compiles(words)
def _words_pg(element: words, compiler: SQLCompiler, **kw: Any) -> str:
    return _words_of_pg(_args(compiler, element, **kw)[0])


@compiles(words, "duckdb")
def _words_duckdb(element: words, compiler: SQLCompiler, **kw: Any) -> str:
    return _words_of_duckdb(_args(compiler, element, **kw)[0])


class plain_words(words):  # noqa: N801
    """words() of a field whose values the store knows have no match of
    :data:`vql.text.CONTEXT`: on DuckDB its runs of letters and digits (the same words, with
    no pattern to compile or run); elsewhere as words()."""

    inherit_cache = True


@compiles(plain_words, "duckdb")
def _plain_words_duckdb(element: plain_words, compiler: SQLCompiler, **kw: Any) -> str:
    return f"string_split(trim({_quick_spaced(_args(compiler, element, **kw)[0])}), ' ')"


class spaced_words(FunctionElement[Any]):  # noqa: N801
    """' w1 w2 ... ': the lowercased words joined by single spaces, padded by spaces, so a
    phrase is a plain substring search for ' q1 q2 '."""

    type = sa.String()
    inherit_cache = True


def _spaced(array: str) -> str:
    return f"(' ' || array_to_string({array}, ' ') || ' ')"


@compiles(spaced_words)
def _spaced_pg(element: spaced_words, compiler: SQLCompiler, **kw: Any) -> str:
    return _spaced(_words_of_pg(_args(compiler, element, **kw)[0]))


@compiles(spaced_words, "duckdb")
def _spaced_duckdb(element: spaced_words, compiler: SQLCompiler, **kw: Any) -> str:
    return _spaced_of_duckdb(_args(compiler, element, **kw)[0])


def _quick_spaced(text: str) -> str:
    return f"regexp_replace(lower({text}), {DUCKDB_NOT_RUN}, ' ', 'g')"


def _spaced_of_duckdb(text: str) -> str:
    # A value without a match of vql.text.CONTEXT (most) has as words its runs of letters
    # and digits: a scalar regexp_replace (two word tests over 1M titles: 25 ms), where
    # regexp_extract_all costs ~4 us per row. The test is a scalar too (a replace that
    # changes the value when the pattern is found).
    return (
        f"(' ' || CASE WHEN regexp_replace({text}, {DUCKDB_CONTEXT}, '') <> {text} "
        f"THEN array_to_string({_words_of_duckdb(text)}, ' ') "
        f"ELSE {_quick_spaced(text)} END || ' ')"
    )


class plain_spaced_words(spaced_words):  # noqa: N801
    """spaced_words() of a field whose values all lack CONTEXT (as plain_words)."""

    inherit_cache = True


@compiles(plain_spaced_words, "duckdb")
def _plain_spaced_duckdb(element: plain_spaced_words, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(' ' || {_quick_spaced(_args(compiler, element, **kw)[0])} || ' ')"


class any_word(FunctionElement[Any]):  # noqa: N801
    """any_word(text, words): some word of the text is one of ``words`` (an array); the
    text's words are cut once, not once per word."""

    type = sa.Boolean()
    inherit_cache = True


@compiles(any_word)
def _any_word_pg(element: any_word, compiler: SQLCompiler, **kw: Any) -> str:
    text, wanted = _args(compiler, element, **kw)
    return f"({_words_of_pg(text)} && {wanted})"


@compiles(any_word, "duckdb")
def _any_word_duckdb(element: any_word, compiler: SQLCompiler, **kw: Any) -> str:
    text, wanted = _args(compiler, element, **kw)
    return f"list_has_any(string_split({_spaced_of_duckdb(text)}, ' '), {wanted})"


class word_count(FunctionElement[Any]):  # noqa: N801
    type = sa.Integer()
    inherit_cache = True


@compiles(word_count)
def _count_pg(element: word_count, compiler: SQLCompiler, **kw: Any) -> str:
    return f"cardinality({_args(compiler, element, **kw)[0]})"


@compiles(word_count, "duckdb")
def _count_duckdb(element: word_count, compiler: SQLCompiler, **kw: Any) -> str:
    return f"len({_args(compiler, element, **kw)[0]})"


class word_in_window(FunctionElement[Any]):  # noqa: N801
    """word_in_window(array, lo, hi, word): the word is at a 1-based position in [lo, hi]."""

    type = sa.Boolean()
    inherit_cache = True


@compiles(word_in_window)
def _window_pg(element: word_in_window, compiler: SQLCompiler, **kw: Any) -> str:
    arr, lo, hi, word = _args(compiler, element, **kw)
    return f"({word} = ANY(({arr})[{lo}:{hi}]))"


@compiles(word_in_window, "duckdb")
def _window_duckdb(element: word_in_window, compiler: SQLCompiler, **kw: Any) -> str:
    arr, lo, hi, word = _args(compiler, element, **kw)
    return f"list_contains(list_slice({arr}, {lo}, {hi}), {word})"


class count_in_window(FunctionElement[Any]):  # noqa: N801
    """count_in_window(array, lo, hi, word): how many of the 1-based positions [lo, hi]
    hold the word."""

    type = sa.Integer()
    inherit_cache = True


@compiles(count_in_window)
def _count_window_pg(element: count_in_window, compiler: SQLCompiler, **kw: Any) -> str:
    arr, lo, hi, word = _args(compiler, element, **kw)
    return f"cardinality(array_positions(({arr})[{lo}:{hi}], {word}))"


@compiles(count_in_window, "duckdb")
def _count_window_duckdb(element: count_in_window, compiler: SQLCompiler, **kw: Any) -> str:
    arr, lo, hi, word = _args(compiler, element, **kw)
    return f"len(list_filter(list_slice({arr}, {lo}, {hi}), lambda vql_w: vql_w = {word}))"


class within_edits(FunctionElement[Any]):  # noqa: N801
    """within_edits(a, b, k): Levenshtein distance of a and b is at most k (PostgreSQL:
    fuzzystrmatch, which the store installs; its bounded variant stops early)."""

    type = sa.Boolean()
    inherit_cache = True


@compiles(within_edits)
def _edits_pg(element: within_edits, compiler: SQLCompiler, **kw: Any) -> str:
    a, b, k = _args(compiler, element, **kw)
    return f"(levenshtein_less_equal({a}, {b}, {k}) <= {k})"


@compiles(within_edits, "duckdb")
def _edits_duckdb(element: within_edits, compiler: SQLCompiler, **kw: Any) -> str:
    a, b, k = _args(compiler, element, **kw)
    return f"(levenshtein({a}, {b}) <= {k})"


class epoch_millis(FunctionElement[Any]):  # noqa: N801
    """Milliseconds since the epoch of a timestamp: the search engine's date sort key.

    Both engines compute it from the timestamp's UTC/nominal value, whatever the session
    time zone, so the key is the same with and without time zone types.
    """

    type = sa.BigInteger()
    inherit_cache = True


@compiles(epoch_millis)
def _millis_pg(element: epoch_millis, compiler: SQLCompiler, **kw: Any) -> str:
    (ts,) = _args(compiler, element, **kw)
    return f"CAST(floor(EXTRACT(EPOCH FROM {ts}) * 1000) AS BIGINT)"


@compiles(epoch_millis, "duckdb")
def _millis_duckdb(element: epoch_millis, compiler: SQLCompiler, **kw: Any) -> str:
    return f"epoch_ms({_args(compiler, element, **kw)[0]})"


class byte_order(FunctionElement[Any]):  # noqa: N801
    """A string compared and sorted by its bytes (code points), like a keyword sort."""

    type = sa.String()
    inherit_cache = True


@compiles(byte_order)
def _bytes_pg(element: byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({_args(compiler, element, **kw)[0]} COLLATE "C")'


@compiles(byte_order, "duckdb")
def _bytes_duckdb(element: byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    # DuckDB compares strings bytewise unless a default collation is configured.
    return _args(compiler, element, **kw)[0]


class distinct_lowered(FunctionElement[Any]):  # noqa: N801
    """The distinct lowercased elements of a list (a record's values, each counted once)."""

    type = sa.ARRAY(sa.String())
    inherit_cache = True


@compiles(distinct_lowered)
def _distinct_pg(element: distinct_lowered, compiler: SQLCompiler, **kw: Any) -> str:
    (arr,) = _args(compiler, element, **kw)
    return f"ARRAY(SELECT DISTINCT lower(vql_e) FROM unnest({arr}) AS vql_u(vql_e))"  # noqa: S608


@compiles(distinct_lowered, "duckdb")
def _distinct_duckdb(element: distinct_lowered, compiler: SQLCompiler, **kw: Any) -> str:
    (arr,) = _args(compiler, element, **kw)
    return f"list_distinct(list_transform({arr}, lambda vql_e: lower(vql_e)))"


ELEMENT = "vql_element"


def element() -> ColumnElement[Any]:
    """The variable that stands for one element in the predicate of :class:`any_element`."""
    return sa.literal_column(ELEMENT, sa.String())


class any_element(FunctionElement[Any]):  # noqa: N801
    """any_element(array, predicate): the predicate, written over :func:`element`, holds for
    some element of the array. PostgreSQL: EXISTS over ``unnest``; DuckDB: ``list_filter``
    with a lambda, which DuckDB evaluates per row without a correlated subquery (~40x faster
    at 1M rows). DuckDB lambdas cannot hold subqueries, so such predicates keep EXISTS."""

    type = sa.Boolean()
    inherit_cache = True


@compiles(any_element)
def _any_pg(element: any_element, compiler: SQLCompiler, **kw: Any) -> str:
    arr, predicate = _args(compiler, element, **kw)
    # compiled SQL fragments of our own tree; values inside are bound parameters
    return f"(EXISTS (SELECT 1 FROM unnest({arr}) AS vql_unnest({ELEMENT}) WHERE {predicate}))"  # noqa: S608


@compiles(any_element, "duckdb")
def _any_duckdb(element: any_element, compiler: SQLCompiler, **kw: Any) -> str:
    arr, predicate = _args(compiler, element, **kw)
    return f"(len(list_filter({arr}, lambda {ELEMENT}: {predicate})) > 0)"

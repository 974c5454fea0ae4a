"""Golden tests of the SQL compiler: literal SQL for both dialects, values only as params."""

# ruff: noqa: S608 - the f-strings below are expected SQL text, not queries built from input

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

import vql
from vql.nodes import SubstringMatch
from vql.sql import TextFacts
from vql.sql_dialects import (
    DUCKDB_CONTEXT,
    DUCKDB_EMOJI_CHARS,
    DUCKDB_NOT_RUN,
    DUCKDB_WORD,
    DUCKDB_WORD_WITH_EMOJI,
    POSTGRES_WORD,
)
from vql.sql_dialects import words as sa_words


def flat(sql: str) -> str:
    return " ".join(sql.split())


def duck_words(value: str) -> str:
    """The words of a value by the word rule's patterns (vql.text.WORD and, for a value with
    an emoji, WORD_WITH_EMOJI; checked against the engine in
    tests/stores/test_differential.py), constant SQL literals."""
    return flat(
        f"CASE WHEN strlen({value}) <> length({value}) "
        f"AND regexp_matches({value}, {DUCKDB_EMOJI_CHARS}) "
        f"THEN regexp_extract_all(lower({value}), {DUCKDB_WORD_WITH_EMOJI}) "
        f"ELSE regexp_extract_all(lower({value}), {DUCKDB_WORD}) END")


DUCK_WORDS = duck_words("contacts_search.title")
PG_WORDS = flat(
    f"ARRAY(SELECT (regexp_matches(lower(contacts_search.title), {POSTGRES_WORD}, 'g'))[1])"
)


def spaced(value: str) -> str:
    """The value's words between spaces: a value with a match of vql.text.CONTEXT through the
    word pattern, any other by the quick split into runs of letters and digits."""
    low = f"lower({value})"
    return flat(
        f"(' ' || CASE WHEN regexp_replace({value}, {DUCKDB_CONTEXT}, '') <> {value} "
        f"THEN array_to_string({duck_words(value)}, ' ') "
        f"ELSE regexp_replace({low}, {DUCKDB_NOT_RUN}, ' ', 'g') END || ' ')"
    )


SPACED = spaced("contacts_search.title")
# A word of the value is a substring of it: tested first, so the pattern runs on fewer values.
HAS = "strpos(lower(contacts_search.title), ?) > ?"


def duck(body: dict[str, Any], source: sa.Table) -> tuple[str, list[Any]]:
    sql, params = vql.to_duckdb(vql.compile_sql(vql.parse_query("contacts", body), source))
    return flat(sql), params


def duck_where(where: dict[str, Any], source: sa.Table) -> tuple[str, list[Any]]:
    condition = vql.compile_sql_where(vql.parse_where("contacts", where), source)
    sql, params = vql.to_duckdb(sa.select(source.c.id).where(condition))
    prefix = "SELECT contacts_search.id FROM contacts_search WHERE "
    assert flat(sql).startswith(prefix)
    return flat(sql)[len(prefix):], params


def test_design_example(design_example: str, contacts_source: sa.Table) -> None:
    sql, params = duck(json.loads(design_example), contacts_source)
    fuzzy = (
        f"(EXISTS (SELECT 1 FROM unnest({DUCK_WORDS}) AS u(t) WHERE CASE WHEN "
        "(abs(length(u.t) - ?) <= ?) THEN (levenshtein(u.t, ?) <= ?) ELSE false END))"
    )
    assert sql == (
        "SELECT contacts_search.id AS id, epoch_ms(contacts_search.created_at) AS sort_0 "
        f"FROM contacts_search WHERE {fuzzy} AND {fuzzy} "
        "AND lower(contacts_search.seniority) IN (?, ?) "
        "AND lower(contacts_search.country) IN (?) "
        "AND contacts_search.company_employees_count >= ? "
        "AND contacts_search.company_employees_count <= ? "
        "ORDER BY epoch_ms(contacts_search.created_at) DESC NULLS LAST, contacts_search.id ASC "
        "LIMIT ?"
    )
    assert params == [8, 2, "software", 2, 8, 2, "engineer", 2, "senior", "lead",
                      "united states", 100, 1000, 25]


def test_keyword_scalar_list_and_must_not(contacts_source: sa.Table) -> None:
    sql, params = duck_where({"keyword_match": {
        "must": {"departments": ["Sales", "IT"]}, "must_not": {"company_id": "ABC"}}},
        contacts_source)
    assert sql == (
        "(len(list_filter(contacts_search.departments, "
        "lambda vql_element: lower(vql_element) IN (?, ?))) > 0) "
        "AND NOT coalesce(lower(contacts_search.company_id) IN (?), false)"
    )
    assert params == ["sales", "it", "abc"]


def test_should_and_ranges(contacts_source: sa.Table) -> None:
    sql, params = duck_where({"range_query": {"should": {
        "created_at": {"gte": "2024-01-01T10:00:00+02:00"},
        "company_founded_year": {"gt": 1990, "lte": 2000}}}}, contacts_source)
    assert sql == (
        "contacts_search.created_at >= ? OR contacts_search.company_founded_year > ? "
        "AND contacts_search.company_founded_year <= ?"
    )
    assert params == [datetime(2024, 1, 1, 8, 0), 1990, 2000]  # naive UTC for TIMESTAMP


def test_dates_are_aware_for_timezone_columns() -> None:
    source = sa.table("contacts_search", sa.column("id"),
                      sa.column("created_at", sa.DateTime(timezone=True)))
    where = vql.parse_where("contacts", {"range_query": {"must": {
        "created_at": {"lt": "2024-01-01"}}}})
    _, params = vql.to_duckdb(sa.select(source.c.id).where(vql.compile_sql_where(where, source)))
    assert params == [datetime(2024, 1, 1, tzinfo=UTC)]


def text_where(**condition: Any) -> dict[str, Any]:
    return {"text_matches": {"must": [{"filter_key": "title", **condition}]}}


def test_exact_phrase(contacts_source: sa.Table) -> None:
    sql, params = duck_where(text_where(text_value="Head of-Sales", search_type="exact"),
                             contacts_source)
    assert sql == f"{HAS} AND {HAS} AND {HAS} AND strpos({SPACED}, ?) > ?"
    assert params == ["head", 0, "of", 0, "sales", 0, " head of sales ", 0]


def test_sloppy_phrase(contacts_source: sa.Table) -> None:
    sql, params = duck_where(text_where(text_value="sales head", search_type="exact", slop=2),
                             contacts_source)
    window = f"list_contains(list_slice({DUCK_WORDS}, greatest(?, g.o + ?), g.o + ?), ?)"
    assert sql == (
        f"{HAS} AND {HAS} AND (EXISTS (SELECT 1 FROM generate_series(?, len({DUCK_WORDS})) "
        f"AS g(o) WHERE {window} AND {window}))"
    )
    assert params == ["sales", 0, "head", 0, -1, 1, 0, 2, "sales", 1, 1, 3, "head"]


def test_sloppy_phrase_with_a_repeated_word(contacts_source: sa.Table) -> None:
    """A word twice in the phrase needs two distinct words of the value (Lucene): its first
    place's window and one spanning both places that holds it twice."""
    sql, params = duck_where(text_where(text_value="a b a", search_type="exact", slop=1),
                             contacts_source)
    window = f"list_contains(list_slice({DUCK_WORDS}, greatest(?, g.o + ?), g.o + ?), ?)"
    twice = (f"len(list_filter(list_slice({DUCK_WORDS}, greatest(?, g.o + ?), g.o + ?), "
             "lambda vql_w: vql_w = ?)) >= ?")
    assert sql == (
        f"{HAS} AND {HAS} AND (EXISTS (SELECT 1 FROM generate_series(?, len({DUCK_WORDS})) "
        f"AS g(o) WHERE {window} AND {twice} AND {window} AND {window}))"
    )
    assert params == ["a", 0, "b", 0, 0, 1, 0, 1, "a", 1, 0, 3, "a", 2, 1, 2, 3, "a", 1, 1,
                      2, "b"]


def test_shuffle_and_substring(contacts_source: sa.Table) -> None:
    sql, params = duck_where(text_where(text_value="new York new", search_type="shuffle",
                                        operator="or"), contacts_source)
    assert sql == f"{HAS} AND strpos({SPACED}, ?) > ? OR {HAS} AND strpos({SPACED}, ?) > ?"
    assert params == ["new", 0, " new ", 0, "york", 0, " york ", 0]
    sql, params = duck_where(text_where(text_value="Eng ", search_type="substring"),
                             contacts_source)
    assert sql == "strpos(lower(contacts_search.title), ?) > ?"
    assert params == ["eng ", 0]


def test_a_plain_field_is_cut_by_the_quick_split(contacts_source: sa.Table) -> None:
    """A field the store knows holds no value with context (TextFacts.plain): its words are
    its runs of letters and digits, no pattern of context; the substring test still first."""
    quick = f"regexp_replace(lower(contacts_search.title), {DUCKDB_NOT_RUN}, ' ', 'g')"
    spaced_quick = f"(' ' || {quick} || ' ')"
    split = f"string_split(trim({quick}), ' ')"
    facts = TextFacts(plain=frozenset({"title"}),
                      expand=lambda field, word, k: {"enginer": ["engineer", "engineers"]}[word])

    def compiled(**condition: Any) -> tuple[str, list[Any]]:
        where = vql.parse_where("contacts", text_where(**condition))
        condition_sql = vql.compile_sql_where(where, contacts_source, facts=facts)
        sql, params = vql.to_duckdb(sa.select(contacts_source.c.id).where(condition_sql))
        return flat(sql).split(" WHERE ", 1)[1], params

    assert compiled(text_value="Head of-Sales", search_type="exact") == (
        f"{HAS} AND {HAS} AND {HAS} AND strpos({spaced_quick}, ?) > ?",
        ["head", 0, "of", 0, "sales", 0, " head of sales ", 0])
    sql, params = compiled(text_value="sales head", search_type="exact", slop=2)
    assert sql.startswith(f"{HAS} AND {HAS} AND (EXISTS (SELECT 1 FROM generate_series(?, "
                          f"len({split})) AS g(o) ")
    assert DUCKDB_WORD not in sql and DUCKDB_CONTEXT not in sql
    assert compiled(text_value="enginer", search_type="shuffle", fuzzy=True) == (
        f"{HAS} AND strpos({spaced_quick}, ?) > ? OR {HAS} AND strpos({spaced_quick}, ?) > ?",
        ["engineer", 0, " engineer ", 0, "engineers", 0, " engineers ", 0])


def test_a_lowercase_field_is_compared_without_lower(contacts_source: sa.Table) -> None:
    """A field whose stored values are all lowercase ASCII (TextFacts.lowercase)."""
    facts = TextFacts(lowercase=frozenset({"email", "seniority"}))
    where = vql.parse_where("contacts", {
        "text_matches": {"must": [{"filter_key": "email", "text_value": "ACME",
                                   "search_type": "substring"}]},
        "keyword_match": {"must": {"seniority": ["Senior"], "country": "United States"}}})
    condition = vql.compile_sql_where(where, contacts_source, facts=facts)
    sql, params = vql.to_duckdb(sa.select(contacts_source.c.id).where(condition))
    assert flat(sql).split(" WHERE ", 1)[1] == (
        "strpos(contacts_search.email, ?) > ? AND contacts_search.seniority IN (?) "
        "AND lower(contacts_search.country) IN (?)")
    assert params == ["acme", 0, "senior", "united states"]


def test_text_on_lists(contacts_source: sa.Table) -> None:
    companies = sa.table("companies", sa.column("id"), sa.column("industries",
                                                                 sa.ARRAY(sa.String())))
    where = vql.parse_where("companies", {"text_matches": {"must": [
        {"filter_key": "industries", "text_value": "it serv", "search_type": "shuffle"}]}})
    # No list takes substring today (the parser refuses it); the compiler's rule for lists
    # (any one element holds the needle) stays ready for one that will.
    where = dataclasses.replace(where, must=(*where.must, SubstringMatch("industries", "servi")))
    sql, params = vql.to_duckdb(sa.select(companies.c.id).where(
        vql.compile_sql_where(where, companies)))
    joined = spaced("array_to_string(companies.industries, ?)")
    has = "strpos(lower(array_to_string(companies.industries, ?)), ?) > ?"
    assert flat(sql) == (
        f"SELECT companies.id FROM companies WHERE {has} AND strpos({joined}, ?) > ? "
        f"AND {has} AND strpos({joined}, ?) > ? AND (len(list_filter(companies.industries, "
        "lambda vql_element: strpos(lower(vql_element), ?) > ?)) > 0)"
    )
    value = [" "] * 8  # the joined list's separator, once per use of the value in `joined`
    assert params == [" ", "it", 0, *value, " it ", 0, " ", "serv", 0, *value, " serv ", 0,
                      "servi", 0]


def test_postgres_rendering(contacts_source: sa.Table) -> None:
    query = vql.parse_query("contacts", {
        "where": {"text_matches": {"must": [
            {"filter_key": "title", "text_value": "cto", "search_type": "shuffle", "fuzzy": True},
            {"filter_key": "title", "text_value": "vp sales", "search_type": "exact", "slop": 1},
        ]}},
        "order_by": [{"order_by": "email", "order_direction": "desc"}], "page": 3, "limit": 10,
    })
    sql, params = vql.to_postgres(vql.compile_sql(query, contacts_source))
    sql = flat(sql)
    assert ("levenshtein_less_equal(u.t, %(param_1)s::VARCHAR, %(param_2)s::INTEGER) <= "
            "%(param_2)s::INTEGER") in sql
    assert (f"FROM generate_series(%(generate_series_1)s::INTEGER, cardinality({PG_WORDS})) "
            "AS g(o)") in sql
    assert (f"(%(param_3)s::VARCHAR = ANY(({PG_WORDS})[greatest(%(greatest_1)s::INTEGER, "
            "g.o + %(o_1)s::INTEGER):g.o + %(o_2)s::INTEGER]))") in sql
    assert sql.endswith(
        "ORDER BY (lower(contacts_search.email) COLLATE \"C\") DESC NULLS LAST, "
        "contacts_search.id ASC LIMIT %(param_5)s::INTEGER OFFSET %(param_6)s::INTEGER"
    )
    assert sql.startswith("SELECT contacts_search.id AS id, "
                          "(lower(contacts_search.email) COLLATE \"C\") AS sort_0 FROM")
    assert params["param_1"] == "cto" and params["param_2"] == 1
    assert (params["param_5"], params["param_6"]) == (10, 20)
    dated = vql.parse_query("contacts", {"order_by": [{"order_by": "updated_at"}]})
    assert "CAST(floor(EXTRACT(EPOCH FROM contacts_search.updated_at) * 1000) AS BIGINT)" in (
        vql.to_postgres(vql.compile_sql(dated, contacts_source))[0])


def test_keyset_cursor(contacts_source: sa.Table, codec: vql.CursorCodec) -> None:
    request = {"order_by": [{"order_by": "company_employees_count", "order_direction": "desc"},
                            {"order_by": "seniority"}], "limit": 5}
    first = vql.parse_query("contacts", request, codec)
    values = vql.sort_values_from_row(first, ("id-9", 120, None))
    assert values.values == (120, None, "id-9")
    nxt = vql.parse_query("contacts", {**request, "cursor": codec.encode(first, values)}, codec)
    sql, params = vql.to_duckdb(vql.compile_sql(nxt, contacts_source))
    count = "contacts_search.company_employees_count"
    assert flat(sql).split(" WHERE ")[1].split(" ORDER BY ")[0] == (
        f"{count} < ? OR {count} IS NULL OR {count} = ? AND lower(contacts_search.seniority) "
        "IS NULL AND contacts_search.id > ?"
    )
    assert params[:3] == [120, 120, "id-9"]
    assert "OFFSET" not in sql


def test_missing_source_column_is_a_programming_error() -> None:
    source = sa.table("contacts_search", sa.column("id"))
    where = vql.parse_where("contacts", {"keyword_match": {"must": {"country": "x"}}})
    with pytest.raises(ValueError, match="no column 'country'"):
        vql.compile_sql_where(where, source)


# Values and the words OpenSearch's standard analyzer gives them (its _analyze, 2.19).
ENGINE_WORDS = {
    "O'Neil": ["o'neil"],
    "john.doe@example.com": ["john.doe", "example.com"],
    "3.14 and 1,000 units": ["3.14", "and", "1,000", "units"],
    "foo_bar v2.0.1": ["foo_bar", "v2.0.1"],
    "Zoë Müller-Lüdenscheidt": ["zoë", "müller", "lüdenscheidt"],
    "Jose\u0301 e.g. a.1": ["jose\u0301", "e.g", "a", "1"],
    "東京タワー カタカナabc ひらがな": ["東", "京", "タワー", "カタカナ", "abc",
                                         "ひ", "ら", "が", "な"],
    "ภาษาไทย 한국어abc": ["ภาษาไทย", "한국어abc"],
    "İSTANBUL ΟΔΟΣ": ["istanbul", "οδοσ"],
    "_ __ a_ x—y": ["a_", "x", "y"],
}


@pytest.mark.parametrize("value", sorted(ENGINE_WORDS))
def test_sql_and_query_words_are_the_engines(value: str) -> None:
    """Both sides of a SQL word match, the value in DuckDB and the query text in Python,
    are cut into the engine's words."""
    import duckdb

    from vql.text import words

    with duckdb.connect() as con:
        sql, params = vql.to_duckdb(sa.select(sa_words(sa.literal(value))))
        assert con.execute(sql, params).fetchone()[0] == ENGINE_WORDS[value]
    assert words(value) == ENGINE_WORDS[value]


def test_spaced_words_are_the_words_whichever_way_they_are_cut() -> None:
    """DuckDB cuts most values by a quick split (no character of context in them), the others
    by the word pattern: either way, the spaced words are vql.text.words."""
    import random

    import duckdb

    from vql.sql_dialects import spaced_words
    from vql.text import words

    rng = random.Random(18)
    alphabet = list("ab Zé.'_,1-@ ") + ["\u0301", "東", "カ", "Ⅻ", "ש", "\u00ad", "·"]
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
              for _ in range(3000)]
    rows = sa.table("vals", sa.column("i"), sa.column("v", sa.String()))
    sql, params = vql.to_duckdb(sa.select(spaced_words(rows.c.v)).order_by(rows.c.i))
    with duckdb.connect() as con:
        con.execute("CREATE TABLE vals AS SELECT * FROM unnest(?) WITH ORDINALITY AS t(v, i)",
                    [values])
        got = [r[0] for r in con.execute(sql, params).fetchall()]
    assert [g.split() for g in got] == [words(v) for v in values]
    assert sum(1 for v in values if words(v) != v.lower().split()) > 100  # not only spaces

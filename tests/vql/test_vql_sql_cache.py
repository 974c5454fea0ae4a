"""to_duckdb compiles a statement once per shape (SQLAlchemy's cache key) and binds each
statement's own values: the same SQL and parameters as compiling it anew every time."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bench.queries import QUERIES
from stores.duckdb import queries
from vql import parse_query, parse_where
from vql.sql_dialects import _DUCKDB, to_duckdb


def compiled_anew(statement: Any) -> tuple[str, list[Any]]:
    compiled = statement.compile(dialect=_DUCKDB, compile_kwargs={"render_postcompile": True})
    names = getattr(compiled, "positiontup", None) or []
    return str(compiled), [compiled.params[name] for name in names]


def _with_values(body: dict[str, Any], country: str, low: int) -> dict[str, Any]:
    """The body with other values in the same places (the same shape)."""
    body = copy.deepcopy(body)
    where = body.get("where") or {}
    must = where.get("keyword_match", {}).get("must", {})
    if "country" in must:
        must["country"] = country
    for bounds in where.get("range_query", {}).get("must", {}).values():
        bounds["gte"] = low
    for condition in where.get("text_matches", {}).get("must", []):
        condition["text_value"] = f"{condition['text_value']} {country}"[: 40]
    return body


@pytest.mark.parametrize("query", [q for q in QUERIES if q.endpoint == "filter"],
                         ids=lambda q: q.name)
def test_each_statement_gets_its_own_values_from_a_cached_shape(query: Any) -> None:
    seen = set()
    for country, low in (("united states", 100), ("germany", 7), ("united states", 100)):
        parsed = parse_query("contacts", _with_values(query.body, country, low))
        for statement in (queries.page_statement(parsed),
                          queries.count_statement("contacts", parsed.where)):
            got = to_duckdb(statement)
            assert got == compiled_anew(statement)
            seen.add(got[0])
    assert len(seen) <= 4  # one SQL text per statement shape (and word count), not per value


def test_in_lists_of_any_length_share_one_shape() -> None:
    target = queries.table("contacts")
    columns = queries.selected_columns(target, ["email"])
    for ids in (["a"], ["b", "c", "d"], ["e", "f"]):
        sql, params = to_duckdb(queries.fetch_statement(target, ids, columns))
        assert params == ids
        assert sql.count("?") == len(ids)


def test_a_where_of_another_shape_is_not_served_a_cached_one() -> None:
    one = queries.count_statement("contacts", parse_where(
        "contacts", {"keyword_match": {"must": {"country": "germany"}}}))
    other = queries.count_statement("contacts", parse_where(
        "contacts", {"keyword_match": {"must_not": {"country": "germany"}}}))
    assert to_duckdb(one) == compiled_anew(one)
    assert to_duckdb(other) == compiled_anew(other)
    assert to_duckdb(one)[0] != to_duckdb(other)[0]

"""Facets in SQL (DuckDB, PostgreSQL): one statement for the total, the missing counts and the
range counts (``count(*) FILTER (WHERE ...)`` over the rows the shared where keeps), then one
per keyword facet (the filter-values select, plus ``sum(count) OVER ()`` for ``other``) and
one per interval facet (``date_trunc`` of the UTC time). A store runs them on one snapshot.

The per-facet where is the same as on the search engine (:meth:`FacetsRequest.facet_where`),
so both answer alike; values are lowercased as the index's normalizer keeps them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, FromClause, Select

from vql.facets import (
    BucketCounts,
    FacetCounts,
    FacetsRequest,
    IntervalFacet,
    KeywordCounts,
    KeywordFacet,
    RangeCounts,
    RangeFacet,
)
from vql.nodes import Condition, Where
from vql.sql import NO_FACTS, SqlCompiler, TextFacts
from vql.sql_dialects import word_count
from vql.values import ValuesRequest, compile_sql_values

Predicate = ColumnElement[bool]


def compile_sql_facets(
    request: FacetsRequest, source: FromClause, facts: TextFacts = NO_FACTS
) -> list[Select[Any]]:
    """The statements: [counts, then one per keyword or interval facet in request order]."""
    compiler = SqlCompiler(request.service, source, facts=facts)
    faceted = request.faceted_musts()

    def musts(conditions: tuple[Condition, ...]) -> Predicate:
        return compiler.where(Where(request.service, must=conditions))

    counts: list[Any] = [sa.func.count().filter(musts(faceted)).label("total")]
    statements: list[Select[Any]] = []
    for i, facet in enumerate(request.facets):
        others = musts(tuple(c for c in faceted if c.field != facet.field))
        field = compiler.field(facet.field)
        col = compiler.column(facet.field)
        if isinstance(facet, KeywordFacet):
            empty = sa.or_(col.is_(None), word_count(col) == 0) if field.is_list else col.is_(None)
            counts.append(sa.func.count().filter(sa.and_(others, empty)).label(f"missing_{i}"))
            values = ValuesRequest(request.service, facet.field, facet.search_text, facet.size,
                                   request.facet_where(facet.field))
            select = compile_sql_values(values, source, facts=facts)
            n = select.selected_columns[1]
            statements.append(select.add_columns(sa.func.sum(n).over().label("all_pairs")))
        elif isinstance(facet, RangeFacet):
            for j, node in enumerate(facet.ranges):
                inside = sa.and_(others, compiler.range(node))
                counts.append(sa.func.count().filter(inside).label(f"range_{i}_{j}"))
        else:
            assert isinstance(facet, IntervalFacet)
            utc = col
            if isinstance(col.type, sa.DateTime) and col.type.timezone:
                utc = sa.func.timezone(sa.literal_column("'UTC'"), col)
            # the unit is one of four constants of ours, written as SQL (a bound parameter
            # would make the GROUP BY expression differ from the selected one on PostgreSQL)
            unit: ColumnElement[Any] = sa.literal_column(f"'{facet.interval}'")
            key = sa.func.date_trunc(unit, utc).label("bucket")
            where = compiler.where(request.facet_where(facet.field))
            statements.append(
                sa.select(key, sa.func.count().label("count"))
                .select_from(source)
                .where(where, col.is_not(None))
                .group_by(key)
                .order_by(key)
            )
    shared = request.shared_where()
    first = sa.select(*counts).select_from(source)
    if not shared.is_empty:
        first = first.where(compiler.where(shared))
    return [first, *statements]


def read_sql_facets(
    request: FacetsRequest, results: list[list[tuple[Any, ...]]]
) -> tuple[int, list[FacetCounts]]:
    """(total, counts per facet) from the rows of each statement, in order."""
    [first], rest = results[0], iter(results[1:])
    stats = iter(first)
    total = int(next(stats) or 0)
    out: list[FacetCounts] = []
    for facet in request.facets:
        if isinstance(facet, KeywordFacet):
            missing = int(next(stats) or 0)
            rows = next(rest)
            values = [(str(v), int(n)) for v, n, _ in rows]
            all_pairs = int(rows[0][2]) if rows else 0
            out.append(KeywordCounts(values, all_pairs, missing))
        elif isinstance(facet, RangeFacet):
            out.append(RangeCounts([int(next(stats) or 0) for _ in facet.ranges]))
        else:
            out.append(BucketCounts([(k, int(n)) for k, n in next(rest)]))
    return total, out

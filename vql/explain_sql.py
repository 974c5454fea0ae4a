"""Explain in SQL: every count of the plan in one select of ``count(*) FILTER (WHERE ...)``
(one scan, each condition evaluated once per row), and a small select per suggestion probe
(only when the total is 0)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnElement, FromClause, Select

from vql.explain import (
    CANDIDATES,
    CountProbe,
    ExplainRequest,
    NearestProbe,
    ProbeResult,
    Probing,
    ValuesProbe,
    nearest_value,
)
from vql.nodes import Where
from vql.sql import NO_FACTS, SqlCompiler, TextFacts
from vql.sql_dialects import within_edits
from vql.values import ValuesRequest, compile_sql_values


def compile_sql_counts(
    request: ExplainRequest, source: FromClause, facts: TextFacts = NO_FACTS
) -> Select[Any]:
    """One row: a column per name of :func:`count_plan`, labelled with it.

    Each condition is evaluated once per row (a column ``c{i}`` of a subquery) and every
    count combines those booleans, so a costly condition (a fuzzy text match) is not
    evaluated again for each of the counts it takes part in.
    """
    compiler = SqlCompiler(request.service, source, facts=facts)
    flags = sa.select(*(
        sa.func.coalesce(compiler.condition(c.node), sa.false()).label(f"c{i}")
        for i, c in enumerate(request.conditions)
    ), sa.literal_column("1").label("one")).select_from(source).subquery("conditions")

    def holds(indices: list[int]) -> ColumnElement[bool]:
        """Where logic over the flags of the conditions ``indices``."""
        parts: list[ColumnElement[bool]] = []
        should: list[ColumnElement[bool]] = []
        for i in indices:
            flag, clause = flags.c[f"c{i}"], request.conditions[i].clause
            if clause == "must":
                parts.append(flag)
            elif clause == "must_not":
                parts.append(sa.not_(flag))
            else:
                should.append(flag)
        if should:
            parts.append(sa.or_(*should))
        return sa.and_(sa.true(), *parts)

    every = list(range(len(request.conditions)))
    columns: list[Any] = [sa.func.count().filter(holds(every)).label("total")]
    for i in every:
        columns.append(sa.func.count().filter(holds([i])).label(f"m{i}"))
        columns.append(sa.func.count().filter(holds([j for j in every if j != i]))
                       .label(f"w{i}"))
    statement: Select[Any] = sa.select(*columns).select_from(flags)
    return statement


def read_sql_counts(plan: dict[str, Where], row: tuple[Any, ...]) -> dict[str, int]:
    return {name: int(n or 0) for name, n in zip(plan, row, strict=True)}


def _near(probe: ValuesProbe) -> Any:
    def test(value: ColumnElement[Any]) -> ColumnElement[bool]:
        tests: list[ColumnElement[bool]] = []
        for q in probe.values:
            tests.append(sa.func.starts_with(value, q))
            k = probe.fuzziness(q)
            if k:
                # the length guard keeps levenshtein off hopeless (and over-long) values
                tests.append(sa.case((sa.func.abs(sa.func.length(value) - len(q)) <= k,
                                      within_edits(value, q, k)), else_=sa.false()))
        return sa.or_(*tests)

    return test


def compile_sql_probes(
    service: str, asked: dict[str, Probing], source: FromClause, facts: TextFacts = NO_FACTS
) -> dict[str, Select[Any]]:
    compiler = SqlCompiler(service, source, facts=facts)
    out: dict[str, Select[Any]] = {}
    for name, probing in asked.items():
        probe = probing.probe
        where = compiler.where(probe.where)
        if isinstance(probe, CountProbe):
            out[name] = sa.select(sa.func.count()).select_from(source).where(where)
        elif isinstance(probe, ValuesProbe):
            request = ValuesRequest(service, probe.field, None, CANDIDATES, probe.where)
            out[name] = compile_sql_values(request, source, also=_near(probe), facts=facts)
        else:
            col = compiler.column(probe.field)
            order = col.desc() if probe.side == "below" else col.asc()
            out[name] = (
                sa.select(col, sa.func.count())
                .select_from(source)
                .where(where, compiler.range(probe.beyond))
                .group_by(col)
                .order_by(order)
                .limit(1)
            )
    return out


def read_sql_probes(
    asked: dict[str, Probing], rows: dict[str, list[tuple[Any, ...]]]
) -> dict[str, ProbeResult]:
    out: dict[str, ProbeResult] = {}
    for name, probing in asked.items():
        probe, got = probing.probe, rows[name]
        if isinstance(probe, CountProbe):
            out[name] = int(got[0][0])
        elif isinstance(probe, ValuesProbe):
            out[name] = [(str(v), int(n)) for v, n in got]
        else:
            assert isinstance(probe, NearestProbe)
            out[name] = (nearest_value(got[0][0]), int(got[0][1])) if got else None
    return out

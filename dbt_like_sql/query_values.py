"""The loader's rules applied to single query values (vql.normalizing.ValueRules).

A query value goes through the same SQL macros and seed tables that normalize a loaded cell
of the same column, evaluated on a small in-memory DuckDB of this package's project: no rule
and no alias table exists twice. Each rule below is the macro chain the models apply to
that column (squish, then blank_to_null, then the field's rule); a test loads the same
values through FileNormalizer and checks both agree.

One difference by design: a seniority value is read through the seed's spellings
(``seniority_alias``) but not through the words of a title (a title's words are how the
loader guesses a level when the seniority column is empty, not how a level is spelled), so a
query for "Senior Manager, HR" is refused rather than guessed.

Rules are evaluated once per distinct (rule, value) and kept (a bounded cache), so repeated
queries cost a dictionary lookup. The connection is used under a lock: DuckDB connections
are not to be shared between threads, and each evaluation takes well under a millisecond.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import duckdb

from dbt_like_sql.runner import SqlProject, SqlSession

__all__ = ["KEYWORD_RULES", "NUMBER_RULES", "LoadRules", "load_rules"]

# Each rule over the cell as the models see it: s = squish(value), t = blank_to_null(s).
KEYWORD_RULES: dict[str, str] = {
    "text": "t",  # stg_rows / company_values: names, cities, states
    "email": "email_text(t)",  # parsed_rows
    "country": "country_name(t)",  # country_values
    # seniority_values: a seed spelling, else as written (lowercased)
    "seniority": "coalesce(seniority_alias(t), lower(t))",
    "departments": "department_items(t)",  # department_values
    "list": "distinct_items(split_list(s))",  # company_values: industries, keywords, ...
    # company_values: the host of a website or domain cell, when it is a domain
    "domain": "coalesce(domain_of(url_host(lower(t))), lower(t))",
}
NUMBER_RULES: dict[str, str] = {
    # company_values: one amount ("1.2k", "$3.5M"); a range or "10,001+" is not one number
    "amount": "CASE WHEN p.hi = '' AND p.plus = '' THEN amount_value(p.lo, p.lo_unit) END",
    "year": "year_value(t)",  # company_values: founded_year
}
VOCABULARIES: dict[str, str] = {
    "country": "SELECT country FROM countries GROUP BY 1 ORDER BY 1",
    "seniority": "SELECT seniority FROM seniorities GROUP BY 1 ORDER BY min(rowid)",
}
CELL = "(SELECT s, blank_to_null(s) AS t FROM (SELECT squish(CAST(? AS VARCHAR)) AS s))"
CACHE_SIZE = 20_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

T = TypeVar("T")


class LoadRules:
    """ValueRules backed by the loader's macros and seeds (one DuckDB connection)."""

    def __init__(self, project: SqlProject | None = None) -> None:
        self._con = duckdb.connect(":memory:")
        try:
            self._con.execute("SET TimeZone = 'UTC'").fetchall()
            # Only the seed lookups are needed; the per-file models never run here.
            SqlSession((project or SqlProject.load()).subset([]), self._con)
        except BaseException:
            self._con.close()
            raise
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], Any] = {}

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def keyword(self, rule: str, value: str) -> tuple[str, ...]:
        expression = KEYWORD_RULES[rule]

        def compute() -> tuple[str, ...]:
            got = self._one(f"SELECT {expression} FROM {CELL}", value)  # noqa: S608 - our rule
            if got is None:
                return ()
            return tuple(got) if isinstance(got, list) else (str(got),)

        return self._cached("keyword", rule, value, compute)

    def number(self, rule: str, value: str) -> int | None:
        expression = NUMBER_RULES[rule]
        sql = f"SELECT {expression} FROM (SELECT t, amount_parts(t) AS p FROM {CELL})"  # noqa: S608

        def compute() -> int | None:
            got = self._one(sql, value)
            return None if got is None else int(got)

        return self._cached("number", rule, value, compute)

    def time(self, value: str) -> datetime | None:
        sql = f"SELECT epoch_us(parse_time(t)) FROM {CELL}"  # noqa: S608 - a constant

        def compute() -> datetime | None:
            micros = self._one(sql, value)
            try:
                return None if micros is None else EPOCH + timedelta(microseconds=int(micros))
            except OverflowError:  # DuckDB reads years 0 and 10000; Python has 1-9999
                return None

        return self._cached("time", "time", value, compute)

    def vocabulary(self, rule: str) -> tuple[str, ...]:
        sql = VOCABULARIES[rule]

        def compute() -> tuple[str, ...]:
            with self._lock:
                return tuple(str(row[0]) for row in self._con.execute(sql).fetchall())

        return self._cached("vocabulary", rule, "", compute)

    def _one(self, sql: str, value: str) -> Any:
        with self._lock:
            rows = self._con.execute(sql, [value]).fetchall()
        return rows[0][0] if rows else None

    def _cached(self, kind: str, rule: str, value: str, compute: Callable[[], T]) -> T:
        key = (kind, rule, value)
        try:
            return self._cache[key]  # type: ignore[no-any-return]
        except KeyError:
            pass
        result = compute()
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()  # simple bound; hot values come back at once
        self._cache[key] = result
        return result


_SHARED: LoadRules | None = None
_SHARED_LOCK = threading.Lock()


def load_rules() -> LoadRules:
    """The process's LoadRules, built on first use (never at import)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = LoadRules()
        return _SHARED

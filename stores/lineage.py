"""How a record's lineage merges when a load writes it again, for both SQL record stores.

`source_file` is every file that contributed to a record, in the order they first did: a
write adds the files it names that the record lacks, and never removes one. `last_seen` is
the latest load that contained the record, kept with greatest() so that a slower, older
load finishing last cannot move it back; `first_seen` the earliest, with least(). (The
search index applies the same rules in its update script, stores/search/lineage.py.)

`files_union` is one small construct rendered per engine, because neither engine has an
order-keeping union of two arrays and SQLAlchemy cannot correlate a subquery inside
ON CONFLICT DO UPDATE to the target table.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement


class files_union(FunctionElement[Any]):  # noqa: N801 - SQL function style, like sa.func
    """`old` followed by the elements of `new` that `old` lacks (first occurrence order);
    `old` itself when it already holds them all, so an unchanged list is not rewritten."""

    type = sa.ARRAY(sa.Text())
    inherit_cache = True


def _operands(element: files_union, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    old, new = (compiler.process(arg, **kw) for arg in element.clauses)
    return old, new


@compiles(files_union)
def _files_union_postgres(element: files_union, compiler: SQLCompiler, **kw: Any) -> str:
    old, new = _operands(element, compiler, **kw)
    # array_cat(NULL, a) is a; `<> ALL` of an empty array holds. Only compiled column
    # expressions are pasted in here, never values.
    added = (
        f"array((SELECT u.f FROM unnest({new}) WITH ORDINALITY AS u(f, n) "  # noqa: S608
        f"WHERE u.f IS NOT NULL AND u.f <> ALL (coalesce({old}, '{{}}')) "
        "GROUP BY u.f ORDER BY min(u.n)))"
    )
    return (
        f"CASE WHEN {new} IS NULL OR {old} @> {new} THEN {old} "
        f"ELSE array_cat({old}, {added}) END"
    )


@compiles(files_union, "duckdb")
def _files_union_duckdb(element: files_union, compiler: SQLCompiler, **kw: Any) -> str:
    old, new = _operands(element, compiler, **kw)
    added = (  # list_concat(NULL, l) is l
        f"list_filter({new}, lambda f, i: f IS NOT NULL "
        f"AND NOT list_contains(coalesce({old}, []), f) AND list_position({new}, f) = i)"
    )
    return (
        f"CASE WHEN {new} IS NULL OR list_has_all({old}, {new}) THEN {old} "
        f"ELSE list_concat({old}, {added}) END"
    )


def merged_provenance(
    name: str, old: sa.ColumnElement[Any], new: sa.ColumnElement[Any]
) -> sa.ColumnElement[Any]:
    """The stored value of a provenance column after a write: every file so far, the
    earliest and the latest load time, else (load_run) the newest write's value when it
    gives one."""
    if name == "source_file":
        return files_union(old, new)
    if name == "last_seen":
        return sa.func.greatest(old, new, type_=old.type)  # NULLs ignored by both engines
    if name == "first_seen":
        return sa.func.least(old, new, type_=old.type)
    return sa.func.coalesce(new, old)

"""The SQL of a batch upsert: INSERT ... SELECT FROM the registered Arrow batch ... ON CONFLICT.

Merge rule (notes/contracts.md), the same as PostgreSQL's: per column the new non-empty value
wins, else the stored one stays (COALESCE(new, old)); empty strings and empty lists count as
absent. created_at is never overwritten. updated_at moves only when a data column really
changed; lineage moves without counting as a change: source_file gathers every file that
contributed, first_seen and last_seen keep the earliest and the latest load, load_run
follows the newest (stores/lineage.py). A row that would not change at all is not written.

DuckDB's ON CONFLICT cannot apply two rows of one statement to the same id, so rows sharing
an id inside a batch are first merged with the same rule, last row wins per non-empty field
(``arg_max(value, ordinal)``, which skips NULLs); created_at is the first given, first_seen
the earliest, last_seen the latest, source_file every row's files once. That is what the
rows sent one by one would give, up to updated_at, which is the last one given.

List columns (source_file among them) are merged by a second statement, UPDATE ... FROM the
batch, and only where a list really changes (a reload of the same file changes none): on a
table with an index (the primary key), DuckDB turns an update of a list column into a
delete and an insert. Measured on a million contacts, re-upserting 50k
rows through ON CONFLICT with the list columns in its SET took ~6 s, without them ~0.5 s
(rows whose lists do change still cost ~3.5 s per 50k).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.dialects.postgresql.dml import Insert

from stores.duckdb.batches import ORDINAL
from stores.duckdb.schema import (
    PROVENANCE_COLUMNS,
    TIMESTAMP_COLUMNS,
    ColumnSpec,
    column_facts,
    data_columns,
)
from stores.lineage import files_union, merged_provenance

BATCH = "connectra_batch"  # the name the Arrow batch is registered under, per cursor


def batch_relation(table: sa.Table, columns: Sequence[str]) -> sa.TableClause:
    return sa.table(BATCH, *(sa.column(n, table.c[n].type) for n in columns),
                    sa.column(ORDINAL, sa.BigInteger()))


def merge_statements(
    table: sa.Table, spec: ColumnSpec, columns: Sequence[str], repeated_ids: bool
) -> list[sa.Executable]:
    """The statements of one batch holding `columns` (id among them), in order."""
    batch = batch_relation(table, columns)
    cleaned = {name: _absent_as_null(batch.c[name]) for name in columns}
    source: sa.FromClause = batch
    values: dict[str, sa.ColumnElement[Any]] = dict(cleaned)
    if repeated_ids:
        source = sa.select(
            *(_merge_repeats(name, expr, batch.c[ORDINAL]).label(name)
              for name, expr in cleaned.items())
        ).group_by(batch.c.id).subquery("merged")
        values = {name: source.c[name] for name in columns}
    lists = [n for n in columns if n != "id" and isinstance(table.c[n].type, sa.ARRAY)]
    statements: list[sa.Executable] = [_upsert(table, spec, source, dict(values), lists)]
    if lists:
        statements.append(_update_lists(table, source, values, lists))
    return statements


def _upsert(
    table: sa.Table,
    spec: ColumnSpec,
    source: sa.FromClause,
    values: dict[str, sa.ColumnElement[Any]],
    lists: list[str],
) -> Insert:
    """New ids inserted whole; known ids get their scalar columns merged, updated_at moved
    when any data column (lists included) changes, provenance refreshed."""
    for name in TIMESTAMP_COLUMNS:  # a batch without them is stamped with the load time
        given = values.get(name)
        values[name] = sa.func.now() if given is None else sa.func.coalesce(given, sa.func.now())
    query = sa.select(*(expr.label(name) for name, expr in values.items())).select_from(source)
    statement = insert(table).from_select(list(values), query)
    new = statement.excluded
    data = [name for name in data_columns(spec) if name in values]
    provenance = [name for name in PROVENANCE_COLUMNS if name in values]
    kept: dict[str, sa.ColumnElement[Any]] = {
        name: sa.func.coalesce(new[name], table.c[name]) for name in data
    }
    kept.update({n: merged_provenance(n, table.c[n], new[n]) for n in provenance})
    changed = _distinct([table.c[n] for n in data], [kept[n] for n in data])
    moved = _distinct([table.c[n] for n in provenance], [kept[n] for n in provenance])
    scalars = {name: expr for name, expr in kept.items() if name not in lists}
    return statement.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={**scalars, "updated_at": sa.case((changed, new.updated_at),
                                               else_=table.c.updated_at)},
        where=sa.or_(changed, moved),
    )


def _update_lists(
    table: sa.Table,
    source: sa.FromClause,
    values: dict[str, sa.ColumnElement[Any]],
    lists: list[str],
) -> sa.Update:
    """List columns of known ids, only where one really changes: DuckDB rewrites a row
    whose list column is updated as a delete and an insert, about a hundred times the cost
    of an in-place update of a scalar, so the upsert above leaves lists out."""
    kept = {
        name: merged_provenance(name, table.c[name], values[name])
        if name in PROVENANCE_COLUMNS
        else sa.func.coalesce(values[name], table.c[name])
        for name in lists
    }
    changed = _distinct([table.c[n] for n in lists], list(kept.values()))
    return (
        sa.update(table)
        .values(kept)
        .where(table.c.id == source.c.id, changed)
    )


def facts_statement(table: sa.Table, columns: Sequence[str]) -> sa.Select[Any]:
    """(column, fact) of the table's column_facts that still hold for `columns`."""
    listed = column_facts.c
    return sa.select(listed.column_name, listed.fact).where(
        listed.table_name == table.name, listed.column_name.in_(list(columns))
    )


def broken_facts_statement(table: sa.Table, broken: Sequence[tuple[str, str]]) -> sa.Delete:
    """The (column, fact) pairs of the table no longer hold."""
    listed = column_facts.c
    return sa.delete(column_facts).where(
        listed.table_name == table.name,
        sa.tuple_(listed.column_name, listed.fact).in_(list(broken)),
    )


def rejects_statement(table: sa.Table, columns: Sequence[str]) -> Insert:
    """Appends rejects in batch order; one already stored (a retried run) is skipped."""
    batch = batch_relation(table, columns)
    query = sa.select(*(batch.c[n] for n in columns)).order_by(batch.c[ORDINAL])
    return insert(table).from_select(list(columns), query).on_conflict_do_nothing()


def _absent_as_null(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    if isinstance(column.type, sa.ARRAY):
        return sa.case((sa.func.len(column) == 0, sa.null()), else_=column)
    if isinstance(column.type, sa.String) and column.name != "id":
        return sa.func.nullif(column, "")
    return column


def _merge_repeats(
    name: str, value: sa.ColumnElement[Any], ordinal: sa.ColumnElement[Any]
) -> sa.ColumnElement[Any]:
    if name == "id":
        return value
    if name == "source_file":  # every row's files, each once, in the order they came
        listed = sa.func.list(aggregate_order_by(value, ordinal)).filter(value.is_not(None))
        return files_union(sa.null(), sa.func.flatten(listed, type_=value.type))
    if name in ("first_seen", "last_seen"):  # the earliest / the latest load given
        return (sa.func.min if name == "first_seen" else sa.func.max)(value, type_=value.type)
    pick = sa.func.arg_min if name == "created_at" else sa.func.arg_max
    return pick(value, ordinal, type_=value.type)


def _distinct(
    old: list[sa.ColumnElement[Any]], new: list[sa.ColumnElement[Any]]
) -> sa.ColumnElement[bool]:
    if not old:
        return sa.false()
    return sa.tuple_(*old).is_distinct_from(sa.tuple_(*new))

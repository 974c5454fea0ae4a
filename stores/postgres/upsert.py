"""The SQL of a batch upsert: a temp staging table and one INSERT ... ON CONFLICT per round.

Merge rule (notes/contracts.md): per column the new non-empty value wins, else the stored one
stays (COALESCE(new, old)); empty strings and empty lists count as absent. created_at is never
overwritten. updated_at moves only when a data column really changed; lineage moves without
counting as a change: source_file gathers every file that contributed, first_seen and
last_seen keep the earliest and the latest load, load_run follows the newest
(stores/lineage.py). A row that
would not change at all is not rewritten (no new row version, no dead tuple); a reload always
moves last_seen and load_run, so it rewrites the rows it contains.

Rows sharing an id inside one batch are applied in rounds (first occurrences, then second
ones, ...), each round an ordinary upsert, so a batch means exactly what the same rows sent
one by one would mean, and ON CONFLICT never meets the same id twice in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.dialects.postgresql.dml import Insert
from sqlalchemy.schema import CreateTable

from stores.lineage import merged_provenance
from stores.postgres.schema import (
    PROVENANCE_COLUMNS,
    TABLES,
    TIMESTAMP_COLUMNS,
    data_columns,
    ingest_rejects,
)
from stores.postgres.staging import ORDINAL

ROUND = "_round"


@dataclass(frozen=True)
class WritePlan:
    """What one batch of a given column set runs: built once per column set, so SQLAlchemy
    finds the same statement objects each batch and reuses its compiled SQL."""

    stage: sa.Table
    create_stage: str
    copy: str
    write: Insert  # rows without repeated ids; rounds are built on demand


@lru_cache(maxsize=64)
def write_plan(table_name: str, columns: tuple[str, ...]) -> WritePlan:
    table = ingest_rejects if table_name == ingest_rejects.name else TABLES[table_name]
    stage = staging_table(table, columns)
    create = CreateTable(stage).compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    write = (
        rejects_statement(stage) if table is ingest_rejects else merge_statement(table, stage, None)
    )
    return WritePlan(stage, str(create), copy_sql(stage), write)


def staging_table(table: sa.Table, columns: Sequence[str]) -> sa.Table:
    """A nullable TEMP copy of `columns` of `table` plus the row ordinal, dropped at commit."""
    return sa.Table(
        f"staging_{table.name}",
        sa.MetaData(),
        *(sa.Column(name, table.c[name].type) for name in columns),
        sa.Column(ORDINAL, sa.BigInteger),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


def copy_sql(stage: sa.Table) -> str:
    names = ", ".join(f'"{c.name}"' for c in stage.c)
    return f'COPY "{stage.name}" ({names}) FROM STDIN (FORMAT csv)'


def merge_statement(table: sa.Table, stage: sa.Table, round_no: int | None) -> Insert:
    """The upsert of one round (round_no None: the batch has no repeated id)."""
    source: sa.FromClause = stage
    if round_no is not None:
        numbered = sa.select(
            *stage.c,
            sa.func.row_number()
            .over(partition_by=stage.c.id, order_by=stage.c[ORDINAL])
            .label(ROUND),
        ).subquery("numbered")
        source = numbered
    present = [c.name for c in stage.c if c.name != ORDINAL]
    values: dict[str, sa.ColumnElement[Any]] = {
        name: _absent_as_null(source.c[name], table.c[name].type) for name in present
    }
    for name in TIMESTAMP_COLUMNS:  # a batch without them is stamped with the load time
        given = values.get(name)
        values[name] = sa.func.now() if given is None else sa.func.coalesce(given, sa.func.now())
    query = sa.select(*(expr.label(name) for name, expr in values.items())).select_from(source)
    if round_no is not None:
        query = query.where(source.c[ROUND] == round_no)
    query = query.order_by(source.c.id)  # same lock order in every concurrent batch

    statement = insert(table).from_select(list(values), query)
    new = statement.excluded
    data = [name for name in data_columns(table) if name in values]
    provenance = [name for name in PROVENANCE_COLUMNS if name in values]
    merged: dict[str, sa.ColumnElement[Any]] = {
        name: sa.func.coalesce(new[name], table.c[name]) for name in data
    }
    merged.update({n: merged_provenance(n, table.c[n], new[n]) for n in provenance})
    changed = _distinct([table.c[n] for n in data], [merged[n] for n in data])
    moved = _distinct([table.c[n] for n in provenance], [merged[n] for n in provenance])
    return statement.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={
            **merged,
            "updated_at": sa.case((changed, new.updated_at), else_=table.c.updated_at),
        },
        where=sa.or_(changed, moved),
    )


def _absent_as_null(
    column: sa.ColumnElement[object], sql_type: sa.types.TypeEngine[object]
) -> sa.ColumnElement[object]:
    if isinstance(sql_type, ARRAY):
        return sa.func.nullif(column, sa.cast(sa.literal_column("'{}'"), sql_type))
    if isinstance(sql_type, sa.Text) and not isinstance(sql_type, UUID):
        return sa.func.nullif(column, "")
    return column


def _distinct(
    old: list[sa.ColumnElement[object]], new: list[sa.ColumnElement[object]]
) -> sa.ColumnElement[bool]:
    if not old:
        return sa.false()
    return sa.tuple_(*old).is_distinct_from(sa.tuple_(*new))


def rejects_statement(stage: sa.Table) -> Insert:
    """Rejects are appended; the same reject of the same run (a retried batch) only once."""
    names = [c.name for c in stage.c if c.name != ORDINAL]
    query = sa.select(*(stage.c[n] for n in names)).order_by(stage.c[ORDINAL])
    return (
        insert(ingest_rejects)
        .from_select(names, query)
        .on_conflict_do_nothing(constraint="uq_ingest_rejects_row")
    )

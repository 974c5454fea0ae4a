"""What a reindex needs from PostgreSQL to never lose a load's writes: the rows rewritten
since a point in time, and a lock that orders index writes against an alias swap.

A full reindex copies the records as one snapshot into a new index, while a load may go on
writing the records and the live index. Two things close that gap (orchestration/reindex.py):

- **Rows rewritten since a marker.** `change_marker()` is the oldest transaction id still in
  progress now (the `xmin` of a snapshot taken now, 32 bits as row headers hold it). Every
  row version a later snapshot sees and an earlier one did not was written by a transaction
  at or after it, so `rewritten_since(marker)` (`age(xmin) <= age(marker)`) selects a
  superset of the rows changed since the marker: an upsert rewrites a row (new `xmin`)
  whenever its data or its provenance (source_file, load_run) moved, and leaves it alone
  when nothing did. A contact's document also carries its company's fields, so a contact
  whose company row was rewritten counts as rewritten too.
- **The index-writes lock**, a PostgreSQL advisory lock named after the index prefix: each
  load batch holds it shared from before its record write until its search write is done;
  the last catch-up and the alias swap hold it exclusively. So at the swap no batch is half
  written, and every batch after it writes the new index.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc

from stores.base import Service
from stores.postgres.schema import TABLES

XID_MODULUS = 2**32
FIRST_NORMAL_XID = 3  # 0-2 are PostgreSQL's invalid, bootstrap and frozen ids


class Xid(sa.types.UserDefinedType[int]):
    """PostgreSQL's 32-bit transaction id type (only ever cast to, never stored)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid"


CHANGE_MARKER_SQL = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def marker_of(xid8: int) -> int:
    """The 32-bit form of a 64-bit transaction id (what `xmin` in a row header holds)."""
    return max(xid8 % XID_MODULUS, FIRST_NORMAL_XID)


def rewritten_since(statement: sa.Select[Any], service: Service, marker: int) -> sa.Select[Any]:
    """`statement` (a search_rows_select) narrowed to rows rewritten at or after `marker`.

    `age()` counts back from the current transaction id with wraparound, so comparing ages
    compares ids correctly across a wraparound; frozen rows are as old as can be."""
    since = sa.func.age(sa.cast(sa.cast(sa.literal(marker), sa.Text), Xid()))

    def newer(table: str) -> sa.ColumnElement[bool]:
        return sa.func.age(sa.literal_column(f"{table}.xmin")) <= since

    if service == "companies":
        return statement.where(newer(TABLES["companies"].name))
    return statement.where(sa.or_(newer("contacts"), newer("companies")))


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for `name`."""
    digest = hashlib.sha256(f"connectra index writes {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def index_write_lock(
    engine: sa.Engine, name: str, *, exclusive: bool, wait_s: float
) -> Iterator[None]:
    """Holds the index-writes lock of `name` (shared or exclusive) for the block, waiting at
    most `wait_s` for it (then psycopg's LockNotAvailable: a StoreTimeout once translated).

    A transaction-level lock on a connection of its own, so it ends with the block, or with
    the connection if the process dies holding it. The transaction writes nothing (no
    transaction id) and holds no snapshot between statements, so it keeps no row versions
    alive while it waits."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with engine.connect() as connection:
        timeout = f"{max(1, int(wait_s * 1000))}ms"
        connection.execute(sa.text("SELECT set_config('lock_timeout', :t, true)"), {"t": timeout})
        connection.execute(
            sa.text("SELECT set_config('statement_timeout', :t, true)"), {"t": timeout}
        )
        connection.execute(sa.select(getattr(sa.func, function)(lock_key(name))))
        try:
            yield
        finally:
            with contextlib.suppress(sa_exc.DBAPIError):  # a lost connection released it
                connection.rollback()

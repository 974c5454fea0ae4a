"""duckdb exceptions -> the stores' error tree (stores/errors.py), once, here.

Transient: the file is locked by another process past our deadline, an I/O failure (disk
full, a file that vanished), a transaction conflict inside this process, memory pressure,
or a fatal/internal error (the database instance is invalidated, but we open a fresh one for
the next operation anyway). StoreTimeout: a statement we interrupted at its deadline.
BackendMisconfigured: a table that does not exist (the file was never migrated) or a file we
may not write. Terminal: everything else, i.e. SQL that cannot run (parser, binder, catalog,
conversion, constraint errors); the same call would fail again. Messages keep the first line only:
DuckDB quotes offending values, and rows hold personal data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from stores.errors import (
    BackendMisconfigured,
    StoreError,
    StoreTimeout,
    TerminalStoreError,
    TransientStoreError,
)

BACKEND = "duckdb"
_LOCK_MARKER = "Could not set lock on file"
_TRANSIENT = (
    duckdb.IOException,
    duckdb.ConnectionException,
    duckdb.TransactionException,
    duckdb.OutOfMemoryException,
    duckdb.FatalException,
    duckdb.InternalException,
)
_MAX_MESSAGE = 300


def is_lock_conflict(exc: BaseException) -> bool:
    """Another process holds the database file (DuckDB allows one writer, or many readers)."""
    return isinstance(exc, duckdb.IOException) and _LOCK_MARKER in str(exc)


def describe(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return first if len(first) <= _MAX_MESSAGE else first[:_MAX_MESSAGE] + "..."


def translate(exc: BaseException) -> StoreError:
    if isinstance(exc, StoreError):
        return exc
    message = describe(exc)
    if isinstance(exc, duckdb.InterruptException):
        return StoreTimeout(BACKEND, f"statement interrupted at its deadline ({message})")
    if isinstance(exc, _TRANSIENT):
        return TransientStoreError(BACKEND, message)
    if isinstance(exc, duckdb.PermissionException) or (
        isinstance(exc, duckdb.CatalogException) and "Table with name" in message
    ):
        return BackendMisconfigured(BACKEND, message)
    return TerminalStoreError(BACKEND, message)


@contextmanager
def translated() -> Iterator[None]:
    """Re-raises duckdb errors as StoreErrors, chained to the original."""
    try:
        yield
    except duckdb.Error as exc:
        raise translate(exc) from exc

"""psycopg / SQLAlchemy errors -> the stores' error tree (stores/errors.py), once, here.

Transient: the server is away, restarting, out of connections, or a transaction lost a
deadlock / serialization race (the same batch succeeds when retried). StoreTimeout: a
statement_timeout or cancel, or no pooled connection free in time. BackendMisconfigured (a
terminal error the API answers with 503): a wrong password, no permission, a missing
database, schema or table (retrying cannot fix configuration). Terminal: everything else.
Messages carry the SQLSTATE and the server's first line, with any secret blanked; the
driver's exception stays as __cause__ for the logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import psycopg
import psycopg.errors as pg
import sqlalchemy.exc as sa_exc

from stores.errors import (
    BackendMisconfigured,
    StoreError,
    StoreTimeout,
    TerminalStoreError,
    TransientStoreError,
)

BACKEND = "postgres"
DATA_EXCEPTION = "22"  # SQLSTATE class: a value that does not fit its type

_TIMEOUTS = (pg.QueryCanceled, pg.LockNotAvailable)
_TRANSIENT = (
    pg.AdminShutdown,
    pg.CrashShutdown,
    pg.CannotConnectNow,
    pg.TooManyConnections,
    pg.InsufficientResources,
    pg.TransactionRollback,  # deadlock_detected, serialization_failure
    pg.ConnectionException,
)
_MISCONFIGURED = (
    pg.InvalidAuthorizationSpecification,  # 28000, including a wrong password (28P01)
    pg.InsufficientPrivilege,
    pg.InvalidCatalogName,  # no such database
    pg.InvalidSchemaName,
    pg.UndefinedTable,  # not migrated: `connectra migrate`
)
# Connection failures carry no SQLSTATE; these messages mean configuration, not weather.
_TERMINAL_CONNECT_MESSAGES = (
    "authentication failed",
    "does not exist",
    "pg_hba.conf",
    "invalid connection option",
    "invalid dsn",
)


def translate(exc: BaseException, secrets: Iterable[str] = ()) -> StoreError:
    """The StoreError for a driver exception (unwrapping SQLAlchemy's DBAPIError)."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):  # the pool had no free connection in time
        return StoreTimeout(BACKEND, "no free connection in the pool in time")
    driver: BaseException = exc
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        driver = exc.orig
    message = _scrub(_describe(driver), secrets)
    if isinstance(driver, _TIMEOUTS):
        return StoreTimeout(BACKEND, message)
    if isinstance(driver, _TRANSIENT):
        return TransientStoreError(BACKEND, message)
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return TransientStoreError(BACKEND, message)
    if isinstance(driver, _MISCONFIGURED):
        return BackendMisconfigured(BACKEND, message)
    if isinstance(driver, psycopg.OperationalError | psycopg.InterfaceError) and not getattr(
        driver, "sqlstate", None
    ):
        lowered = message.lower()
        if any(marker in lowered for marker in _TERMINAL_CONNECT_MESSAGES):
            return BackendMisconfigured(BACKEND, message)
        return TransientStoreError(BACKEND, message)
    return TerminalStoreError(BACKEND, message)


@contextmanager
def translated(secrets: Iterable[str] = ()) -> Iterator[None]:
    """Re-raises driver errors as StoreErrors, chained to the original."""
    try:
        yield
    except (psycopg.Error, sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
        raise translate(exc, secrets) from exc


def _describe(exc: BaseException) -> str:
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate and sqlstate.startswith(DATA_EXCEPTION):
        # 'invalid input syntax for type uuid: "<the value>"': rows hold personal data, so
        # the message keeps what was wrong and leaves the value out.
        first_line = first_line.split(":", 1)[0]
    return f"{sqlstate} {first_line}" if sqlstate else first_line


def _scrub(message: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message

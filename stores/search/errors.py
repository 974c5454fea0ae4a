"""Driver exceptions -> the stores' error tree, decided once for both clients.

The dialect reduces its client's exception to a Failure (kind, HTTP status, error type,
reason); this module decides what a caller can do about it: retry (connection refused or
reset, 429, 502/503, a node restarting, a missing index that is being rebuilt), retry later
because the engine was slow (timeouts, 504), or give up (a bad request, a mapping conflict,
refused credentials).
Messages name the operation and the engine's own reason, never credentials.
"""

from __future__ import annotations

import re

from stores.errors import (
    BackendMisconfigured,
    IndexMissing,
    StoreError,
    StoreTimeout,
    TerminalStoreError,
    TransientStoreError,
)
from stores.search.dialect import Dialect

TRANSIENT_STATUSES = frozenset({429, 502, 503})
TIMEOUT_STATUSES = frozenset({408, 504})
_FIELD = re.compile(r"field \[([^\]]+)\]")


def translate(dialect: Dialect, exc: BaseException, operation: str) -> StoreError:
    """The StoreError to raise (from exc) for a failed `operation`."""
    if isinstance(exc, StoreError):
        return exc
    failure = dialect.failure(exc)
    backend = dialect.engine
    where = dialect.settings.where
    if failure is None:
        message = f"{operation} failed unexpectedly ({type(exc).__name__})"
        return TerminalStoreError(backend, scrub(dialect, message))
    if failure.kind == "timeout":
        return StoreTimeout(backend, f"{operation}: no answer from {where} in time")
    if failure.kind == "connection":
        return TransientStoreError(
            backend, scrub(dialect, f"{operation}: cannot reach {where} ({failure.reason})")
        )
    if failure.kind == "http" and failure.status is not None:
        return from_status(dialect, failure.status, failure.error_type, failure.reason, operation)
    return TerminalStoreError(backend, scrub(dialect, f"{operation} failed ({failure.reason})"))


def from_status(
    dialect: Dialect, status: int, error_type: str, reason: str, operation: str
) -> StoreError:
    """The error for an HTTP status (a whole request's, or one bulk item's)."""
    backend = dialect.engine
    detail = describe(error_type, reason)
    message = scrub(dialect, f"{operation}: HTTP {status} {detail}".rstrip())
    if status in TIMEOUT_STATUSES:
        return StoreTimeout(backend, message)
    if status in TRANSIENT_STATUSES:
        return TransientStoreError(backend, message)
    if status == 401:
        return BackendMisconfigured(backend, f"{operation}: the engine refused the credentials")
    if status == 403:
        return BackendMisconfigured(backend, f"{operation}: the engine user lacks permission")
    if status == 404 and "index_not_found" in error_type:
        return IndexMissing(
            backend,
            f"{message} (the index is rebuilt from the records by `connectra reindex`; "
            "`connectra migrate` creates it empty)",
        )
    return TerminalStoreError(backend, message)


def describe(error_type: str, reason: str) -> str:
    """`mapper_parsing_exception on field [x]: ...`: the field first, as an operator needs it."""
    match = _FIELD.search(reason)
    field = f" on field {match.group(1)}" if match else ""
    head = f"{error_type}{field}".strip()
    return f"{head}: {reason}" if head and reason else head or reason


def scrub(dialect: Dialect, message: str) -> str:
    """Remove the password (and user:password pairs) should a driver ever echo them."""
    password = dialect.settings.password.get() if dialect.settings.password else ""
    if password:
        message = message.replace(password, "***")
    return message

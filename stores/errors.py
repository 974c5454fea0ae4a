"""The one error tree of the stores: what callers act on, not which driver raised it.

Assets retry TransientStoreError with backoff; the API answers it with 503 (504 for
StoreTimeout). TerminalStoreError means retrying cannot help (bad request, mapping conflict).
Two states of a backend are named apart, since neither is the client's fault nor a bug of
ours, and the API answers both with 503 rather than 500: IndexMissing (the search index is
gone; it is derived data, rebuilt from the records, so loads wait for it) and
BackendMisconfigured (credentials refused, no permission, a database, bucket or table
missing: an operator must act).
Adapters translate their driver's exceptions into these at the boundary, keeping the
original as __cause__ for logs, and never put credentials into the message.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error a store raises on purpose."""

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(f"{backend}: {message}")
        self.backend = backend
        self.message = message


class TransientStoreError(StoreError):
    """Connection refused, 429, 503, a node restarting: the same call may succeed later."""


class StoreTimeout(TransientStoreError):
    """The backend did not answer in time."""


class TerminalStoreError(StoreError):
    """A bad request or a mapping conflict: the same call will fail again."""


class IndexMissing(TransientStoreError):
    """The search index (or its alias) is not there: a node that lost its data, or indices
    never created. Transient, since `connectra reindex` (or the drift sensor) rebuilds it from
    the records: a load retries until then instead of failing its file."""


class BackendMisconfigured(TerminalStoreError):
    """The backend refuses Connectra for a reason only its operator can fix: credentials,
    permissions, a missing database, bucket, schema or table."""

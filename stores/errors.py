"""The one error tree of the stores: what callers act on, not which driver raised it.

Assets retry TransientStoreError with backoff; the API answers it with 503 (504 for
StoreTimeout). TerminalStoreError means retrying cannot help (bad request, mapping conflict).
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

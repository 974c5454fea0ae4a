"""Opaque, tamper-evident cursors.

A cursor is ``base64url(payload) "." base64url(mac)``: the payload holds the issuing engine
family and the last row's sort values; the MAC is HMAC-SHA256, under the API's secret, over
the payload and a digest of the query's service, where and order_by. An edited, truncated
or foreign cursor, or one replayed with another where / order_by, fails the check and is a
:class:`~vql.errors.CursorError` at ``/cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from vql.cursor_values import cursor_mismatch
from vql.errors import CursorError
from vql.nodes import Query, Sort, SortValues, Where
from vql.ordering import ENGINES, effective_sort

_DOMAIN = b"connectra-vql-cursor-v1\x00"
MAX_CURSOR = 4096
_INVALID = (
    "invalid cursor: it was edited or truncated, or it belongs to another query "
    "(where and order_by must stay the same while paging); repeat the request without a cursor"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def query_digest(where: Where, order_by: tuple[Sort, ...]) -> bytes:
    """A digest of what a cursor is bound to; the node tree's repr is canonical (frozen
    dataclasses of strings, ints, tuples and UTC datetimes)."""
    return hashlib.sha256(repr((where, order_by)).encode("utf-8")).digest()


class CursorCodec:
    """Issues and checks cursors under ``secret`` (owned by the API; at least 16 bytes)."""

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise ValueError("the cursor secret must be at least 16 bytes")
        self._secret = secret

    def _mac(self, digest: bytes, payload: bytes) -> bytes:
        return hmac.new(self._secret, _DOMAIN + digest + payload, hashlib.sha256).digest()

    def encode(self, query: Query, sort_values: SortValues) -> str:
        """The ``next_cursor`` after the row whose sort values are ``sort_values``."""
        expected = effective_sort(query.where, query.order_by, sort_values.engine)
        if sort_values.keys != expected or len(sort_values.values) != len(expected):
            raise ValueError("sort values do not belong to this query's order")
        payload = json.dumps(
            {"e": sort_values.engine, "v": list(sort_values.values)},
            separators=(",", ":"),
            ensure_ascii=True,
            allow_nan=False,
        ).encode("ascii")
        mac = self._mac(query_digest(query.where, query.order_by), payload)
        return f"{_b64(payload)}.{_b64(mac)}"

    def stamp(self, token: str, query: Query, dataset_version: int) -> str:
        """``token`` (issued by :meth:`encode` for ``query``) carrying the dataset version it
        was issued at, signed again; ``decode`` ignores it, :meth:`stamped_version` reads it."""
        head, _ = token.split(".")
        data = json.loads(_unb64(head))
        data["d"] = int(dataset_version)
        payload = json.dumps(data, separators=(",", ":"), ensure_ascii=True,
                             allow_nan=False).encode("ascii")
        mac = self._mac(query_digest(query.where, query.order_by), payload)
        return f"{_b64(payload)}.{_b64(mac)}"

    @staticmethod
    def stamped_version(token: str) -> int | None:
        """The dataset version a cursor was issued at (call after ``decode`` verified it)."""
        try:
            value = json.loads(_unb64(token.split(".")[0])).get("d")
        except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeError):
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def decode(self, token: str, where: Where, order_by: tuple[Sort, ...]) -> SortValues:
        """The sort values carried by ``token``, if we issued it for this where / order_by."""
        try:
            return self._decode(token, where, order_by)
        except CursorError:
            raise
        except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError):
            raise cursor_mismatch(_INVALID) from None

    def _decode(self, token: str, where: Where, order_by: tuple[Sort, ...]) -> SortValues:
        if not isinstance(token, str) or len(token) > MAX_CURSOR or token.count(".") != 1:
            raise ValueError("malformed")
        head, tail = token.split(".")
        payload, mac = _unb64(head), _unb64(tail)
        if _b64(payload) != head or _b64(mac) != tail:
            raise ValueError("not canonical base64url")  # every token has one spelling
        if not hmac.compare_digest(mac, self._mac(query_digest(where, order_by), payload)):
            raise ValueError("bad mac")
        data: Any = json.loads(payload)
        engine, values = data["e"], data["v"]
        if engine not in ENGINES or not isinstance(values, list):
            raise ValueError("bad payload")
        keys = effective_sort(where, order_by, engine)
        if len(values) != len(keys):
            raise ValueError("bad payload")
        return SortValues(engine, keys, tuple(values))

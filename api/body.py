"""Reading request bodies: size-capped, strict JSON, errors in the API's shape.

The 1 MiB cap is enforced twice: middleware refuses a declared Content-Length above it
before anything is read, and reads here never take more than the cap plus one byte, so a
body sent without a length (chunked) cannot grow past it either.
"""

from __future__ import annotations

import json
from typing import IO, Any

import falcon

from api.errors import ApiError

MAX_BODY_BYTES = 1 << 20
MAX_JSON_DEPTH = 64


def too_large(limit: int = MAX_BODY_BYTES) -> ApiError:
    return ApiError(413, "payload_too_large", f"the request body must be at most {limit} bytes")


def read_json(req: falcon.Request, limit: int = MAX_BODY_BYTES) -> Any:
    """The request's JSON document; 413 past the cap, 400 invalid_json when it is not JSON."""
    raw = req.bounded_stream.read(limit + 1)
    if len(raw) > limit:
        raise too_large(limit)
    if not raw.strip():
        raise ApiError(400, "invalid_json", "the request body is empty; send a JSON object")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the request body is not UTF-8 text") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        message = f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} " \
            f"column {exc.colno}"
        raise ApiError(400, "invalid_json", message) from None
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ApiError(400, "invalid_json", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a hostile body must not exhaust the stack here)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


class CappedStream:
    """A read-only stream that raises 413 once more than `limit` bytes were read."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        want = self.limit + 1 - self.count if size is None or size < 0 else size
        data = self.inner.read(max(0, min(want, self.limit + 1 - self.count)))
        self.count += len(data)
        if self.count > self.limit:
            raise too_large(self.limit)
        return data

    def readable(self) -> bool:
        return True

"""Strict, error-collecting reading of untrusted JSON values.

The parser walks a request with a :class:`Reader`, which records every problem with its
JSON pointer instead of stopping at the first, and never raises itself. ``null`` is treated
as an absent member everywhere (Go clients send ``"cursor": null`` and friends).
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from vql.errors import ErrorDetail, ErrorKind, child

MAX_STRING = 512  # longest keyword value; the index keeps keyword values up to this length


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def allowed_list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(names) if names else "(none)"


def suggest(name: str, names: tuple[str, ...] | list[str]) -> str:
    """' Did you mean X?' when ``name`` looks like a misspelling of an allowed name."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


class Reader:
    """Collects :class:`ErrorDetail` while reading values; every method is total."""

    def __init__(self) -> None:
        self.errors: list[ErrorDetail] = []

    def error(self, path: str, message: str, kind: ErrorKind = "parse") -> None:
        self.errors.append(ErrorDetail(path, message, kind))

    def object(
        self, value: Any, path: str, allowed: tuple[str, ...], what: str
    ) -> dict[str, Any] | None:
        """The known, non-null members of an object; unknown members are errors."""
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a JSON object, got {json_type(value)}")
            return None
        out: dict[str, Any] = {}
        for key, member in value.items():
            name = key if isinstance(key, str) else str(key)
            if name not in allowed:
                self.error(
                    child(path, name),
                    f"unknown member {name!r} in {what}.{suggest(name, allowed)} "
                    f"Allowed: {allowed_list(allowed)}",
                )
            elif member is not None:
                out[name] = member
        return out

    def integer(self, value: Any, path: str, name: str, lo: int, hi: int) -> int | None:
        """An integer in [lo, hi]; booleans and floats are refused (JSON has no int type,
        but ``25.0`` or ``true`` for a count is a client bug worth reporting)."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, f"{name} must be an integer from {lo} to {hi}, got {json_type(value)}")
            return None
        if not lo <= value <= hi:
            shown = value if abs(value) < 10**30 else "a huge number"
            self.error(path, f"{name} must be an integer from {lo} to {hi}, got {shown}")
            return None
        return value

    def boolean(self, value: Any, path: str, name: str) -> bool | None:
        if not isinstance(value, bool):
            self.error(path, f"{name} must be true or false, got {json_type(value)}")
            return None
        return value

    def choice(self, value: Any, path: str, name: str, allowed: tuple[str, ...]) -> str | None:
        if not isinstance(value, str) or value not in allowed:
            got = repr(value) if isinstance(value, str) else json_type(value)
            hint = suggest(value, allowed) if isinstance(value, str) else ""
            self.error(path, f"{name} must be one of {allowed_list(allowed)}, got {got}.{hint}")
            return None
        return value

    def text(self, value: Any, path: str, name: str, max_len: int = MAX_STRING) -> str | None:
        """A non-blank string of valid Unicode without control characters."""
        if not isinstance(value, str):
            self.error(path, f"{name} must be a string, got {json_type(value)}")
            return None
        problem = string_problem(value, max_len)
        if problem:
            self.error(path, f"{name} {problem}")
            return None
        return value

    def number(self, value: Any, path: str, name: str) -> int | float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(path, f"{name} must be a number, got {json_type(value)}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.error(path, f"{name} must be a finite number")
            return None
        return value


def string_problem(value: str, max_len: int) -> str | None:
    """Why ``value`` cannot be sent to a store, or None.

    Lone surrogates cannot be encoded for the engines, and PostgreSQL refuses NUL; other
    control characters never occur in normalized data, so they are refused too.
    """
    if not value.strip():
        return "must not be empty"
    if len(value) > max_len:
        return f"must be at most {max_len} characters long, got {len(value)}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must not contain control characters"
    return None

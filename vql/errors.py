"""The one error tree of VQL.

Every problem found in a request becomes an :class:`ErrorDetail` (a JSON pointer into the
request plus a message that says what is wrong and what is allowed). The parser collects all
of them before raising, so a client fixes a request in one round trip. ``api/`` maps the whole
tree to one HTTP 400 shape; nothing else in VQL ever raises for bad input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

ErrorKind = Literal["parse", "unsupported", "cursor"]


@dataclass(frozen=True)
class ErrorDetail:
    """One problem: where it is (RFC 6901 pointer) and what is wrong / allowed."""

    path: str
    message: str
    kind: ErrorKind = "parse"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class VQLError(ValueError):
    """Base of every VQL error; ``errors`` holds all problems found, never empty."""

    def __init__(self, errors: Iterable[ErrorDetail]) -> None:
        self.errors: list[ErrorDetail] = list(errors)
        if not self.errors:
            self.errors = [ErrorDetail("", "invalid query")]
        first = self.errors[0]
        more = len(self.errors) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{first.path or '/'}: {first.message}{suffix}")

    def details(self) -> list[dict[str, str]]:
        """The ``details`` list of the API's error shape."""
        return [e.as_dict() for e in self.errors]


class VQLParseError(VQLError):
    """The request does not have the shape or the value types VQL expects."""


class VQLUnsupportedError(VQLError):
    """Well-formed, but asks for a field, operator or option the service does not offer."""


class CursorError(VQLError):
    """The cursor is not one we issued for this very query (edited, foreign, truncated)."""


def raise_for(errors: list[ErrorDetail]) -> None:
    """Raise the most fundamental error class among ``errors`` carrying all of them.

    Shape problems win over unsupported fields, which win over cursor problems: a client
    should fix the request's form first.
    """
    if not errors:
        return
    kinds = {e.kind for e in errors}
    cls: type[VQLError]
    if "parse" in kinds:
        cls = VQLParseError
    elif "unsupported" in kinds:
        cls = VQLUnsupportedError
    else:
        cls = CursorError
    raise cls(errors)


def escape_token(token: str) -> str:
    """Escape one reference token of a JSON pointer (RFC 6901: ``~`` first, then ``/``)."""
    return token.replace("~", "~0").replace("/", "~1")


def child(path: str, token: str | int) -> str:
    """The pointer of member ``token`` (a key or an array index) below ``path``."""
    return f"{path}/{escape_token(str(token))}"

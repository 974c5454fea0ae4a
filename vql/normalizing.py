"""Query values read the way loads read cells, and closed vocabularies.

A load normalizes every cell (dbt_like_sql: "USA" -> "united states", "Sr." -> "senior",
"https://www.Acme.com/x" -> "acme.com", "1.2k" -> 1200), so a query must normalize its
values by the same rules or it asks for values that were never stored. vql does no I/O and
imports nothing of ours, so the rules are given to the parser as a :class:`ValueRules`
object (``dbt_like_sql.query_values.LoadRules`` evaluates the loader's own SQL macros and
seeds); the registry says which rule a field follows (:attr:`~vql.registry.Field.rule`) and
whether its vocabulary is closed (:attr:`~vql.registry.Field.closed`).

Without rules (``rules=None``) values pass as written, as before: the pure parser stays
usable on its own, and the API always passes the loader's rules.

Every value that a rule changed is reported (:class:`~vql.nodes.Normalized`), so an answer
can say what a query was understood as; a change of letter case alone is not reported
(keyword matching ignores case anyway).
"""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Protocol

from vql.nodes import Normalized
from vql.reader import Reader
from vql.registry import Field


class ValueRules(Protocol):
    """The loader's normalization of single values, rule by rule (see Field.rule)."""

    def keyword(self, rule: str, value: str) -> tuple[str, ...]:
        """What a cell holding ``value`` is stored as: one value, several (list fields), or
        none (a placeholder such as "n/a" loads as no value)."""
        ...

    def number(self, rule: str, value: str) -> int | None:
        """A number written as text ("1,200", "1.2k", "$3.5M", "1998"); None when the text
        is not one number (a range such as "51-200" is not)."""
        ...

    def time(self, value: str) -> datetime | None:
        """A date or date-time as the loader reads it (UTC), None when it is not one."""
        ...

    def vocabulary(self, rule: str) -> tuple[str, ...]:
        """The canonical values of a closed field's rule, in their natural order."""
        ...


NUMBER_HINT = "a number, or a number written as text such as '1,200', '1.2k' or '$3.5M'"


class QueryValues:
    """One request's values through the rules: errors go to the reader, changes are kept."""

    def __init__(self, rules: ValueRules | None) -> None:
        self.rules = rules
        self.changes: list[Normalized] = []

    def keyword(self, r: Reader, field: Field, value: str, path: str) -> tuple[str, ...] | None:
        """The values ``value`` stands for on ``field``; None (an error recorded) when it
        stands for nothing or is outside a closed vocabulary."""
        if self.rules is None or field.rule is None:
            return (value,)
        out = self.rules.keyword(field.rule, value)
        if field.closed:
            allowed = self.rules.vocabulary(field.rule)
            unknown = [v for v in out if v not in allowed]
            if unknown or not out:
                r.error(path, unknown_value(field, value, allowed), "unsupported")
                return None
        if not out:
            r.error(path, f"{value!r} loads as no value (a placeholder for 'nothing here'), "
                          "so no record has it")
            return None
        if [v.lower() for v in out] != [value.lower()]:
            after: str | tuple[str, ...] = out[0] if len(out) == 1 else out
            self.changes.append(Normalized(path, value, after))
        return out

    def number(self, r: Reader, field: Field, op: str, raw: str, path: str) -> int | None:
        """A range bound given as text, read as the loader reads the field's numbers."""
        if self.rules is None or field.rule is None:
            r.error(path, f"{op} must be a number, got string")
            return None
        number = self.rules.number(field.rule, raw)
        if number is None:
            r.error(path, f"{op} must be {NUMBER_HINT}, got {raw[:64]!r}")
            return None
        self.changes.append(Normalized(path, raw, number))
        return number

    def time(self, raw: str) -> datetime | None:
        """A date bound read by the loader's date rule; raises LookupError without rules."""
        if self.rules is None:
            raise LookupError("no rules")
        return self.rules.time(raw)


MAX_LISTED = 30  # a longer vocabulary (countries: 249) is pointed at, not pasted in the error


def unknown_value(field: Field, value: str, allowed: tuple[str, ...]) -> str:
    """The message for a value outside a closed vocabulary: what, the nearest, the allowed."""
    close = difflib.get_close_matches(value.lower(), list(allowed), n=3, cutoff=0.6)
    hint = ""
    if close:
        hint = " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    unknown = f"unknown {field.label.lower()} {value!r}.{hint}"
    if len(allowed) <= MAX_LISTED:
        return f"{unknown} Allowed values: {', '.join(allowed)}"
    return (f"{unknown} It is one of {len(allowed)} values, listed as `values` of "
            f"{field.name!r} by GET /common/filters/:service")

"""DuckDB values -> JSON-ready Python: the shape every record store returns.

Ids are already text; timestamps (TIMESTAMPTZ, aware datetimes) become ISO-8601 in UTC with
a Z, as PostgreSQL's store renders them; lists stay lists.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from stores.base import Record


def json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def json_records(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Record]:
    return [{n: json_value(v) for n, v in zip(names, row, strict=True)} for row in rows]

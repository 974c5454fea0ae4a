"""Database values -> JSON-ready Python: the one shape every record store returns.

uuid -> str, timestamps -> ISO-8601 in UTC with a Z, lists stay lists; so PostgreSQL and
DuckDB answer the API with identical records.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
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


def json_record(row: Mapping[Any, Any]) -> Record:
    return {str(key): json_value(value) for key, value in row.items()}


def json_records(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Record]:
    return [{n: json_value(v) for n, v in zip(names, row, strict=True)} for row in rows]

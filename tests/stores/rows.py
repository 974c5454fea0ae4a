"""Write batches for the store tests, typed exactly as the normalizer hands them to every store
(dbt_like_sql/schemas.py), with only the columns the records name."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pyarrow as pa

from dbt_like_sql.schemas import COMPANIES_SCHEMA, CONTACTS_SCHEMA, REJECTS_SCHEMA

UTC = dt.UTC
T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def _rows(schema: pa.Schema, records: list[dict[str, Any]]) -> pa.Table:
    names = list(dict.fromkeys(k for r in records for k in r))
    for record in records:  # Arrow would read a string given for a list as its characters
        for name, value in record.items():
            if isinstance(value, str) and pa.types.is_list(schema.field(name).type):
                raise TypeError(f"{name} is a list column; give a list, not {value!r}")
    return pa.Table.from_pylist(records, schema=pa.schema([schema.field(n) for n in names]))


def contacts(records: list[dict[str, Any]]) -> pa.Table:
    return _rows(CONTACTS_SCHEMA, records)


def companies(records: list[dict[str, Any]]) -> pa.Table:
    return _rows(COMPANIES_SCHEMA, records)


def rejects(records: list[dict[str, Any]]) -> pa.Table:
    return _rows(REJECTS_SCHEMA, records)

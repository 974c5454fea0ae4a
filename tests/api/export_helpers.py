"""Reading exports back, and the filter's answer to compare them with."""

from __future__ import annotations

import csv
import gzip as gz
import io
import json
from typing import Any

import pyarrow.parquet as pq
from falcon import testing

from stores.records import json_value


def read_back(raw: bytes, fmt: str, gzip: bool) -> tuple[list[str] | None, list[dict[str, Any]]]:
    """(csv header or None, rows) of an export file."""
    if gzip:
        raw = gz.decompress(raw)
    if fmt == "jsonl":
        return None, [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
        rows = list(reader)
        return list(reader.fieldnames or []), rows
    table = pq.read_table(io.BytesIO(raw))
    rows = [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]
    return table.column_names, rows


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return json_value(value)


def csv_cell(value: Any) -> str:
    """What the csv format writes for a JSON value (README: lists as JSON arrays)."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def as_csv(row: dict[str, Any]) -> dict[str, str]:
    out = {k: csv_cell(v) for k, v in row.items() if k != "company"}
    if "company" in row:
        company = row["company"] or {}
        out.update({f"company.{k}": csv_cell(company.get(k)) for k in company} if company
                   else {})
    return out


def filter_all(client: testing.TestClient, service: str, body: dict[str, Any]) -> list[Any]:
    """Every row the filter answers for body, following next_cursor."""
    rows: list[Any] = []
    cursor = None
    while True:
        page = client.simulate_post(f"/{service}/filter",
                                    json={**body, "limit": 100, "cursor": cursor})
        assert page.status_code == 200, page.text
        rows += page.json["data"]
        cursor = page.json["next_cursor"]
        if cursor is None:
            return rows

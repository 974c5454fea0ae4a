"""An export request: the VQL parts of a filter (validated exactly like filter) plus the file.

The body is `{"where", "order_by"?, "select_columns"?, "company_config"?, "format",
"gzip"?, "max_rows"?}`. Problems come back together as one VQLError with JSON pointers,
the same 400 the filter gives. The validated request is the export run's config: a plain
JSON object, parsed again (and so validated again) by the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from vql.errors import VQLError, raise_for
from vql.nodes import Query
from vql.normalizing import ValueRules
from vql.parser import parse_query
from vql.reader import Reader

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "parquet")
QUERY_KEYS = ("where", "order_by", "select_columns", "company_config")
EXPORT_KEYS = (*QUERY_KEYS, "format", "gzip", "max_rows")
MAX_ROWS = 100_000_000
PAGE_ROWS = 2_000  # ids walked and rows read per step: bounds the memory of an export


@dataclass(frozen=True)
class ExportRequest:
    service: str
    vql: dict[str, Any]  # the where / order_by / select_columns / company_config as sent
    format: Format
    gzip: bool = False
    max_rows: int | None = None
    # The load rules the where's values are read by (vql.normalizing), as in a filter; not
    # part of the run config: the job passes its own.
    rules: ValueRules | None = field(default=None, compare=False, repr=False)

    @property
    def suffix(self) -> str:
        return f".{self.format}" + (".gz" if self.gzip else "")

    def query(self, page_rows: int = PAGE_ROWS) -> Query:
        """The VQL query walked page_rows at a time (validated again: a config edited in the
        Dagster launchpad gets the same checks as the API request)."""
        return replace(parse_query(self.service, self.vql, rules=self.rules), limit=page_rows)

    def as_config(self) -> dict[str, Any]:
        return {"service": self.service, "request": json.dumps(self.vql, sort_keys=True),
                "format": self.format, "gzip": self.gzip, "max_rows": self.max_rows or 0}

    @classmethod
    def from_config(
        cls, config: dict[str, Any], rules: ValueRules | None = None
    ) -> ExportRequest:
        body = {**json.loads(config["request"]), "format": config["format"],
                "gzip": config["gzip"]}
        if config.get("max_rows"):
            body["max_rows"] = config["max_rows"]
        return parse_export_request(config["service"], body, rules)


def parse_export_request(
    service: str, body: Any, rules: ValueRules | None = None
) -> ExportRequest:
    """Validates an export body: the VQL parts by the filter's parser (values read by
    `rules`, as a filter reads them), then the file's."""
    r = Reader()
    top = r.object(body, "", EXPORT_KEYS, "the request body")
    if top is None:
        raise_for(r.errors)
        top = {}
    vql = {k: top[k] for k in QUERY_KEYS if k in top}
    try:
        parse_query(service, vql, rules=rules)
    except VQLError as exc:
        r.errors.extend(exc.errors)
    fmt: Any = None
    if "format" not in top or top["format"] is None:
        r.error("/format", f"format is required: one of {', '.join(FORMATS)}")
    else:
        fmt = r.choice(top["format"], "/format", "format", FORMATS)
    gzip = False
    if top.get("gzip") is not None:
        gzip = bool(r.boolean(top["gzip"], "/gzip", "gzip"))
        if gzip and fmt == "parquet":
            r.error("/gzip", "gzip applies to csv and jsonl; parquet is compressed already")
    max_rows = None
    if top.get("max_rows") is not None:
        max_rows = r.integer(top["max_rows"], "/max_rows", "max_rows", 1, MAX_ROWS)
    raise_for(r.errors)
    return ExportRequest(service, vql, fmt, gzip, max_rows, rules)

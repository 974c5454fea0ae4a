"""The OpenAPI parts of exports (api/exports.py), merged into api/openapi.py's document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.jobs import JOB_STATES
from stores.exports.request import FORMATS, MAX_ROWS

NULL_INT = {"type": ["integer", "null"]}
NULL_STR = {"type": ["string", "null"]}
VERSION_HEADER = {
    "X-Dataset-Version": {
        "description": "the dataset version the answer saw: the number of completed loads "
        "(moves with each one)",
        "schema": {"type": "integer"},
    },
    "X-Cursor-Dataset-Version": {
        "description": "filter with a cursor: the dataset version the cursor was issued at; "
        "differs from X-Dataset-Version when loads completed while paging",
        "schema": {"type": "integer"},
    },
}


def export_request(query: dict[str, Any]) -> dict[str, Any]:
    """A filter body's schema without paging, plus the file's members."""
    props = {k: v for k, v in query["properties"].items() if k not in ("page", "limit",
                                                                        "cursor")}
    props.update(
        format={"type": "string", "enum": list(FORMATS)},
        gzip={"type": ["boolean", "null"], "description": "csv and jsonl only"},
        max_rows={"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ROWS},
    )
    return {"type": "object", "required": ["format"], "additionalProperties": False,
            "properties": props}


def export_schemas(query: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    return {
        "ContactsExportRequest": export_request(query("contacts")),
        "CompaniesExportRequest": export_request(query("companies")),
        "ExportQueued": {
            "type": "object",
            "required": ["export_id", "status"],
            "properties": {"export_id": {"type": "string"},
                           "status": {"type": "string", "enum": list(JOB_STATES)}},
        },
        "Export": {
            "type": "object",
            "required": ["export_id", "status", "format", "download_url"],
            "properties": {
                "export_id": {"type": "string"},
                "status": {"type": "string", "enum": list(JOB_STATES)},
                "rows_written": NULL_INT,
                "bytes": NULL_INT,
                "format": {"type": "string"},
                "dataset_version": NULL_INT,
                "created_at": NULL_STR,
                "started_at": NULL_STR,
                "finished_at": NULL_STR,
                "error": NULL_STR,
                "download_url": {**NULL_STR, "description": "presigned S3 GET, or a signed "
                                 "URL of this API; expires (EXPORT_LINK_SECONDS)"},
            },
        },
    }


def export_paths(
    post: Callable[..., dict[str, Any]],
    json: Callable[[str, str], dict[str, Any]],
    errors: Callable[..., dict[str, Any]],
    common: tuple[int, ...],
) -> dict[str, Any]:
    paths = {
        f"/{service}/export": post(
            f"Export every {service[:-1]} matching a VQL where to a file (a Dagster run)",
            f"{service.capitalize()}ExportRequest", "ExportQueued", "202",
        )
        for service in ("contacts", "companies")
    }
    paths["/common/exports/{export_id}"] = {
        "get": {
            "summary": "The state of an export and, once completed, its download URL "
            "(404 for another API key's export)",
            "parameters": [{"name": "export_id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": json("Export", "the export"), **errors(404, *common)},
        }
    }
    paths["/common/export-files/{name}"] = {
        "get": {
            "summary": "Without S3: download a finished export from its download_url",
            "description": "Authorized by the URL's expires and signature, like an S3 "
            "presigned URL (no X-API-Key needed). 404 when exports are in S3.",
            "security": [],
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "expires", "in": "query", "required": True,
                 "schema": {"type": "string"}},
                {"name": "signature", "in": "query", "required": True,
                 "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {"description": "the file", "content": {
                    "application/octet-stream": {"schema": {"type": "string",
                                                            "format": "binary"}}}},
                **errors(403, 404, 429),
            },
        }
    }
    return paths

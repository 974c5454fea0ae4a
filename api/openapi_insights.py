"""OpenAPI schemas of the facets and explain endpoints (api/openapi.py assembles them)."""

from __future__ import annotations

from typing import Any

from vql.facets import INTERVALS, MAX_FACETS, MAX_RANGES, MAX_SIZE
from vql.registry import registry
from vql.where_parser import MAX_TEXT


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def facets_request(service: str, where: str) -> dict[str, Any]:
    facetable = [f.name for f in registry(service) if f.facetable]
    bound = {"oneOf": [{"type": "number"}, {"type": "string", "description": "ISO-8601 date"}]}
    facet = {
        "type": "object",
        "required": ["field"],
        "additionalProperties": False,
        "description": "Keyword facet (size, search_text) on a field with values; ranges on a "
        "number or date field; interval on a date field.",
        "properties": {
            "field": {"type": "string", "enum": facetable},
            "size": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_SIZE},
            "search_text": {"type": ["string", "null"], "maxLength": MAX_TEXT},
            "ranges": {"type": "array", "minItems": 1, "maxItems": MAX_RANGES, "items": {
                "type": "object", "additionalProperties": False,
                "properties": {op: bound for op in ("gte", "gt", "lte", "lt")}}},
            "interval": {"type": "string", "enum": list(INTERVALS)},
        },
    }
    return {
        "type": "object",
        "required": ["facets"],
        "additionalProperties": False,
        "properties": {
            "where": _ref(where),
            "facets": {"type": "array", "minItems": 1, "maxItems": MAX_FACETS, "items": facet},
            "search_text": {"type": ["string", "null"], "maxLength": MAX_TEXT,
                            "description": "keyword facets list only values containing it"},
        },
    }


COUNT = {"type": "integer", "minimum": 0}
FACETS = {
    "type": "object",
    "required": ["total", "facets"],
    "properties": {
        "total": COUNT,
        "facets": {
            "type": "object",
            "description": "By field. Each facet counts under the where without the where's "
            "must conditions on its own field (disjunctive).",
            "additionalProperties": {"oneOf": [
                {"type": "object", "required": ["values", "other", "missing"], "properties": {
                    "values": {"type": "array", "items": {
                        "type": "object", "required": ["value", "count"],
                        "properties": {"value": {"type": "string"}, "count": COUNT}}},
                    "other": COUNT, "missing": COUNT}},
                {"type": "object", "required": ["ranges"], "properties": {
                    "ranges": {"type": "array", "items": {
                        "type": "object", "required": ["count"],
                        "properties": {"count": COUNT}}}}},
                {"type": "object", "required": ["buckets"], "properties": {
                    "buckets": {"type": "array", "items": {
                        "type": "object", "required": ["key", "count"],
                        "properties": {"key": {"type": "string"}, "count": COUNT}}}}},
            ]},
        },
    },
}
EXPLAIN = {
    "type": "object",
    "required": ["total", "clauses", "suggestions"],
    "properties": {
        "total": COUNT,
        "clauses": {"type": "array", "items": {
            "type": "object", "required": ["path", "clause", "matches", "total_without"],
            "properties": {
                "path": {"type": "string", "description": "JSON pointer of the condition"},
                "clause": {"type": "string", "enum": ["must", "must_not", "should"]},
                "matches": {**COUNT, "description": "records the condition lets through alone"},
                "total_without": {**COUNT, "description": "the total without this condition"},
            }}},
        "suggestions": {"type": "array", "description": "when the total is 0: replacements for "
                        "the value at path, and the total each would give", "items": {
            "type": "object", "required": ["path", "replace_with", "total", "reason"],
            "properties": {"path": {"type": "string"}, "replace_with": {},
                           "total": COUNT, "reason": {"type": "string"}}}},
    },
}

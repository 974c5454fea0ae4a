"""GET /openapi.json: the API described as OpenAPI 3.1, built from the VQL registry.

Field names, sortable fields and answer columns come from vql.registry, so the document
cannot drift from what the parser accepts; tests/api/test_openapi.py checks that every route
of the router is documented and every documented path is routed, and a schemathesis run
checks the answers against these schemas.
"""

from __future__ import annotations

from typing import Any

from api.jobs import JOB_STATES
from api.openapi_exports import VERSION_HEADER, export_paths, export_schemas
from api.openapi_insights import EXPLAIN, FACETS, facets_request
from vql.parser import MAX_LIMIT
from vql.registry import SERVICES, registry
from vql.values import MAX_VALUES_LIMIT
from vql.where_parser import MAX_TEXT

NULL_STR = {"type": ["string", "null"]}
NULL_INT = {"type": ["integer", "null"]}
NULL_STRS = {"type": ["array", "null"], "items": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _column_schema(service: str, column: str) -> dict[str, Any]:
    if column == "company":
        return {"oneOf": [_ref("CompanyRecord"), {"type": "null"}]}
    field = registry(service).get(column)
    kind = field.data_type if field is not None else "text"
    if kind == "list":
        return NULL_STRS
    if kind == "int":
        return NULL_INT
    if column == "id":
        return {"type": "string"}
    return NULL_STR


def _record(service: str, columns: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {c: _column_schema(service, c) for c in columns},
        "description": "Only the selected columns are present (all when select_columns is "
        "absent or empty).",
    }


def _where(service: str) -> dict[str, Any]:
    reg = registry(service)
    text = {
        "type": "object",
        "required": ["filter_key", "text_value"],
        "additionalProperties": False,
        "properties": {
            "filter_key": {"type": "string", "enum": list(reg.names("text"))},
            "text_value": {"type": "string", "minLength": 1, "maxLength": 200},
            "search_type": {"type": ["string", "null"], "enum": ["exact", "shuffle",
                                                                 "substring", None]},
            "fuzzy": {"type": ["boolean", "null"]},
            "slop": {"type": ["integer", "null"], "minimum": 0, "maximum": 50},
            "operator": {"type": ["string", "null"], "enum": ["and", "or", "", None]},
        },
        # substring only on the fields with an n-gram sub-field (the filters endpoint's
        # search_types); on any other field it is a 400 naming these.
        "if": {"required": ["search_type"], "properties": {"search_type": {"const": "substring"}}},
        "then": {"properties": {"filter_key": {"enum": list(reg.names("substring"))}}},
        "description": "search_type substring is taken only by the fields whose filters entry "
                       "lists it in search_types: " + ", ".join(reg.names("substring")),
    }
    keyword_value = {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        "description": "read as a load reads the field's cells (README: Query values mean what "
                       "loaded values mean); closed fields (with values in GET "
                       "/common/filters/:service) allow only those values",
    }
    keyword = {
        "type": ["object", "null"],
        "propertyNames": {"enum": list(reg.names("keyword"))},
        "additionalProperties": keyword_value,
    }
    bound = {"oneOf": [{"type": "number"}, {
        "type": "string",
        "description": "ISO-8601 date, or a number written as text ('1.2k', '$3.5M')",
    }]}
    range_ = {
        "type": ["object", "null"],
        "propertyNames": {"enum": list(reg.names("range"))},
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "properties": {op: bound for op in ("gte", "gt", "lte", "lt")},
        },
    }

    def clauses(item: dict[str, Any], array: bool) -> dict[str, Any]:
        each = {"type": ["array", "null"], "items": item} if array else item
        return {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {c: each for c in ("must", "must_not", "should")},
        }

    return {
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {
            "text_matches": clauses(text, array=True),
            "keyword_match": clauses(keyword, array=False),
            "range_query": clauses(range_, array=False),
        },
    }


def _query(service: str) -> dict[str, Any]:
    reg = registry(service)
    name = "ContactsWhere" if service == "contacts" else "CompaniesWhere"
    props: dict[str, Any] = {
        "where": _ref(name),
        "order_by": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "required": ["order_by"],
                "additionalProperties": False,
                "properties": {
                    "order_by": {"type": "string", "enum": list(reg.names("sort"))},
                    "order_direction": {"type": "string", "enum": ["asc", "desc"]},
                },
            },
        },
        "page": {"type": ["integer", "null"], "minimum": 1},
        "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_LIMIT},
        "cursor": {**NULL_STR, "description": "next_cursor of the previous page"},
        "select_columns": {
            "type": ["array", "null"],
            "items": {"type": "string", "enum": list(reg.select_columns)},
        },
    }
    if reg.company_select_columns:
        props["company_config"] = {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "populate": {"type": ["boolean", "null"]},
                "select_columns": {
                    "type": ["array", "null"],
                    "items": {"type": "string", "enum": list(reg.company_select_columns)},
                },
            },
        }
    return {"type": "object", "additionalProperties": False, "properties": props}


def _schemas() -> dict[str, Any]:
    contacts, companies = registry("contacts"), registry("companies")
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "details"],
                    "properties": {
                        "code": {"type": "string", "examples": ["invalid_vql"]},
                        "message": {"type": "string"},
                        "details": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["path", "message"],
                                "properties": {
                                    "path": {"type": "string",
                                             "description": "JSON pointer into the request"},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                }
            },
        },
        "ContactsWhere": _where("contacts"),
        "CompaniesWhere": _where("companies"),
        "ContactsQuery": _query("contacts"),
        "CompaniesQuery": _query("companies"),
        "ContactRecord": _record("contacts", contacts.select_columns),
        "CompanyRecord": _record("companies", companies.select_columns),
        "ContactsPage": _page("ContactRecord"),
        "CompaniesPage": _page("CompanyRecord"),
        "Count": {
            "type": "object",
            "required": ["count"],
            "properties": {"count": {"type": "integer", "minimum": 0},
                           "normalized": NORMALIZED},
        },
        "ContactsFacetsRequest": facets_request("contacts", "ContactsWhere"),
        "CompaniesFacetsRequest": facets_request("companies", "CompaniesWhere"),
        "Facets": FACETS,
        "Explain": EXPLAIN,
        "Filters": {
            "type": "object",
            "required": ["service", "filters"],
            "properties": {
                "service": {"type": "string", "enum": list(SERVICES)},
                "filters": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["key", "label", "type", "value_type", "search_types",
                                     "fuzzy", "sortable", "has_values", "facetable"],
                        "properties": {
                            "key": {"type": "string"},
                            "label": {"type": "string"},
                            "type": {"type": "string", "enum": ["text", "keyword", "range"]},
                            "value_type": {"type": "string",
                                           "enum": ["string", "number", "date"]},
                            "search_types": {
                                "type": "array",
                                "items": {"type": "string",
                                          "enum": ["exact", "shuffle", "substring"]},
                                "description": "the search_type values text_matches take on "
                                               "this field; substring only on the fields with "
                                               "an n-gram sub-field (names, emails, titles, "
                                               "domains); elsewhere it is a 400",
                            },
                            "fuzzy": {"type": "boolean"},
                            "sortable": {"type": "boolean"},
                            "has_values": {"type": "boolean"},
                            "facetable": {"type": "boolean"},
                            "values": {
                                "type": "array", "items": {"type": "string"},
                                "description": "present on closed fields only: every value "
                                               "keyword_match allows (others are a 400)",
                            },
                        },
                    },
                },
            },
        },
        "FilterValuesRequest": {
            "type": "object",
            "required": ["filter_key"],
            "additionalProperties": False,
            "properties": {
                "filter_key": {"type": "string"},
                "search_text": {"type": ["string", "null"], "maxLength": MAX_TEXT},
                "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_VALUES_LIMIT},
                "where": {"type": ["object", "null"],
                          "description": "a VQL where of the service"},
            },
        },
        "FilterValues": {
            "type": "object",
            "required": ["filter_key", "data"],
            "properties": {
                "filter_key": {"type": "string"},
                "normalized": NORMALIZED,
                "data": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["value", "count"],
                        "properties": {"value": {"type": "string"},
                                       "count": {"type": "integer", "minimum": 0}},
                    },
                },
            },
        },
        "UploadUrl": {
            "type": "object",
            "required": ["url", "key", "method", "expires_in"],
            "properties": {
                "url": {"type": "string"},
                "key": {"type": "string"},
                "method": {"type": "string", "enum": ["PUT"]},
                "expires_in": {"type": "integer"},
            },
        },
        "Uploaded": {
            "type": "object",
            "required": ["key", "size"],
            "properties": {"key": {"type": "string"}, "size": {"type": "integer"}},
        },
        "JobRequest": {
            "type": "object",
            "required": ["file_key"],
            "additionalProperties": False,
            "properties": {"file_key": {"type": "string", "minLength": 1}},
        },
        "Job": {
            "type": "object",
            "required": ["job_id", "status", "file_key"],
            "properties": {
                "job_id": {"type": "string"},
                "status": {"type": "string", "enum": list(JOB_STATES)},
                "file_key": {"type": "string"},
                "rows_read": NULL_INT,
                "rows_loaded": NULL_INT,
                "rows_rejected": NULL_INT,
                "created_at": NULL_STR,
                "started_at": NULL_STR,
                "finished_at": NULL_STR,
                "error": NULL_STR,
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "checks"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "degraded"]},
                "checks": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["status"],
                        "properties": {
                            "status": {"type": "string", "enum": ["ok", "down"]},
                            "backend": {"type": "string"},
                            "ms": {"type": "number"},
                            "reason": {"type": "string"},
                        },
                    },
                },
            },
        },
    }


def _page(record: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "total", "page", "limit", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": _ref(record)},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            "next_cursor": NULL_STR,
            "normalized": NORMALIZED,
        },
    }


# Present only when a load rule changed a value of the request (README: Query values mean
# what loaded values mean).
NORMALIZED: dict[str, Any] = {
    "type": "array",
    "description": "the request's values that the load rules changed, as understood",
    "items": {
        "type": "object",
        "required": ["path", "from", "to"],
        "properties": {
            "path": {"type": "string", "description": "JSON pointer to the value"},
            "from": {"type": "string"},
            "to": {"oneOf": [{"type": "string"}, {"type": "integer"},
                             {"type": "array", "items": {"type": "string"}}]},
        },
    },
}


RATE_HEADERS = {
    "X-RateLimit-Limit": {"$ref": "#/components/headers/X-RateLimit-Limit"},
    "X-RateLimit-Remaining": {"$ref": "#/components/headers/X-RateLimit-Remaining"},
    "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"},
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": RATE_HEADERS,
        "content": {"application/json": {"schema": _ref(schema)}},
    }


def _errors(*statuses: int) -> dict[str, Any]:
    words = {
        400: "invalid request (invalid_json, invalid_vql, invalid_request)",
        401: "missing or invalid X-API-Key",
        403: "invalid or expired signed URL (upload or download)",
        404: "no such resource",
        413: "request body over its limit",
        429: "rate limit exceeded; see Retry-After",
        503: "a backend is unavailable (backend_unavailable), the search index is missing "
        "(index_missing) or a backend refuses the configuration (backend_misconfigured)",
        504: "a backend timed out",
    }
    out = {str(s): _json("Error", words[s]) for s in statuses}
    out["default"] = _json("Error", "any other error, in the same shape")
    return out


COMMON = (401, 413, 429, 503, 504)


def _post(summary: str, body: str, answer: str, ok: str = "200", *more: int) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref(body)}}},
            "responses": {ok: _json(answer, summary), **_errors(400, *more, *COMMON)},
        }
    }


def openapi_document() -> dict[str, Any]:
    service_param = {
        "name": "service", "in": "path", "required": True,
        "schema": {"type": "string", "enum": list(SERVICES)},
    }
    paths: dict[str, Any] = {
        "/contacts/filter": _post("Filter contacts with VQL", "ContactsQuery", "ContactsPage"),
        "/contacts/count": _post("Count contacts matching a VQL where", "ContactsQuery", "Count"),
        "/companies/filter": _post("Filter companies with VQL", "CompaniesQuery",
                                   "CompaniesPage"),
        "/companies/count": _post("Count companies matching a VQL where", "CompaniesQuery",
                                  "Count"),
        "/contacts/facets": _post("Counts per value, range or date bucket of contacts",
                                  "ContactsFacetsRequest", "Facets"),
        "/companies/facets": _post("Counts per value, range or date bucket of companies",
                                   "CompaniesFacetsRequest", "Facets"),
        "/contacts/explain": _post("What each condition of a contacts query does to the total",
                                   "ContactsQuery", "Explain"),
        "/companies/explain": _post("What each condition of a companies query does to the "
                                    "total", "CompaniesQuery", "Explain"),
        "/common/filters/{service}": {
            "get": {
                "summary": "The filterable fields of a service",
                "parameters": [service_param],
                "responses": {"200": _json("Filters", "the field registry"),
                              **_errors(404, *COMMON)},
            }
        },
        "/common/filters/{service}/data": {
            "post": {
                **_post("Distinct values of a keyword field, most frequent first",
                        "FilterValuesRequest", "FilterValues", "200", 404)["post"],
                "parameters": [service_param],
            }
        },
        "/common/upload-url": {
            "get": {
                "summary": "A URL to PUT a CSV file into the landing zone",
                "parameters": [{"name": "filename", "in": "query", "required": True,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
                "responses": {"200": _json("UploadUrl", "where to PUT the file"),
                              **_errors(400, *COMMON)},
            }
        },
        "/common/uploads/{key}": {
            "put": {
                "summary": "Embedded profile: upload to a URL handed out by upload-url",
                "description": "Authorized by the URL's expires and signature, like an S3 "
                "presigned URL (no X-API-Key needed). 404 on the S3 profile.",
                "security": [],
                "parameters": [
                    {"name": "key", "in": "path", "required": True,
                     "schema": {"type": "string"}},
                    {"name": "expires", "in": "query", "required": True,
                     "schema": {"type": "string"}},
                    {"name": "signature", "in": "query", "required": True,
                     "schema": {"type": "string"}},
                ],
                "requestBody": {"required": True, "content": {
                    "application/octet-stream": {"schema": {"type": "string",
                                                            "format": "binary"}},
                    "text/csv": {"schema": {"type": "string"}},
                }},
                "responses": {"201": _json("Uploaded", "stored in the landing folder"),
                              **_errors(403, 404, 413, 429)},
            }
        },
        "/common/jobs": _post("Load a landed file through Dagster", "JobRequest", "Job", "202",
                              404),
        "/common/jobs/{job_id}": {
            "get": {
                "summary": "The state of a load",
                "parameters": [{"name": "job_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": _json("Job", "the job"), **_errors(404, *COMMON)},
            }
        },
        **export_paths(_post, _json, _errors, COMMON),
        "/health": {
            "get": {
                "summary": "Checks of each backend (no key needed)",
                "security": [],
                "responses": {"200": _json("Health", "ok or degraded"), **_errors(429)},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {
                    "200": {"description": "OpenAPI 3.1", "headers": RATE_HEADERS,
                            "content": {"application/json": {"schema": {"type": "object"}}}},
                    **_errors(*COMMON),
                },
            }
        },
    }
    for service in SERVICES:  # answers that name the data they saw
        for action in ("filter", "count", "facets"):
            ok = paths[f"/{service}/{action}"]["post"]["responses"]["200"]
            ok["headers"] = {**ok["headers"], "X-Dataset-Version":
                             {"$ref": "#/components/headers/X-Dataset-Version"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Connectra API",
            "version": "1.0.0",
            "description": "Contacts and companies queried with VQL; uploads and loads.",
        },
        "servers": [{"url": "/"}],
        "security": [{"ApiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header",
                                           "name": "X-API-Key"}},
            "schemas": {**_schemas(), **export_schemas(_query)},
            "headers": {
                **VERSION_HEADER,
                "X-RateLimit-Limit": {"description": "requests allowed per minute",
                                      "schema": {"type": "integer"}},
                "X-RateLimit-Remaining": {"description": "requests left in the bucket now",
                                          "schema": {"type": "integer"}},
                "X-Request-Id": {"description": "the request's id, as logged",
                                 "schema": {"type": "string"}},
            },
        },
    }

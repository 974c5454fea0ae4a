"""VQL, Connectra's JSON query language: wire model, validation, field registry, compilers.

Pure: no I/O, nothing of ours imported. A request is parsed into an immutable tree
(:func:`parse_query`), which compiles to the search-engine DSL (:func:`compile_search`)
or to SQL for DuckDB / PostgreSQL (:func:`compile_sql`). Paging past page x limit = 10,000
goes through opaque cursors (:class:`CursorCodec`).
"""

from __future__ import annotations

from vql.cursor import CursorCodec
from vql.cursor_values import sort_values_from_hit, sort_values_from_row
from vql.errors import CursorError, ErrorDetail, VQLError, VQLParseError, VQLUnsupportedError
from vql.mapping import SubstringMode, index_body, search_path, substring_mode_of, values_path
from vql.nodes import (
    CompanyConfig,
    ExactMatch,
    KeywordMatch,
    Normalized,
    Query,
    RangeMatch,
    ShuffleMatch,
    Sort,
    SortKey,
    SortValues,
    SubstringMatch,
    Where,
)
from vql.normalizing import ValueRules
from vql.ordering import effective_sort, query_sort
from vql.parser import parse_query, parse_where
from vql.registry import REGISTRY, Field, ServiceRegistry, filters_payload, registry
from vql.search import compile_search, compile_search_where
from vql.sql import compile_sql, compile_sql_where
from vql.sql_dialects import DuckDBDialect, to_duckdb, to_postgres
from vql.values import (
    ValuesRequest,
    compile_search_values,
    compile_sql_values,
    parse_values_request,
)

__all__ = [
    "REGISTRY",
    "CompanyConfig",
    "CursorCodec",
    "CursorError",
    "DuckDBDialect",
    "ErrorDetail",
    "ExactMatch",
    "Field",
    "KeywordMatch",
    "Normalized",
    "Query",
    "RangeMatch",
    "ServiceRegistry",
    "ShuffleMatch",
    "Sort",
    "SortKey",
    "SortValues",
    "SubstringMatch",
    "VQLError",
    "VQLParseError",
    "VQLUnsupportedError",
    "ValueRules",
    "ValuesRequest",
    "Where",
    "compile_search",
    "compile_search_values",
    "compile_search_where",
    "compile_sql",
    "compile_sql_values",
    "compile_sql_where",
    "effective_sort",
    "filters_payload",
    "index_body",
    "parse_query",
    "parse_values_request",
    "parse_where",
    "query_sort",
    "registry",
    "search_path",
    "substring_mode_of",
    "SubstringMode",
    "sort_values_from_hit",
    "sort_values_from_row",
    "to_duckdb",
    "to_postgres",
    "values_path",
]

"""The search store on OpenSearch (opensearch-py) or Elasticsearch (elasticsearch-py).

`make_search_store(settings)` is the entry point; the engine is detected from the server
unless settings.engine names it.
"""

from __future__ import annotations

from stores.search.bulk import BulkOptions
from stores.search.dialect import Dialect, ElasticsearchDialect, OpenSearchDialect
from stores.search.indices import INDEX_VERSION, alias_name, index_name
from stores.search.store import SearchEngineStore, make_search_store

__all__ = [
    "INDEX_VERSION",
    "BulkOptions",
    "Dialect",
    "ElasticsearchDialect",
    "OpenSearchDialect",
    "SearchEngineStore",
    "alias_name",
    "index_name",
    "make_search_store",
]

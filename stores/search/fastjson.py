"""opensearch-py's JSON serializer with orjson reading the answers.

A load's `_bulk` answers carry a status per document (stores/search/bulk.py: FILTER_PATH),
and decoding them with the standard library was ~5% of a loader's CPU samples (BENCHMARKS.md,
17.2); orjson reads the same JSON into the same Python values several times faster. Requests
are still written by opensearch-py's own encoder.
"""

from __future__ import annotations

from typing import Any

import orjson
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer


class _OrjsonSerializer(JSONSerializer):  # type: ignore[misc]
    def loads(self, s: str) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(s, exc) from exc


def orjson_serializer() -> JSONSerializer:
    return _OrjsonSerializer()

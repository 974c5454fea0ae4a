"""A search node spoken to over one keep-alive HTTP connection, for the side experiments
that manage their own indices (bench.mapping, bench.substring_queries)."""

from __future__ import annotations

import http.client
import json
from typing import Any


class Node:
    def __init__(self, host: str, port: int, timeout: float = 1800) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def call(self, method: str, path: str, body: Any = None, ndjson: bool = False) -> Any:
        """The answer's JSON; a DELETE of what is not there is not an error."""
        data = body if isinstance(body, bytes) else (
            None if body is None else json.dumps(body).encode())  # fmt: skip
        kind = "application/x-ndjson" if ndjson else "application/json"
        self.connection.request(method, path, body=data, headers={"Content-Type": kind})
        response = self.connection.getresponse()
        answer = response.read()
        if response.status >= 300 and not (method == "DELETE" and response.status == 404):
            raise RuntimeError(f"{method} {path}: {response.status} {answer[:300]!r}")
        return json.loads(answer) if answer else None

    def segment_bytes(self, indices: str) -> int:
        """The bytes of the indices' live segments (files of merged-away segments that a
        reader still holds open are not the index's size)."""
        rows = self.call("GET", f"/_cat/segments/{indices}?format=json&bytes=b&h=size")
        return sum(int(row["size"]) for row in rows)

    def close(self) -> None:
        self.connection.close()

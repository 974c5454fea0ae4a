"""api.app.json_bytes: what every JSON answer is written with."""

from __future__ import annotations

import json

from api.app import json_bytes


def test_answers_read_back_as_the_standard_library_wrote_them() -> None:
    media = {"data": [{"id": "a", "name": "Zoë 東京", "n": 3, "x": 1.5, "l": ["a"], "z": None}],
             "total": 1, "next_cursor": None, 7: "int key"}
    assert json.loads(json_bytes(media)) == json.loads(json.dumps(media, ensure_ascii=False))


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    huge = {"normalized": [{"value": 10**30}]}  # beyond 64 bits
    assert json.loads(json_bytes(huge)) == huge

"""The mappings indices were made with by earlier versions, written out (not derived from
today's vql.mapping, which moves on): the drift and migrate tests build indices of them.

- before issue 17.1: every text field with the words, a lowercase ``keyword`` sub-field and
  an ``ngram`` sub-field; every plain field indexed, with doc values;
- issue 17.1: the same, with the ``ngram`` sub-field only on the fields that take substring.
"""

from __future__ import annotations

from typing import Any

from vql.registry import Field, registry

KEYWORD: dict[str, Any] = {"type": "keyword", "normalizer": "vql_lowercase", "ignore_above": 512}
NGRAM: dict[str, Any] = {"type": "text", "analyzer": "vql_trigram", "position_increment_gap": 100}


def _field(field: Field, ngram: bool) -> dict[str, Any]:
    if field.analyzed:
        fields = {"keyword": dict(KEYWORD), **({"ngram": dict(NGRAM)} if ngram else {})}
        return {"type": "text", "analyzer": "standard", "position_increment_gap": 100,
                "fields": fields}
    if field.data_type == "int":
        return {"type": "integer" if field.int_bits == 32 else "long"}
    return {"type": "date"} if field.data_type == "date" else dict(KEYWORD)


def properties_before_17_1(service: str) -> dict[str, Any]:
    return {f.name: _field(f, ngram=True) for f in registry(service)}


def properties_17_1(service: str) -> dict[str, Any]:
    return {f.name: _field(f, ngram=f.substring) for f in registry(service)}

"""Search index layout: the one place that names index fields and sub-fields.

The stores create indices with :func:`index_body`; the search compiler asks
:func:`search_path` which (sub-)field serves a kind of condition. Both read the registry,
so a field's mapping and the way it is queried cannot drift apart.

The index holds what the registry's queries read, and only that (issue 17: every part of
the mapping is work the node does for every document of every load). Layout (checked on
OpenSearch 2.19 and Elasticsearch 8.15; the n-gram parts come from the analysis-common
module every distribution bundles):

- text fields: ``text`` with the ``standard`` analyzer (word search: exact and shuffle),
  plus the sub-field ``keyword`` (lowercase normalizer, ``ignore_above`` 512) where a query
  reads it (keyword filters, sorting; :func:`keyword_read`) and, on the fields that take
  substring searches only (``Field.substring``), ``ngram`` (trigrams of the lowercased
  value, spaces and punctuation included; substring search as a phrase of consecutive
  trigrams; the costliest part of indexing text, hence not on every text field). ``ngram``
  is left out on an engine without the ``ngram`` tokenizer (a node without
  analysis-common): substring search there is a ``wildcard`` query on the ``keyword``
  sub-field (:data:`SubstringMode`), which those fields then keep. The words of a text
  field that takes no text search are not indexed (``index: false``);
- keyword fields and lists of keywords: ``keyword`` with the lowercase normalizer;
- numbers: ``long`` or ``integer``; dates: ``date`` (millisecond precision);
- a field no query reads (no text search, keyword filter, sort or range, and not the id
  every order ends with) is kept in the document (``_source``: the lineage merge and
  ``get_documents`` read it) but not indexed: ``index: false`` and ``doc_values: false``.
  Making such a field queryable changes its mapping: :func:`mapping_drift` reports it and
  ``connectra migrate`` rebuilds.

The mapping is ``dynamic: strict``: a document with a field not listed here is refused
rather than silently indexed with a guessed type.
"""

from __future__ import annotations

from typing import Any, Literal

from vql.ordering import ID_KEY
from vql.registry import Field, registry

PathKind = Literal["text", "keyword", "substring", "range", "sort"]
# How an index answers substring conditions: trigram phrases on its ``ngram`` sub-fields, or
# (an index made without them) wildcard patterns on the lowercase ``keyword`` sub-fields.
SubstringMode = Literal["ngram", "wildcard"]

NORMALIZER = "vql_lowercase"
TRIGRAM = "vql_trigram"
KEYWORD_SUBFIELD = "keyword"
NGRAM_SUBFIELD = "ngram"
IGNORE_ABOVE = 512
LIST_POSITION_GAP = 100  # phrases (slop <= 50) never span two list elements

TRIGRAM_TOKENIZER: dict[str, Any] = {
    "type": "ngram", "min_gram": 3, "max_gram": 3, "token_chars": []
}
# The lowercase normalizer is core; the ngram tokenizer is analysis-common's.
NORMALIZER_ANALYSIS: dict[str, Any] = {
    "normalizer": {NORMALIZER: {"type": "custom", "filter": ["lowercase"]}},
}
ANALYSIS: dict[str, Any] = {
    **NORMALIZER_ANALYSIS,
    "tokenizer": {TRIGRAM: TRIGRAM_TOKENIZER},
    "analyzer": {
        TRIGRAM: {"type": "custom", "tokenizer": TRIGRAM, "filter": ["lowercase"]},
    },
}


def keyword_read(field: Field, substring: SubstringMode = "ngram") -> bool:
    """Whether a query reads the field's keyword form (the field itself, or the ``keyword``
    sub-field of a text field): keyword filters (and the value lists, facets and explain
    probes over them), sorting, ranges (numbers and dates), the id (the last key of every
    order), and, on an index without n-grams, substring as a wildcard pattern."""
    return (
        field.keyword
        or field.sortable
        or field.range
        or field.name == ID_KEY.field
        or (substring == "wildcard" and field.substring)
    )


# A field no query reads: kept in _source, neither indexed nor given doc values.
STORED_ONLY: dict[str, Any] = {"index": False, "doc_values": False}


def field_mapping(field: Field, substring: SubstringMode = "ngram") -> dict[str, Any]:
    """The mapping of one registry field (``wildcard``: without the n-gram sub-field)."""
    keyword: dict[str, Any] = {
        "type": "keyword", "normalizer": NORMALIZER, "ignore_above": IGNORE_ABOVE
    }
    read = keyword_read(field, substring)
    if field.analyzed:
        subfields: dict[str, Any] = {KEYWORD_SUBFIELD: keyword} if read else {}
        if substring == "ngram" and field.substring:
            subfields[NGRAM_SUBFIELD] = {
                "type": "text",
                "analyzer": TRIGRAM,
                "position_increment_gap": LIST_POSITION_GAP,
            }
        words: dict[str, Any] = (
            {"type": "text", "analyzer": "standard", "position_increment_gap": LIST_POSITION_GAP}
            if field.text
            else {"type": "text", "index": False}
        )
        return {**words, "fields": subfields} if subfields else words
    if field.data_type == "int":
        plain: dict[str, Any] = {"type": "integer" if field.int_bits == 32 else "long"}
    elif field.data_type == "date":
        plain = {"type": "date"}
    else:
        plain = keyword
    return plain if read else {**plain, **STORED_ONLY}


def index_body(service: str, replicas: int, substring: SubstringMode = "ngram") -> dict[str, Any]:
    """Settings and mappings of a new index for ``service`` (number of replicas given by
    the caller: 0 on a single node; ``wildcard`` on an engine without the ngram tokenizer)."""
    properties = {f.name: field_mapping(f, substring) for f in registry(service)}
    return {
        "settings": {
            "index": {"number_of_replicas": replicas, "max_result_window": 10_000},
            "analysis": ANALYSIS if substring == "ngram" else NORMALIZER_ANALYSIS,
        },
        "mappings": {"dynamic": "strict", "properties": properties},
    }


def substring_mode_of(service: str, properties: dict[str, Any]) -> SubstringMode:
    """How an existing index (its mapping's ``properties``) answers substring conditions."""
    for field in registry(service):
        if field.substring:
            subfields = properties.get(field.name, {}).get("fields", {})
            return "ngram" if NGRAM_SUBFIELD in subfields else "wildcard"
    return "ngram"


def mapping_drift(
    service: str, properties: dict[str, Any], substring: SubstringMode
) -> tuple[str, ...]:
    """How an existing index (its mapping's ``properties``) differs from the one a new index
    of ``service`` gets: one line per registry field whose type or sub-fields differ (an
    n-gram sub-field gained or lost, say), empty when none does. Fields the index lacks that
    need no analyzer are not drift: ``put_mapping`` adds them in place."""
    wanted = index_body(service, 0, substring)["mappings"]["properties"]
    drift = []
    for field in registry(service):
        have = properties.get(field.name)
        if have is None and not field.analyzed:
            continue
        was, now = _shape(have), _shape(wanted[field.name])
        if was != now:
            drift.append(f"{field.name}: {was} -> {now}")
    return tuple(drift)


# Mapping parameters that change what is indexed, as drift lines name them when off.
_OFF = {"index": "not indexed", "doc_values": "no doc values", "norms": "no norms"}


def _off(mapping: dict[str, Any]) -> str:
    """`` (not indexed, no doc values)``: what of a (sub-)field is switched off, if any."""
    off = [said for key, said in _OFF.items() if mapping.get(key) in (False, "false")]
    return f" ({', '.join(off)})" if off else ""


def _shape(mapping: dict[str, Any] | None) -> str:
    """A field's type, what of it is off, and its sub-fields, as ``text + keyword, ngram``
    or ``keyword (not indexed, no doc values)`` (``missing``: none)."""
    if mapping is None:
        return "missing"
    kind = str(mapping.get("type", "object")) + _off(mapping)
    subfields = mapping.get("fields", {})
    named = [name + _off(sub) for name, sub in sorted(subfields.items())]
    return f"{kind} + {', '.join(named)}" if named else kind


def search_path(service: str, field_name: str, kind: PathKind) -> str:
    """The index path a condition of ``kind`` on ``field_name`` queries.

    ``text``: the analyzed field (exact / shuffle); ``substring``: its n-gram sub-field;
    ``keyword`` and ``sort``: the lowercase keyword (sub-)field for strings, the field
    itself for numbers and dates; ``range``: the field itself.
    """
    field = registry(service)[field_name]
    if kind == "text":
        return field.name
    if kind == "substring":
        if not field.substring:  # the parser refuses these: a compiler bug, not bad input
            raise ValueError(f"{service} field {field.name!r} takes no substring search")
        return f"{field.name}.{NGRAM_SUBFIELD}"
    if kind in ("keyword", "sort") and field.analyzed:
        return f"{field.name}.{KEYWORD_SUBFIELD}"
    return field.name


def values_path(service: str, field_name: str) -> str:
    """Where distinct values of a keyword field are aggregated (filter-values endpoint)."""
    return search_path(service, field_name, "keyword")

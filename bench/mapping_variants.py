"""The index bodies `python -m bench.mapping` compares, by name.

``before-17.1`` (an n-gram sub-field on every text field) and ``lean-17.1`` (n-grams on the
substring fields only, every other part of the mapping as before: a lowercase ``keyword``
sub-field on every text field, every plain field indexed with doc values) are written out
in tests/old_mappings.py, so they stay measurable after the mapping that ships moves on.
Each other variant changes one thing in ``lean-17.1``; ``shipped`` is what
:func:`vql.mapping.index_body` makes today.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from tests.old_mappings import properties_17_1, properties_before_17_1
from vql.mapping import (
    ANALYSIS,
    IGNORE_ABOVE,
    KEYWORD_SUBFIELD,
    NGRAM_SUBFIELD,
    NORMALIZER,
    NORMALIZER_ANALYSIS,
    index_body,
    keyword_read,
)
from vql.registry import Field, registry

Body = dict[str, Any]


def _body(service: str, properties: Callable[[str], dict[str, Any]]) -> Body:
    return {"settings": {"index": {"number_of_replicas": 0, "max_result_window": 10_000},
                         "analysis": copy.deepcopy(ANALYSIS)},
            "mappings": {"dynamic": "strict", "properties": properties(service)}}


def before_17_1(service: str) -> Body:
    return _body(service, properties_before_17_1)


def lean_17_1(service: str) -> Body:
    return _body(service, properties_17_1)


def _unqueried(field: Field) -> bool:
    """No query reads the field's keyword part (or, not analyzed, the field at all)."""
    return not keyword_read(field)


def no_norms(service: str) -> Body:
    """norms: false on every text field and its n-gram sub-field (no length normalization
    of relevance)."""
    body = lean_17_1(service)
    for mapping in body["mappings"]["properties"].values():
        if mapping["type"] == "text":
            mapping["norms"] = False
            if NGRAM_SUBFIELD in mapping["fields"]:
                mapping["fields"][NGRAM_SUBFIELD]["norms"] = False
    return body


def no_doc_values(service: str) -> Body:
    """doc_values: false on the keyword parts nothing sorts or aggregates (the keyword
    sub-field of full_name, title, website, company_city, company_state; phone,
    linkedin_url; employees_count_min/max)."""
    body = lean_17_1(service)
    properties = body["mappings"]["properties"]
    for field in registry(service):
        if _unqueried(field):
            mapping = properties[field.name]
            target = mapping["fields"][KEYWORD_SUBFIELD] if field.analyzed else mapping
            target["doc_values"] = False
    return body


def unqueried_off(service: str) -> Body:
    """What no query reads is not indexed: the keyword sub-field dropped where nothing
    filters or sorts on it, plain fields nothing queries kept in _source only (index and
    doc values off), and the words of text fields without text search not indexed."""
    body = lean_17_1(service)
    properties = body["mappings"]["properties"]
    for field in registry(service):
        mapping = properties[field.name]
        if field.analyzed:
            if _unqueried(field):
                del mapping["fields"][KEYWORD_SUBFIELD]
                if not mapping["fields"]:
                    del mapping["fields"]
            if not field.text:
                mapping["index"] = False
                del mapping["position_increment_gap"]
        elif _unqueried(field):
            mapping.update(index=False, doc_values=False)
    return body


def id_sorted_only(service: str) -> Body:
    """The shipped mapping with the id kept for sorting only (doc values, no terms: no
    query filters on the id field; the ids query reads _id)."""
    body = index_body(service, 0)
    body["mappings"]["properties"]["id"]["index"] = False
    return body


def _substring_subfields(service: str, change: Callable[[dict[str, Any]], None]) -> Body:
    """The shipped mapping with ``change`` applied to the ``fields`` of each substring field."""
    body = index_body(service, 0)
    properties = body["mappings"]["properties"]
    for field in registry(service):
        if field.substring:
            change(properties[field.name]["fields"])
    return body


def ngram_no_positions(service: str) -> Body:
    """Shipped, the n-gram sub-field with ``index_options: docs`` (its trigrams without
    frequencies or positions: a substring could no longer be a phrase of them)."""
    def change(fields: dict[str, Any]) -> None:
        fields[NGRAM_SUBFIELD]["index_options"] = "docs"
        del fields[NGRAM_SUBFIELD]["position_increment_gap"]  # refused without positions
    return _substring_subfields(service, change)


def wildcard_field(doc_values: bool) -> Callable[[str], Body]:
    """Shipped, the n-gram sub-field replaced by a ``wildcard`` sub-field (OpenSearch >= 2.15:
    trigrams with anchors, no positions; a wildcard query verifies each candidate against
    the doc values, or without them against ``_source``), lowercased by the normalizer."""
    def change(fields: dict[str, Any]) -> None:
        del fields[NGRAM_SUBFIELD]
        fields[WILDCARD_SUBFIELD] = {"type": "wildcard", "normalizer": NORMALIZER,
                                     "doc_values": doc_values}

    def body(service: str) -> Body:
        made = _substring_subfields(service, change)
        made["settings"]["analysis"] = copy.deepcopy(NORMALIZER_ANALYSIS)
        return made
    return body


def company_fields_by_keyword(service: str) -> Body:
    """Shipped, but the contacts' company_name and company_domain (values repeated over many
    contacts) without the n-gram sub-field: substring there would be ``*needle*`` on the
    keyword sub-field, whose terms dictionary holds the companies, not the contacts."""
    body = index_body(service, 0)
    if service == "contacts":
        for name in ("company_name", "company_domain"):
            fields = body["mappings"]["properties"][name]["fields"]
            del fields[NGRAM_SUBFIELD]
            fields.setdefault(KEYWORD_SUBFIELD, {"type": "keyword", "normalizer": NORMALIZER,
                                                 "ignore_above": IGNORE_ABOVE})
    return body


def with_settings(**settings: Any) -> Callable[[str], Body]:
    def body(service: str) -> Body:
        made = lean_17_1(service)
        made["settings"]["index"].update(settings)
        return made
    return body


VARIANTS: dict[str, tuple[str, Callable[[str], Body]]] = {
    "before": ("before 17.1 (n-grams on every text field)", before_17_1),
    "lean": ("lean 17.1 (n-grams on the substring fields)", lean_17_1),
    "norms": ("lean + norms: false on text", no_norms),
    "docvalues": ("lean + doc_values: false where unqueried", no_doc_values),
    "unqueried": ("lean + unqueried parts not indexed", unqueried_off),
    "refresh30": ("lean + refresh_interval 30s", with_settings(refresh_interval="30s")),
    "refresh1": ("lean + refresh_interval 1s (searched)", with_settings(refresh_interval="1s")),
    "merge": ("lean + segments_per_tier 25",
              with_settings(**{"merge.policy.segments_per_tier": 25})),
    "shipped": ("shipped (vql.mapping.index_body)", lambda service: index_body(service, 0)),
    "idsort": ("shipped + id for sorting only", id_sorted_only),
    "ngram-nopos": ("shipped, n-grams without positions (docs)", ngram_no_positions),
    "wildcard-type": ("shipped, wildcard sub-field for n-grams", wildcard_field(False)),
    "wildcard-type-dv": ("shipped, wildcard sub-field + doc values", wildcard_field(True)),
    "company-keyword": ("shipped, contacts' company_name/domain by keyword",
                        company_fields_by_keyword),
    "keyword-wildcard": ("shipped, no n-grams (keyword + *needle*)",
                         lambda service: index_body(service, 0, "wildcard")),
}
# The sub-field name the wildcard-type variants give the substring fields.
WILDCARD_SUBFIELD = "wildcard"

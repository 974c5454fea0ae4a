"""Golden tests of VQL's third target: the plan the embedded tantivy index runs."""

from __future__ import annotations

from typing import Any

import pytest

from vql import CursorCodec, parse_query, parse_where
from vql.nodes import SortKey, SortValues
from vql.tantivy_plan import (
    PagePlan,
    TantivyFallback,
    compile_tantivy_page,
    compile_tantivy_where,
    index_fields,
    substring_terms,
)


def plan(where: dict[str, Any], service: str = "contacts") -> Any:
    return compile_tantivy_where(parse_where(service, where))


def test_the_design_example_compiles_to_one_boolean_tree() -> None:
    where = {
        "text_matches": {
            "must": [
                {
                    "filter_key": "title",
                    "text_value": "Software Engineer",
                    "search_type": "shuffle",
                    "fuzzy": True,
                }
            ]
        },
        "keyword_match": {
            "must": {"seniority": ["Senior", "lead"]},
            "must_not": {"country": "united states"},
        },
        "range_query": {"must": {"company_employees_count": {"gte": 100, "lt": 1000}}},
    }
    assert plan(where) == (
        "bool",
        (
            ("words", "title", "Software Engineer", "and", True),
            ("terms", "seniority__kw", ("senior", "lead")),
            ("range", "company_employees_count", 100, 1000, True, False),
        ),
        (("terms", "country__kw", ("united states",)),),
        (),
    )


def test_text_kinds_keep_their_text_for_the_index_analyzer() -> None:
    where = {
        "text_matches": {
            "must": [
                {"filter_key": "title", "text_value": "VP Sales", "search_type": "exact", "slop": 2}
            ],
            "should": [
                {"filter_key": "email", "text_value": "LogIc", "search_type": "substring"},
                {
                    "filter_key": "city",
                    "text_value": "new york",
                    "search_type": "shuffle",
                    "operator": "or",
                },
            ],
        }
    }
    assert plan(where) == (
        "bool",
        (("phrase", "title", "VP Sales", 2),),
        (),
        (("substring", "email", "logic"), ("words", "city", "new york", "or", False)),
    )


def test_dates_are_epoch_milliseconds_and_strict_bounds_exclusive() -> None:
    where = {"range_query": {"must": {"created_at": {"gt": "2024-01-01T00:00:00Z"}}}}
    assert plan(where) == (
        "bool",
        (("range", "created_at", 1704067200000, None, False, True),),
        (),
        (),
    )
    assert plan({}) == ("all",)


def test_substring_is_a_phrase_of_chunk_patterns_per_start_in_a_chunk() -> None:
    assert substring_terms("logic") == [
        ["log", "ic(?s:.)*"],
        ["(?s:.){1}lo", "gic"],
        ["(?s:.){2}l", "ogi", "c(?s:.)*"],
    ]
    assert substring_terms("n@x")[0] == ["n\\x{40}x"]  # punctuation escaped


def test_a_page_sorts_by_one_key_then_the_id_as_sql_does() -> None:
    query = parse_query("contacts", {"where": {}, "limit": 10, "page": 3})
    assert compile_tantivy_page(query) == PagePlan(
        where=("all",),
        key=SortKey("created_at", "date", True),
        sort_field="created_at",
        descending=True,
        need=31,
        offset=20,
        after=None,
    )
    named = parse_query("contacts", {"order_by": [{"order_by": "email"}], "limit": 5})
    assert compile_tantivy_page(named).sort_field == "email__kw"


def test_a_cursor_continues_after_its_key_value_and_id() -> None:
    codec = CursorCodec(b"k" * 32)
    first = parse_query("contacts", {"limit": 5})
    keys = (SortKey("created_at", "date", True), SortKey("id", "id", False))
    cursor = codec.encode(first, SortValues("sql", keys, (1700000000000, "abc")))
    query = parse_query("contacts", {"limit": 5, "cursor": cursor}, cursors=codec)
    assert compile_tantivy_page(query).after == (1700000000000, "abc")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"order_by": [{"order_by": "email"}, {"order_by": "created_at"}]}, "order_by"),
        (
            {
                "where": {
                    "text_matches": {
                        "must": [
                            {
                                "filter_key": "industries",
                                "text_value": "software services",
                                "search_type": "exact",
                                "slop": 1,
                            }
                        ]
                    }
                }
            },
            "list field",
        ),
    ],
)
def test_what_the_index_cannot_order_or_match_falls_back_with_a_reason(
    body: dict[str, Any], reason: str
) -> None:
    service = "companies" if "industries" in str(body) else "contacts"
    with pytest.raises(TantivyFallback, match=reason):
        compile_tantivy_page(parse_query(service, body))


def test_every_registry_field_has_its_index_fields() -> None:
    fields = {name: kind for name, kind, _ in index_fields("contacts")}
    assert fields["id"] == "id"
    assert fields["title"] == "words" and fields["title__s"] == "chunks"
    assert fields["seniority__kw"] == "sort" and "seniority" not in fields
    assert fields["departments__kw"] == "kw"
    assert "title__kw" not in fields and "phone__kw" not in fields  # neither filters nor sorts
    assert fields["company_employees_count"] == fields["created_at"] == "int"

"""The field registry, the filters payload it renders and the index mapping derived from it."""

from __future__ import annotations

import pytest

import vql
from vql.mapping import field_mapping

# DESIGN.md section 6, the registry table, verbatim.
TABLE = {
    "contacts": {
        "text": "first_name, last_name, full_name, title, email, city, state, country, "
                "company_name, company_domain",
        "keyword": "first_name, last_name, email, seniority, departments, city, state, country, "
                   "company_id, company_name, company_domain, company_industries, company_country",
        "range": "company_employees_count, company_annual_revenue, company_founded_year, "
                 "created_at, updated_at",
        "sort": "first_name, last_name, email, seniority, country, company_name, "
                "company_employees_count, created_at, updated_at",
    },
    "companies": {
        "text": "name, domain, website, city, state, country, industries, keywords, technologies",
        "keyword": "name, domain, industries, city, state, country, keywords, technologies",
        "range": "employees_count, annual_revenue, founded_year, created_at, updated_at",
        "sort": "name, domain, country, employees_count, annual_revenue, founded_year, "
                "created_at, updated_at",
    },
}


# DESIGN.md section 10: the lineage fields, on both services.
LINEAGE = {"text": "", "keyword": "source_file, load_run", "range": "first_seen, last_seen",
           "sort": "first_seen, last_seen"}


@pytest.mark.parametrize("service", ["contacts", "companies"])
@pytest.mark.parametrize("kind", ["text", "keyword", "range", "sort"])
def test_registry_holds_the_design_table(service: str, kind: str) -> None:
    listed = f"{TABLE[service][kind]}, {LINEAGE[kind]}"
    expected = {name.strip() for name in listed.split(",")} - {""}
    assert set(vql.registry(service).names(kind)) == expected


@pytest.mark.parametrize("service", ["contacts", "companies"])
def test_lineage_is_returnable(service: str) -> None:
    reg = vql.registry(service)
    assert {"source_file", "load_run", "first_seen", "last_seen"} <= set(reg.select_columns)
    assert reg["source_file"].is_list


def test_registry_lookup() -> None:
    assert vql.REGISTRY["contacts"] is vql.registry("contacts")
    assert "company_name" in vql.registry("contacts")
    with pytest.raises(KeyError, match="known: contacts, companies"):
        vql.registry("people")


def test_filters_payload() -> None:
    payload = vql.filters_payload("contacts")
    assert payload["service"] == "contacts"
    by_key = {f["key"]: f for f in payload["filters"]}
    assert by_key["title"] == {
        "key": "title", "label": "Title", "type": "text", "value_type": "string",
        "search_types": ["exact", "shuffle", "substring"], "fuzzy": True, "sortable": False,
        "has_values": False, "facetable": False,
    }
    assert by_key["first_name"]["type"] == "text"
    assert by_key["first_name"]["has_values"] is True  # also a keyword field
    assert by_key["seniority"] == {
        "key": "seniority", "label": "Seniority", "type": "keyword", "value_type": "string",
        "search_types": [], "fuzzy": False, "sortable": True, "has_values": True,
        "facetable": True,
    }
    assert by_key["company_id"]["has_values"] is False  # an identifier
    assert by_key["company_employees_count"]["type"] == "range"
    assert by_key["company_employees_count"]["value_type"] == "number"
    assert by_key["created_at"]["value_type"] == "date"
    assert by_key["created_at"]["facetable"] is True  # ranges and intervals
    assert by_key["company_id"]["facetable"] is False
    # Columns that serve no filter and no sort are not offered.
    assert not {"id", "phone", "linkedin_url", "company_city"} & set(by_key)
    assert by_key["source_file"]["type"] == "keyword" and by_key["source_file"]["has_values"]
    assert by_key["last_seen"]["value_type"] == "date" and by_key["last_seen"]["sortable"]
    assert set(by_key) == {f.name for f in vql.registry("contacts") if f.filter_type}


def test_index_body_contacts() -> None:
    body = vql.index_body("contacts", replicas=0)
    assert body["settings"]["index"]["number_of_replicas"] == 0
    assert body["settings"]["analysis"] == {
        "normalizer": {"vql_lowercase": {"type": "custom", "filter": ["lowercase"]}},
        "tokenizer": {"vql_trigram": {"type": "ngram", "min_gram": 3, "max_gram": 3,
                                      "token_chars": []}},
        "analyzer": {"vql_trigram": {"type": "custom", "tokenizer": "vql_trigram",
                                     "filter": ["lowercase"]}},
    }
    props = body["mappings"]["properties"]
    assert body["mappings"]["dynamic"] == "strict"
    assert set(props) == {f.name for f in vql.registry("contacts")}
    assert props["title"] == {
        "type": "text",
        "analyzer": "standard",
        "position_increment_gap": 100,
        "fields": {
            "keyword": {"type": "keyword", "normalizer": "vql_lowercase", "ignore_above": 512},
            "ngram": {"type": "text", "analyzer": "vql_trigram", "position_increment_gap": 100},
        },
    }
    keyword = {"type": "keyword", "normalizer": "vql_lowercase", "ignore_above": 512}
    for name in ("id", "company_id", "seniority", "departments", "company_industries"):
        assert props[name] == keyword
    assert props["company_employees_count"] == {"type": "long"}
    assert props["company_founded_year"] == {"type": "integer"}
    assert props["created_at"] == {"type": "date"}
    assert props["company_country"]["type"] == "text"


def test_index_body_companies_lists_that_are_searched_are_text() -> None:
    props = vql.index_body("companies", replicas=1)["mappings"]["properties"]
    assert props["industries"]["type"] == "text"
    assert props["industries"]["fields"]["keyword"]["type"] == "keyword"
    assert props["employees_count_min"] == {"type": "long"}
    assert field_mapping(vql.registry("companies")["linkedin_url"])["type"] == "keyword"


@pytest.mark.parametrize(
    ("service", "field", "kind", "path"),
    [
        ("contacts", "title", "text", "title"),
        ("contacts", "title", "substring", "title.ngram"),
        ("contacts", "first_name", "keyword", "first_name.keyword"),
        ("contacts", "first_name", "sort", "first_name.keyword"),
        ("contacts", "seniority", "keyword", "seniority"),
        ("contacts", "seniority", "sort", "seniority"),
        ("contacts", "company_industries", "keyword", "company_industries"),
        ("contacts", "created_at", "sort", "created_at"),
        ("contacts", "company_employees_count", "range", "company_employees_count"),
        ("companies", "industries", "keyword", "industries.keyword"),
    ],
)
def test_search_paths(service: str, field: str, kind: str, path: str) -> None:
    assert vql.search_path(service, field, kind) == path  # type: ignore[arg-type]
    if kind == "keyword":
        assert vql.values_path(service, field) == path


def test_index_body_without_ngram_keeps_everything_core_offers() -> None:
    """An engine without the ngram tokenizer (no analysis-common) gets the same mapping less
    the n-gram sub-fields and the trigram analysis; the lowercase normalizer is core."""
    full = vql.index_body("contacts", replicas=0)
    lean = vql.index_body("contacts", replicas=0, substring="wildcard")
    assert vql.substring_mode_of("contacts", full["mappings"]["properties"]) == "ngram"
    assert lean["settings"]["analysis"] == {
        "normalizer": {"vql_lowercase": {"type": "custom", "filter": ["lowercase"]}}
    }
    props = lean["mappings"]["properties"]
    assert props["title"]["fields"] == {
        "keyword": {"type": "keyword", "normalizer": "vql_lowercase", "ignore_above": 512}
    }
    for name, mapping in full["mappings"]["properties"].items():
        mapping.get("fields", {}).pop("ngram", None)
        assert props[name] == mapping, name
    assert vql.substring_mode_of("contacts", props) == "wildcard"


# Issue 17.1: the fields where a substring search makes sense, and only those.
SUBSTRING = {
    "contacts": {"first_name", "last_name", "full_name", "email", "title", "company_name",
                 "company_domain"},
    "companies": {"name", "domain", "website"},
}


@pytest.mark.parametrize("service", ["contacts", "companies"])
def test_only_the_substring_fields_take_substring_and_get_the_ngram_subfield(
    service: str,
) -> None:
    reg = vql.registry(service)
    assert set(reg.names("substring")) == SUBSTRING[service]
    filters = {f["key"]: f for f in vql.filters_payload(service)["filters"]}
    for name in reg.names("text"):
        expected = ["exact", "shuffle", "substring"] if name in SUBSTRING[service] else [
            "exact", "shuffle"]
        assert filters[name]["search_types"] == expected, name
    props = vql.index_body(service, replicas=0)["mappings"]["properties"]
    with_ngram = {name for name, m in props.items() if "ngram" in m.get("fields", {})}
    assert with_ngram == SUBSTRING[service]
    # every text field keeps its keyword sub-field (keyword filters, sorting, wildcard mode)
    assert all("keyword" in props[f.name]["fields"] for f in reg if f.analyzed)


def test_the_search_compiler_has_no_path_for_a_substring_the_parser_refuses() -> None:
    with pytest.raises(ValueError, match="'city' takes no substring"):
        vql.search_path("contacts", "city", "substring")


def _old_mapping(service: str) -> dict[str, dict]:  # type: ignore[type-arg]
    """The mapping before issue 17.1: the n-gram sub-field on every analyzed field."""
    props = vql.index_body(service, replicas=0)["mappings"]["properties"]
    ngram = props["title" if service == "contacts" else "name"]["fields"]["ngram"]
    for f in vql.registry(service):
        if f.analyzed:
            props[f.name]["fields"]["ngram"] = ngram
    return props


def test_mapping_drift_names_the_fields_that_lose_the_ngram_subfield() -> None:
    from vql.mapping import mapping_drift

    current = vql.index_body("companies", replicas=0)["mappings"]["properties"]
    assert mapping_drift("companies", current, "ngram") == ()
    drift = mapping_drift("companies", _old_mapping("companies"), "ngram")
    assert "city: text + keyword, ngram -> text + keyword" in drift
    assert {line.split(":")[0] for line in drift} == {
        "industries", "city", "state", "country", "keywords", "technologies"}
    # an index made without n-grams (no analysis-common) is what that engine makes anew
    lean = vql.index_body("companies", replicas=0, substring="wildcard")
    assert mapping_drift("companies", lean["mappings"]["properties"], "wildcard") == ()
    # a field that needs no analyzer and is missing is added in place: not drift
    del current["load_run"]
    assert mapping_drift("companies", current, "ngram") == ()
    del current["website"]
    assert mapping_drift("companies", current, "ngram") == (
        "website: missing -> text + keyword, ngram",)

"""The field registry, the filters payload it renders and the index mapping derived from it."""

from __future__ import annotations

import pytest

import vql
from tests.old_mappings import properties_17_1, properties_before_17_1
from vql.mapping import field_mapping, mapping_drift

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
    keyword = {"type": "keyword", "normalizer": "vql_lowercase", "ignore_above": 512}
    ngram = {"type": "text", "analyzer": "vql_trigram", "position_increment_gap": 100}
    words = {"type": "text", "analyzer": "standard", "position_increment_gap": 100}
    # no keyword filter and no sort on title: no keyword sub-field (issue 17)
    assert props["title"] == {**words, "fields": {"ngram": ngram}}
    assert props["first_name"] == {**words, "fields": {"keyword": keyword, "ngram": ngram}}
    assert props["city"] == {**words, "fields": {"keyword": keyword}}
    for name in ("id", "company_id", "seniority", "departments", "company_industries"):
        assert props[name] == keyword
    assert props["company_employees_count"] == {"type": "long"}
    assert props["company_founded_year"] == {"type": "integer"}
    assert props["created_at"] == {"type": "date"}
    # keyword filters only: the words are not indexed
    assert props["company_country"] == {"type": "text", "index": False,
                                        "fields": {"keyword": keyword}}
    # read by no query: kept in the document only
    assert props["company_city"] == {"type": "text", "index": False}
    assert props["phone"] == {**keyword, "index": False, "doc_values": False}


def test_index_body_companies_lists_that_are_searched_are_text() -> None:
    props = vql.index_body("companies", replicas=1)["mappings"]["properties"]
    assert props["industries"]["type"] == "text"
    assert props["industries"]["fields"]["keyword"]["type"] == "keyword"
    assert props["employees_count_min"] == {"type": "long", "index": False, "doc_values": False}
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
    keyword = {"type": "keyword", "normalizer": "vql_lowercase", "ignore_above": 512}
    assert props["title"]["fields"] == {"keyword": keyword}
    for field in vql.registry("contacts"):
        mapping = full["mappings"]["properties"][field.name]
        if field.substring:  # the wildcard pattern reads the keyword sub-field instead
            assert mapping["fields"].pop("ngram")
            mapping["fields"]["keyword"] = keyword
        assert props[field.name] == mapping, field.name
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
    # the keyword sub-field only where keyword filters or sorting read it (issue 17)
    with_keyword = {name for name, m in props.items() if "keyword" in m.get("fields", {})}
    assert with_keyword == {
        f.name for f in reg if f.analyzed and (f.keyword or f.sortable)}


def test_the_search_compiler_has_no_path_for_a_substring_the_parser_refuses() -> None:
    with pytest.raises(ValueError, match="'city' takes no substring"):
        vql.search_path("contacts", "city", "substring")


def test_drift_names_the_fields_that_lose_the_ngram_subfield_since_17_1() -> None:
    current = vql.index_body("companies", replicas=0)["mappings"]["properties"]
    assert mapping_drift("companies", current, "ngram") == ()
    drift = mapping_drift("companies", properties_before_17_1("companies"), "ngram")
    assert "city: text + keyword, ngram -> text + keyword" in drift
    assert {line.split(":")[0] for line in drift} == {
        "industries", "city", "state", "country", "keywords", "technologies",  # 17.1
        "website", "employees_count_min", "employees_count_max", "linkedin_url"}  # 17
    # an index made without n-grams (no analysis-common) is what that engine makes anew
    lean = vql.index_body("companies", replicas=0, substring="wildcard")
    assert mapping_drift("companies", lean["mappings"]["properties"], "wildcard") == ()
    # a field that needs no analyzer and is missing is added in place: not drift
    del current["load_run"]
    assert mapping_drift("companies", current, "ngram") == ()
    del current["website"]
    assert mapping_drift("companies", current, "ngram") == ("website: missing -> text + ngram",)


@pytest.mark.parametrize("service", ["contacts", "companies"])
def test_the_mapping_holds_what_queries_read_and_an_older_one_is_drift(service: str) -> None:
    """Issue 17: the keyword sub-field only where keyword filters or sorting read it, the
    words only of fields that take text searches, and fields no query reads kept in the
    document only; an index of the 17.1 mapping (every part indexed) is drift on exactly
    those fields, so `connectra migrate` rebuilds it."""
    props = vql.index_body(service, replicas=0)["mappings"]["properties"]
    stored_only = {name for name, m in props.items()
                   if m.get("index") is False and "fields" not in m}
    words_off = {name for name, m in props.items() if m["type"] == "text" and "index" in m}
    no_keyword = {name for name, m in props.items()
                  if m["type"] == "text" and "keyword" not in m.get("fields", {})}
    drifted = {line.split(":")[0] for line in
               mapping_drift(service, properties_17_1(service), "ngram")}
    if service == "contacts":
        assert stored_only == {"phone", "linkedin_url", "company_city", "company_state"}
        assert words_off == {"company_city", "company_state", "company_country"}
        assert no_keyword == {"full_name", "title", "company_city", "company_state"}
        assert "company_country: text + keyword -> text (not indexed) + keyword" in \
            mapping_drift(service, properties_17_1(service), "ngram")
    else:
        assert stored_only == {"employees_count_min", "employees_count_max", "linkedin_url"}
        assert words_off == set()
        assert no_keyword == {"website"}
    assert drifted == stored_only | words_off | no_keyword
    # every field a filter, a sort or the id tie-break reads keeps doc values and its index
    for field in vql.registry(service):
        mapping = props[field.name]
        if field.keyword or field.sortable or field.range or field.name == "id":
            keyword = mapping["fields"]["keyword"] if field.analyzed else mapping
            assert "index" not in keyword and "doc_values" not in keyword, field.name
        if field.text:
            assert "index" not in mapping, field.name

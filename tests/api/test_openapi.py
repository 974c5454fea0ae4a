"""GET /openapi.json stays true: every route is documented, every documented path is routed,
and the document is valid JSON Schema / OpenAPI 3.1 with resolvable references."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from falcon import inspect, testing

from tests.api.conftest import ClientFactory
from tests.api.dataset import DESIGN_EXAMPLE

pytestmark = pytest.mark.services
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _routed(app: Any) -> dict[str, set[str]]:
    """Path template (converters dropped) -> methods the app's resources answer."""
    out: dict[str, set[str]] = {}
    for route in inspect.inspect_routes(app):
        template = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        methods = {m.method.lower() for m in route.methods if not m.internal}
        out[template] = methods - {"head", "options"}
    return out


def _documented(doc: dict[str, Any]) -> dict[str, set[str]]:
    return {path: set(item) & HTTP_METHODS for path, item in doc["paths"].items()}


def test_every_route_is_documented_and_every_documented_path_routed(
    prod_client: testing.TestClient,
) -> None:
    result = prod_client.simulate_get("/openapi.json")
    assert result.status_code == 200
    doc = result.json
    assert doc["openapi"].startswith("3.1")
    assert _documented(doc) == _routed(prod_client.app)


def test_the_document_is_valid_and_its_references_resolve(
    prod_client: testing.TestClient,
) -> None:
    doc = prod_client.simulate_get("/openapi.json").json
    assert doc["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key"
    }
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(doc):
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert isinstance(target, dict), ref
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                assert "default" in operation["responses"], (path, method)


def _validator(doc: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


# Values the load rules change (issue 14): the answers carry the optional `normalized`.
NORMALIZING = {"where": {
    "keyword_match": {"must": {"country": "USA", "company_industries": "Software; Retail"}},
    "range_query": {"must": {"company_employees_count": {"gte": "1.2k"}}},
}}
UNKNOWN_LEVEL = {"where": {"keyword_match": {"must": {"seniority": "bogus"}}}}


def test_real_answers_match_their_schemas(make_client: ClientFactory) -> None:
    client = make_client()
    doc = client.simulate_get("/openapi.json").json
    checks = [
        ("ContactsPage", client.simulate_post("/contacts/filter", json=DESIGN_EXAMPLE)),
        ("CompaniesPage", client.simulate_post("/companies/filter", json={"limit": 100})),
        ("Count", client.simulate_post("/contacts/count", json={})),
        ("Count", client.simulate_post("/contacts/count", json=NORMALIZING)),
        ("ContactsPage", client.simulate_post("/contacts/filter", json=NORMALIZING)),
        ("Filters", client.simulate_get("/common/filters/contacts")),
        ("Error", client.simulate_post("/contacts/count", json=UNKNOWN_LEVEL)),
        ("Filters", client.simulate_get("/common/filters/companies")),
        ("FilterValues", client.simulate_post("/common/filters/contacts/data",
                                              json={"filter_key": "departments"})),
        ("UploadUrl", client.simulate_get("/common/upload-url", params={"filename": "x.csv"})),
        ("Health", client.simulate_get("/health")),
        ("Error", client.simulate_post("/contacts/filter", json={"limit": "x"})),
        ("Error", client.simulate_get("/nowhere")),
    ]
    for name, result in checks:
        _validator(doc, name).validate(result.json)
    assert "normalized" in checks[3][1].json and "normalized" in checks[4][1].json
    queries = [DESIGN_EXAMPLE, {"limit": 3}, NORMALIZING]
    for query in queries:
        _validator(doc, "ContactsQuery").validate(query)


def test_the_document_says_which_fields_take_substring(prod_client: testing.TestClient) -> None:
    """Issue 17.1: the query schema refuses what the API refuses (a substring on a field
    without the n-gram sub-field) and the filters' search_types say which fields take it."""
    doc = prod_client.simulate_get("/openapi.json").json

    def query(field: str, search_type: str = "substring") -> dict[str, Any]:
        return {"where": {"text_matches": {"must": [
            {"filter_key": field, "text_value": "abc", "search_type": search_type}]}}}

    contacts, companies = _validator(doc, "ContactsQuery"), _validator(doc, "CompaniesQuery")
    assert contacts.is_valid(query("title")) and contacts.is_valid(query("company_domain"))
    assert not contacts.is_valid(query("city"))
    assert contacts.is_valid(query("city", "shuffle"))
    assert companies.is_valid(query("website")) and not companies.is_valid(query("keywords"))
    described = doc["components"]["schemas"]["Filters"]["properties"]["filters"]["items"]
    assert "substring" in described["properties"]["search_types"]["description"]

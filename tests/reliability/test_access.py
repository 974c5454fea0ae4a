"""Access: keys on every route (the route list comes from Falcon's router, so a new route is
covered without editing this file), and injection through every part of a request that
reaches a store: refused with a 400, or matched literally, on both profiles.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from falcon import inspect, testing

from api.app import create_app
from tests.api.conftest import API_KEY, OTHER_KEY
from tests.reliability.conftest import Backend, deps
from tests.reliability.hostile_data import (
    HOSTILE,
    HOSTILE_FIRST_NAME,
)

pytestmark = pytest.mark.services
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PUBLIC = {"/health"}
SIGNED = "/common/uploads/{key:path}"  # authorized by the URL's signature instead of a key
SIGNED_GET = "/common/export-files/{name}"  # an export's download link, signed likewise
FIELD_VALUES = {"service": "contacts", "job_id": "5b0e0000-0000-3000-8000-000000000000",
                "key": "uploads/2026-01-01/abc-leads.csv",
                "export_id": "5b0e0000-0000-3000-8000-000000000001",
                "name": "5b0e0000-0000-3000-8000-000000000001.csv"}


def almost(key: str) -> list[str]:
    flipped = key[:-1] + chr(ord(key[-1]) ^ 1)
    return [key[:-1], key + "0", flipped, key.upper(), key[1:], f"{key},{OTHER_KEY}",
            f"Bearer {key}", f"{key}\u200b", key.replace("-", "_")]


BAD_KEYS: list[str | None] = [None, "", "x", "null", "wrong-key-0123456789abcdef",
                              *almost(API_KEY)]


def routes(app: Any) -> list[str]:
    """Every path template the app routes, straight from Falcon's router."""
    return sorted({route.path for route in inspect.inspect_routes(app)})


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: FIELD_VALUES[m.group(1)], template)


@pytest.fixture
def app(hostile_production: Backend, tmp_path: Any) -> Any:
    return create_app(deps(tmp_path, hostile_production.records, hostile_production.search))


def test_the_route_list_is_the_router_s(app: Any) -> None:
    found = routes(app)
    assert {"/contacts/filter", "/companies/count", "/common/jobs/{job_id}", "/health",
            SIGNED} <= set(found)
    assert len(found) >= 11


def test_every_route_but_health_refuses_missing_empty_wrong_and_almost_right_keys(
    app: Any,
) -> None:
    client = testing.TestClient(app)
    checked = 0
    for template in routes(app):
        path = concrete(template)
        # The right key must get past the check, or refusing the others proves nothing.
        assert client.simulate_get(path, headers={"X-API-Key": API_KEY}).status_code != 401
        for method in METHODS:
            for key in BAD_KEYS:
                headers = {} if key is None else {"X-API-Key": key}
                result = client.simulate_request(method, path, headers=headers,
                                                 query_string=f"api_key={API_KEY}")
                checked += 1
                if template in PUBLIC:
                    assert result.status_code in (200, 405), (method, path)
                    continue
                if (template, method) in ((SIGNED, "PUT"), (SIGNED_GET, "GET")):
                    assert result.status_code == 403, (method, path, key)
                    continue
                assert result.status_code == 401, (method, path, key, result.status_code)
                if method != "HEAD":
                    error = result.json["error"]
                    assert error["code"] == "unauthorized" and "data" not in result.json
    assert checked >= 11 * len(METHODS) * len(BAD_KEYS)


def test_a_key_elsewhere_than_its_header_is_not_a_key(app: Any) -> None:
    client = testing.TestClient(app)
    body = {"limit": 1}
    for headers in ({"Authorization": f"Bearer {API_KEY}"}, {"X-Api-Key-": API_KEY},
                    {"Cookie": f"X-API-Key={API_KEY}"}):
        assert client.simulate_post("/contacts/filter", json=body,
                                    headers=headers).status_code == 401
    # Header names are case-insensitive in HTTP, so this one is the same header.
    assert client.simulate_post("/contacts/filter", json=body,
                                headers={"x-api-key": API_KEY}).status_code == 200


# -- injection ----------------------------------------------------------------------------------


@pytest.fixture
def client(hostile: Backend, tmp_path: Any) -> testing.TestClient:
    app = create_app(deps(tmp_path, hostile.records, hostile.search))
    return testing.TestClient(app, headers={"X-API-Key": API_KEY})


def total(client: testing.TestClient, where: dict[str, Any], service: str = "contacts") -> int:
    result = client.simulate_post(f"/{service}/filter", json={"where": where, "limit": 100})
    assert result.status_code == 200, result.text
    return int(result.json["total"])


def titles(client: testing.TestClient, needle: str) -> set[str]:
    where = {"text_matches": {"must": [{"filter_key": "title", "text_value": needle,
                                        "search_type": "substring"}]}}
    result = client.simulate_post("/contacts/filter", json={"where": where, "limit": 100,
                                                           "select_columns": ["title"]})
    assert result.status_code == 200, result.text
    return {row["title"] for row in result.json["data"]}


def assert_intact(client: testing.TestClient) -> None:
    assert total(client, {}) == len(HOSTILE.contacts)
    assert total(client, {}, "companies") == len(HOSTILE.companies)


@pytest.mark.parametrize("value", [
    "'; DROP TABLE contacts; --", "\" OR \"1\"=\"1", "x' OR '1'='1", "*", "*:*",
    "email:*", "$where", "{\"match_all\": {}}", "%", "_", ".*", "\\",
])
def test_sql_and_query_syntax_in_values_match_literally(
    client: testing.TestClient, value: str
) -> None:
    assert total(client, {"keyword_match": {"must": {"email": value}}}) == 0
    assert total(client, {"keyword_match": {"must": {"city": [value, "nobody"]}}}) == 0
    assert total(client, {"keyword_match": {"must": {"company_name": value}}}) == 0
    # a closed field names the value back in its 400, as text, and runs nothing
    closed = {"where": {"keyword_match": {"must": {"seniority": [value, "lead"]}}}}
    result = client.simulate_post("/contacts/filter", json=closed)
    assert result.status_code == 400, result.text
    [detail] = result.json["error"]["details"]
    assert detail["path"] == "/where/keyword_match/must/seniority/0"
    assert repr(value) in detail["message"]
    assert_intact(client)


def test_a_hostile_value_finds_exactly_its_record(client: testing.TestClient) -> None:
    assert total(client, {"keyword_match": {"must": {"first_name": HOSTILE_FIRST_NAME}}}) == 1
    assert total(client, {"keyword_match": {"must": {"name": "Hostile ' OR '1'='1"}}},
                 "companies") == 1
    assert_intact(client)


@pytest.mark.parametrize("needle", ["(.*)", "[lead]", "0% R", "e_E", "k\\s", "* Q", "| A",
                                    "++ ", "%%%", "___", ".*.", "e|o", "[a-z]", "(?i)x",
                                    "\\d+", "^C+", "*.*"])
def test_substring_metacharacters_match_literally(client: testing.TestClient,
                                                  needle: str) -> None:
    everything = [t for c in HOSTILE.contacts if (t := c["title"])]
    expected = {t for t in everything if needle.lower() in t.lower()}
    assert titles(client, needle) == expected


@pytest.mark.parametrize("text", ["*", "* OR *", "title:*", ") OR (1=1", "\\", "\"", "?*~"])
def test_query_syntax_in_words_never_matches_everything(
    client: testing.TestClient, text: str
) -> None:
    for search_type in ("shuffle", "exact"):
        body = {"where": {"text_matches": {"must": [
            {"filter_key": "title", "text_value": text, "search_type": search_type}]}}}
        result = client.simulate_post("/contacts/filter", json=body)
        assert result.status_code in (200, 400), result.text
        if result.status_code == 200:
            assert result.json["total"] < len(HOSTILE.contacts) // 2, (text, search_type)


@pytest.mark.parametrize("search_text", ["(.*)", "%", "_", "|", "[", "<", "~", "#", "@", "&",
                                         ".", "*", "?", "\\", "(?i)", "r.d", "a.b", "^r"])
def test_value_lists_match_search_text_literally(client: testing.TestClient,
                                                 search_text: str) -> None:
    body = {"filter_key": "company_industries", "search_text": search_text, "limit": 100}
    result = client.simulate_post("/common/filters/contacts/data", json=body)
    assert result.status_code == 200, result.text
    got = {row["value"] for row in result.json["data"]}
    known = {i for c in HOSTILE.companies for i in (c["industries"] or [])}
    assert got == {v for v in known if search_text.lower() in v.lower()}, search_text


HOSTILE_NAMES = ["email; DROP TABLE contacts", "email\" OR \"1\"=\"1", "email--", "EMAIL",
                 "id)", "*", "", "__proto__", "contacts.email", "email\u0000"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_field_names_are_refused_unless_known(client: testing.TestClient, name: str) -> None:
    bodies = [
        ("/contacts/filter", {"where": {"keyword_match": {"must": {name: "x"}}}}),
        ("/contacts/filter", {"where": {"text_matches": {"must": [
            {"filter_key": name, "text_value": "x", "search_type": "exact"}]}}}),
        ("/contacts/filter", {"where": {"range_query": {"must": {name: {"gte": 1}}}}}),
        ("/contacts/filter", {"order_by": [{"order_by": name, "order_direction": "asc"}]}),
        ("/contacts/filter", {"select_columns": ["id", name]}),
        ("/contacts/filter", {"company_config": {"populate": True, "select_columns": [name]}}),
        ("/contacts/count", {"where": {"keyword_match": {"must_not": {name: ["x"]}}}}),
        ("/common/filters/contacts/data", {"filter_key": name, "search_text": "x"}),
    ]
    for path, body in bodies:
        result = client.simulate_post(path, json=body)
        assert result.status_code == 400, (path, body, result.status_code, result.text)
        assert result.json["error"]["code"] in ("invalid_vql", "invalid_json")
    assert_intact(client)


@pytest.mark.parametrize("direction", ["desc; DROP TABLE contacts", "ASC NULLS FIRST", "1", ""])
def test_order_directions_are_refused_unless_known(client: testing.TestClient,
                                                   direction: str) -> None:
    body = {"order_by": [{"order_by": "created_at", "order_direction": direction}]}
    assert client.simulate_post("/contacts/filter", json=body).status_code == 400


def test_cursors_are_refused_unless_issued_for_the_query(client: testing.TestClient) -> None:
    order = [{"order_by": "created_at", "order_direction": "desc"}]
    first = client.simulate_post("/contacts/filter", json={"order_by": order, "limit": 5})
    cursor = first.json["next_cursor"]
    assert cursor and client.simulate_post(
        "/contacts/filter", json={"order_by": order, "limit": 5, "cursor": cursor}
    ).status_code == 200
    payload, mac = cursor.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_values = {**decoded, "v": ["1970-01-01T00:00:00Z' OR 1=1 --", "x"]}
    forged = base64.urlsafe_b64encode(json.dumps(forged_values).encode()).rstrip(b"=").decode()
    hostile = [
        forged + "." + mac,                                   # edited payload, old MAC
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),  # edited MAC
        "'; DROP TABLE contacts; --",
        base64.urlsafe_b64encode(b'{"e":"sql","v":["x"]}').decode(),
        "x" * 10_000,
        cursor + cursor,
    ]
    for token in hostile:
        result = client.simulate_post(
            "/contacts/filter", json={"order_by": order, "limit": 5, "cursor": token}
        )
        assert result.status_code == 400, (token[:40], result.text)
        assert result.json["error"]["details"][0]["path"] == "/cursor"
    assert_intact(client)

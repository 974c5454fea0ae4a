"""Random JSON bodies on every endpoint, routes taken from Falcon's router: never a 5xx,
always the one error shape, on both profiles with their real stores.

Bodies are random JSON, raw bytes, or VQL-shaped documents with random parts (so they get
past the parser and reach the stores often: strict parsing would otherwise refuse nearly
every random document at its first key). Dagster is not running, so a job id shaped like a
real run id would get a (correct) 503; path parameters are random text instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from falcon import inspect, testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from tests.api.conftest import API_KEY
from tests.reliability.conftest import Backend, deps
from vql.registry import filters_payload, registry

pytestmark = pytest.mark.services
FIELDS = sorted({f.name for s in ("contacts", "companies") for f in registry(s)})

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=12,
)
names = st.sampled_from(FIELDS) | st.text(max_size=20)
common = st.sampled_from(["engineer", "soft", "united states", "senior", "a", "", " ", "*", "\\",
                          "software", "Ann", "example.com", "o'neil", "%_"])
words = st.text(max_size=40) | common
printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30) | common
dates = st.sampled_from(["2024-01-01", "2024-01-01T00:00:00Z", "1e9", "yesterday", "-1"])
bound = st.integers(-(2**64), 2**64) | st.floats(allow_nan=False) | dates | json_values
text_match = st.fixed_dictionaries(
    {"filter_key": names, "text_value": words},
    optional={"search_type": st.sampled_from(["exact", "shuffle", "substring", "fuzzy", ""]),
              "fuzzy": st.booleans() | json_values, "slop": st.integers(-3, 1000) | json_values,
              "operator": st.sampled_from(["and", "or", "xor"])},
)
keyword_part = st.dictionaries(names, words | st.lists(words, max_size=4) | json_values,
                               max_size=3)
range_part = st.dictionaries(names, st.dictionaries(
    st.sampled_from(["gte", "gt", "lte", "lt", "eq"]), bound, max_size=3) | json_values,
    max_size=2)


def _parts(inner: Any) -> Any:
    return st.fixed_dictionaries({}, optional={"must": inner, "must_not": inner,
                                               "should": inner})


where = st.fixed_dictionaries({}, optional={
    "text_matches": _parts(st.lists(text_match, max_size=3) | json_values),
    "keyword_match": _parts(keyword_part),
    "range_query": _parts(range_part),
}) | json_values
order_by = st.lists(st.fixed_dictionaries(
    {"order_by": names}, optional={"order_direction": st.sampled_from(["asc", "desc", "up"])}),
    max_size=3) | json_values
vql = st.fixed_dictionaries({}, optional={
    "where": where, "order_by": order_by,
    "page": st.integers(-5, 20_000) | json_values, "limit": st.integers(-5, 500) | json_values,
    "cursor": st.none() | st.text(max_size=60) | json_values,
    "select_columns": st.none() | st.lists(names, max_size=5) | json_values,
    "company_config": st.fixed_dictionaries({}, optional={
        "populate": st.booleans() | json_values,
        "select_columns": st.lists(names, max_size=4) | json_values}) | json_values,
    "filter_key": names, "search_text": words | json_values,
    "file_key": st.text(max_size=40) | json_values,
})


def _fields(service: str, kind: str | None = None, listable: bool = False) -> list[str]:
    return sorted(f["key"] for f in filters_payload(service)["filters"]
                  if (kind is None or f["type"] == kind) and (f["has_values"] or not listable))


def well_formed(service: str) -> Any:
    """Mostly valid VQL for `service` (its own fields, values of the right type), so that
    most examples get past the strict parser and run against the stores."""
    takes = [(f["key"], kind) for f in filters_payload(service)["filters"]
             for kind in f["search_types"]]  # substring only where a field takes it
    text = st.sampled_from(takes).flatmap(lambda key_kind: st.fixed_dictionaries({
        "filter_key": st.just(key_kind[0]), "text_value": printable,
        "search_type": st.just(key_kind[1]),
    }, optional={"fuzzy": st.booleans(), "operator": st.sampled_from(["and", "or"])}))
    keyword = st.dictionaries(
        st.sampled_from(_fields(service, "keyword") + _fields(service, "text")),
        printable | st.lists(printable, min_size=1, max_size=3), max_size=2)
    ranges = st.dictionaries(st.sampled_from(_fields(service, "range")), st.dictionaries(
        st.sampled_from(["gte", "gt", "lte", "lt"]),
        st.integers(-(2**40), 2**40) | st.floats(-1e12, 1e12) | dates, min_size=1,
        max_size=2), max_size=2)
    where_ = st.fixed_dictionaries({}, optional={
        "text_matches": st.fixed_dictionaries({}, optional={
            "must": st.lists(text, max_size=2), "must_not": st.lists(text, max_size=1),
            "should": st.lists(text, max_size=2)}),
        "keyword_match": st.fixed_dictionaries({}, optional={"must": keyword,
                                                             "must_not": keyword}),
        "range_query": st.fixed_dictionaries({}, optional={"must": ranges, "must_not": ranges}),
    })
    sortable = [f["key"] for f in filters_payload(service)["filters"] if f["sortable"]]
    optional: dict[str, Any] = {
        "where": where_,
        "order_by": st.lists(st.fixed_dictionaries({
            "order_by": st.sampled_from(sortable),
            "order_direction": st.sampled_from(["asc", "desc"])}), max_size=2, unique_by=str),
        "page": st.integers(1, 500), "limit": st.integers(1, 100),
        "select_columns": st.none() | st.lists(st.sampled_from(_fields(service)), min_size=1,
                                               max_size=4),
    }
    if service == "contacts":
        optional["company_config"] = st.fixed_dictionaries({"populate": st.booleans()})
    values = st.fixed_dictionaries(
        {"filter_key": st.sampled_from(_fields(service, listable=True)),
         "search_text": printable},
        optional={"limit": st.integers(1, 100), "where": where_},
    )
    return st.fixed_dictionaries({}, optional=optional), values


def encoded(documents: Any) -> Any:
    return documents.map(lambda b: json.dumps(b).encode())


def bodies(service: str, template: str) -> Any:
    query, values = well_formed(service)
    good = encoded(values if template.endswith("/data") else query)
    return st.one_of(good, good, good, encoded(vql | json_values), st.binary(max_size=200))


def endpoints(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every responder the router knows."""
    return sorted(
        (m.method, route.path)
        for route in inspect.inspect_routes(app)
        for m in route.methods
        if not m.internal and m.method not in ("OPTIONS",)
    )


def weighted(app: Any) -> list[tuple[str, str]]:
    """POST endpoints (the ones that take a body and run queries) three times as often."""
    return [e for e in endpoints(app) for _ in range(3 if e[0] == "POST" else 1)]


def fill(template: str, draw: Any, service: str) -> str:
    def value(match: re.Match[str]) -> str:
        if match.group(1) == "service":
            odd = st.text("abcdefghijklmnopqrstuvwxyz_%.", min_size=1, max_size=12)
            return str(draw(st.one_of(st.just(service), st.just(service), odd)))
        return str(draw(st.text("abcdefghij0123456789-_./%", min_size=1, max_size=40)))

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, template)


def fuzz(app: Any, data: Any) -> None:
    client = testing.TestClient(app, headers={"X-API-Key": API_KEY})
    method, template = data.draw(st.sampled_from(weighted(app)))
    service = "companies" if template.startswith("/companies") else (
        "contacts" if template.startswith("/contacts") else
        data.draw(st.sampled_from(["contacts", "companies"])))
    path = fill(template, data.draw, service)
    body = data.draw(bodies(service, template))
    params = {"filename": data.draw(st.text(max_size=40)), "expires": "1", "signature": "x"}
    result = client.simulate_request(method, path, body=body, params=params,
                                     headers={"Content-Type": "application/json"})
    assert result.status_code < 500, (method, path, body[:300], result.text[:500])
    if result.status_code >= 400 and method != "HEAD":
        error = result.json["error"]
        assert set(error) == {"code", "message", "details"} and error["message"]
        assert "Traceback" not in result.text


FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck))


@settings(FUZZ, max_examples=300)
@given(data=st.data())
def test_random_bodies_on_every_endpoint_production(
    hostile_production: Backend, tmp_path_factory: pytest.TempPathFactory, data: Any
) -> None:
    home = tmp_path_factory.getbasetemp() / "fuzz-production"
    fuzz(_app(home, hostile_production), data)


@settings(FUZZ, max_examples=200)
@given(data=st.data())
def test_random_bodies_on_every_endpoint_embedded(
    hostile_embedded: Backend, tmp_path_factory: pytest.TempPathFactory, data: Any
) -> None:
    home = tmp_path_factory.getbasetemp() / "fuzz-embedded"
    fuzz(_app(home, hostile_embedded), data)


_APPS: dict[str, Any] = {}


def _app(home: Any, backend: Backend) -> Any:
    """One app per profile for all examples (hypothesis calls the test many times)."""
    if backend.profile not in _APPS:
        _APPS[backend.profile] = create_app(deps(home, backend.records, backend.search))
    return _APPS[backend.profile]


@pytest.mark.slow
@settings(FUZZ, max_examples=3000)
@given(data=st.data())
def test_random_bodies_on_every_endpoint_at_length(
    hostile_production: Backend, hostile_embedded: Backend,
    tmp_path_factory: pytest.TempPathFactory, data: Any,
) -> None:
    backend = data.draw(st.sampled_from([hostile_production, hostile_embedded]))
    fuzz(_app(tmp_path_factory.getbasetemp() / f"fuzz-{backend.profile}", backend), data)

"""GET /common/filters/{service} (the field registry) and POST .../data (value lists).

The value list body is checked by vql.values as strictly as a query (unknown members, wrong
types, fields without values are 400 with pointers), so a client learns about every mistake
at once.
"""

from __future__ import annotations

import falcon

from api.body import read_json
from api.errors import ApiError
from api.records import normalized_member
from stores.base import SearchStore
from vql.nodes import Where
from vql.normalizing import ValueRules
from vql.registry import SERVICES, filters_payload
from vql.values import parse_values_request


def known_service(service: str) -> str:
    if service not in SERVICES:
        raise ApiError(
            404, "not_found", f"unknown service {service!r}; known: {', '.join(SERVICES)}"
        )
    return service


class FiltersResource:
    """The registry; closed fields list their values, read from the rules' vocabularies."""

    def __init__(self, rules: ValueRules | None = None) -> None:
        self.rules = rules

    def on_get(self, req: falcon.Request, resp: falcon.Response, service: str) -> None:
        vocabulary = self.rules.vocabulary if self.rules is not None else None
        resp.media = filters_payload(known_service(service), vocabulary)


class FilterValuesResource:
    def __init__(self, search: SearchStore, rules: ValueRules | None = None) -> None:
        self.search = search
        self.rules = rules

    def on_post(self, req: falcon.Request, resp: falcon.Response, service: str) -> None:
        request = parse_values_request(known_service(service), read_json(req), self.rules)
        values = self.search.values(
            request.service,  # type: ignore[arg-type]
            request.field,
            request.search_text or "",
            request.limit,
            request.where,
        )
        resp.media = {
            "filter_key": request.field,
            "data": [{"value": v.value, "count": v.count} for v in values],
            **normalized_member(request.where or Where(request.service)),
        }

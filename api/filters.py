"""GET /common/filters/{service} (the field registry) and POST .../data (value lists).

The value list body is checked by vql.values as strictly as a query (unknown members, wrong
types, fields without values are 400 with pointers), so a client learns about every mistake
at once.
"""

from __future__ import annotations

import falcon

from api.body import read_json
from api.errors import ApiError
from stores.base import SearchStore
from vql.registry import SERVICES, filters_payload
from vql.values import parse_values_request


def known_service(service: str) -> str:
    if service not in SERVICES:
        raise ApiError(
            404, "not_found", f"unknown service {service!r}; known: {', '.join(SERVICES)}"
        )
    return service


class FiltersResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response, service: str) -> None:
        resp.media = filters_payload(known_service(service))


class FilterValuesResource:
    def __init__(self, search: SearchStore) -> None:
        self.search = search

    def on_post(self, req: falcon.Request, resp: falcon.Response, service: str) -> None:
        request = parse_values_request(service=known_service(service), body=read_json(req))
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
        }

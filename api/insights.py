"""POST /{service}/facets and /{service}/explain: counts that help a user refine a query.

Both bodies are checked by vql as strictly as a query (every problem a 400 with its JSON
pointer); the search store answers each in one round trip where it can (facets: one
request or one snapshot; explain: the counts in one request, suggestions in one more).
"""

from __future__ import annotations

import falcon

from api.body import read_json
from api.records import normalized_member
from stores.base import SearchStore, Service
from vql.explain import parse_explain_request
from vql.facets import parse_facets_request
from vql.normalizing import ValueRules


class FacetsResource:
    def __init__(
        self, service: Service, search: SearchStore, rules: ValueRules | None = None
    ) -> None:
        self.service = service
        self.search = search
        self.rules = rules

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = parse_facets_request(self.service, read_json(req), self.rules)
        resp.media = {**self.search.facets(request), **normalized_member(request.where)}


class ExplainResource:
    def __init__(
        self, service: Service, search: SearchStore, rules: ValueRules | None = None
    ) -> None:
        self.service = service
        self.search = search
        self.rules = rules

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = parse_explain_request(self.service, read_json(req), self.rules)
        resp.media = {**self.search.explain(request), **normalized_member(request.where)}

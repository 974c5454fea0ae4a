"""POST /{service}/facets and /{service}/explain: counts that help a user refine a query.

Both bodies are checked by vql as strictly as a query (every problem a 400 with its JSON
pointer); the search store answers each in one round trip where it can (facets: one
request or one snapshot; explain: the counts in one request, suggestions in one more).
"""

from __future__ import annotations

from concurrent.futures import Executor

import falcon

from api.body import read_json
from api.records import DatasetVersions, normalized_member
from stores.base import RecordStore, SearchStore, Service
from vql.explain import parse_explain_request
from vql.facets import parse_facets_request
from vql.normalizing import ValueRules


class FacetsResource:
    """Facet counts; like filter and count, the answer names the data it saw
    (X-Dataset-Version, read beside the counts)."""

    def __init__(
        self,
        service: Service,
        search: SearchStore,
        records: RecordStore,
        pool: Executor,
        rules: ValueRules | None = None,
    ) -> None:
        self.service = service
        self.search = search
        self.rules = rules
        self.versions = DatasetVersions(records, pool)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = parse_facets_request(self.service, read_json(req), self.rules)
        version = self.versions.start()
        resp.media = {**self.search.facets(request), **normalized_member(request.where)}
        self.versions.stamp(resp, version)


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

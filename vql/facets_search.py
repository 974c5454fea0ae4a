"""Facets as one search-engine request: a filter aggregation per facet (disjunction).

The query holds what every facet applies (the where without the ``must`` conditions on
faceted fields); each facet is a ``filter`` aggregation adding the other faceted fields'
``must`` conditions, and ``total`` one adding all of them. Inside:

- keyword: the filter-values endpoint's ``terms`` (count desc, key asc), whose
  ``sum_other_doc_count`` gives ``other``, and a ``missing`` aggregation;
- ranges: a ``filters`` aggregation of the range queries range_query compiles to (so a
  bound means exactly what it means in a where);
- interval: a ``date_histogram`` (UTC calendar interval, empty buckets left out).

Counts are exact on a one-shard index (the default here): every term is counted where it
lives. ``shard_size`` is raised so an index of several shards stays exact for fields of up
to that many values per shard; when ``doc_count_error_upper_bound`` says a facet's counts
are estimates anyway, the store recounts that facet's values exactly with a composite
aggregation paged to the end (:func:`compile_search_all_values`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vql.facets import (
    BucketCounts,
    FacetCounts,
    FacetsRequest,
    IntervalFacet,
    KeywordCounts,
    KeywordFacet,
    RangeCounts,
    RangeFacet,
)
from vql.mapping import SubstringMode, search_path, values_path
from vql.nodes import Where
from vql.search import SearchCompiler, compile_search_where
from vql.timeutil import from_epoch_millis
from vql.values import ValuesRequest, values_terms

SHARD_SIZE = 10_000


def compile_search_facets(
    request: FacetsRequest, substring: SubstringMode = "ngram"
) -> dict[str, Any]:
    """The ``_search`` body; aggregation ``f{i}`` answers facet i, ``total`` the total."""
    compiler = SearchCompiler(request.service)
    faceted = request.faceted_musts()
    aggs: dict[str, Any] = {"total": {"filter": _musts(request, faceted, substring)}}
    for i, facet in enumerate(request.facets):
        others = tuple(c for c in faceted if c.field != facet.field)
        inner: dict[str, Any]
        if isinstance(facet, KeywordFacet):
            values = ValuesRequest(request.service, facet.field, facet.search_text, facet.size)
            terms = {**values_terms(values), "shard_size": max(SHARD_SIZE, facet.size),
                     "show_term_doc_count_error": True}
            path = values_path(request.service, facet.field)
            inner = {"values": {"terms": terms}, "missing": {"missing": {"field": path}}}
        elif isinstance(facet, RangeFacet):
            filters = {str(j): compiler.range(node) for j, node in enumerate(facet.ranges)}
            inner = {"ranges": {"filters": {"filters": filters}}}
        else:
            histogram = {
                "field": search_path(request.service, facet.field, "range"),
                "calendar_interval": facet.interval,
                "min_doc_count": 1,
                "time_zone": "UTC",
            }
            inner = {"buckets": {"date_histogram": histogram}}
        aggs[f"f{i}"] = {"filter": _musts(request, others, substring), "aggs": inner}
    return {
        "size": 0,
        "track_total_hits": False,
        "query": compile_search_where(request.shared_where(), substring),
        "aggs": aggs,
    }


def _musts(
    request: FacetsRequest, conditions: tuple[Any, ...], substring: SubstringMode
) -> dict[str, Any]:
    return compile_search_where(Where(request.service, must=conditions), substring)


def compile_search_all_values(
    request: FacetsRequest,
    index: int,
    after: dict[str, Any] | None,
    page: int = 1000,
    substring: SubstringMode = "ngram",
) -> dict[str, Any]:
    """A page of every value of keyword facet ``index`` with its exact count (composite)."""
    facet = request.facets[index]
    composite: dict[str, Any] = {
        "size": page,
        "sources": [{"value": {"terms": {"field": values_path(request.service, facet.field)}}}],
    }
    if after is not None:
        composite["after"] = after
    return {
        "size": 0,
        "track_total_hits": False,
        "query": compile_search_where(request.facet_where(facet.field), substring),
        "aggs": {"values": {"composite": composite}},
    }


def top_values(
    facet: KeywordFacet, every: list[tuple[str, int]]
) -> tuple[list[tuple[str, int]], int]:
    """(the top ``size`` values, the sum of all counts) of a facet's complete value list."""
    needle = facet.search_text.lower() if facet.search_text is not None else None
    kept = [(v, n) for v, n in every if needle is None or needle in v]
    kept.sort(key=lambda vn: (-vn[1], vn[0]))
    return kept[: facet.size], sum(n for _, n in kept)


Recount = Callable[[int], list[tuple[str, int]]]


def read_search_facets(
    request: FacetsRequest, response: dict[str, Any], recount: Recount
) -> tuple[int, list[FacetCounts]]:
    """(total, counts per facet) from the engine's answer to :func:`compile_search_facets`;
    ``recount(i)`` gives every value of keyword facet i with its exact count."""
    aggs = response["aggregations"]
    counts: list[FacetCounts] = []
    for i, facet in enumerate(request.facets):
        agg = aggs[f"f{i}"]
        if isinstance(facet, KeywordFacet):
            terms = agg["values"]
            values = [(str(b["key"]), int(b["doc_count"])) for b in terms["buckets"]]
            listed = sum(n for _, n in values) + int(terms["sum_other_doc_count"])
            if int(terms.get("doc_count_error_upper_bound") or 0) > 0:
                values, listed = top_values(facet, recount(i))
            counts.append(KeywordCounts(values, listed, int(agg["missing"]["doc_count"])))
        elif isinstance(facet, RangeFacet):
            buckets = agg["ranges"]["buckets"]
            got = [int(buckets[str(j)]["doc_count"]) for j in range(len(facet.ranges))]
            counts.append(RangeCounts(got))
        else:
            assert isinstance(facet, IntervalFacet)
            counts.append(BucketCounts([
                (from_epoch_millis(int(b["key"])), int(b["doc_count"]))
                for b in agg["buckets"]["buckets"]
                if int(b["doc_count"]) > 0
            ]))
    return int(aggs["total"]["doc_count"]), counts

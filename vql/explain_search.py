"""Explain on the search engine: every count of the plan in one filters aggregation, every
suggestion probe in one more request (only when the total is 0)."""

from __future__ import annotations

from typing import Any

from vql.explain import (
    CANDIDATES,
    CountProbe,
    NearestProbe,
    ProbeResult,
    Probing,
    ValuesProbe,
    nearest_value,
)
from vql.mapping import SubstringMode, search_path, values_path
from vql.nodes import Where
from vql.registry import registry
from vql.search import SearchCompiler, compile_search_where
from vql.timeutil import from_epoch_millis

MAX_EXPANSIONS = 1000  # terms a fuzzy value may expand to (Lucene's clause limit is 1024)


def compile_search_counts(
    plan: dict[str, Where], substring: SubstringMode = "ngram"
) -> dict[str, Any]:
    """One request: ``aggregations.counts.buckets[name].doc_count`` per named where."""
    filters = {name: compile_search_where(where, substring) for name, where in plan.items()}
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"match_all": {}},
        "aggs": {"counts": {"filters": {"filters": filters}}},
    }


def read_search_counts(response: dict[str, Any]) -> dict[str, int]:
    buckets = response["aggregations"]["counts"]["buckets"]
    return {name: int(b["doc_count"]) for name, b in buckets.items()}


def _near(probe: ValuesProbe, path: str) -> dict[str, Any]:
    """Values within the probe's edit distance of a queried value, or starting with it."""
    should: list[dict[str, Any]] = []
    for value in probe.values:
        should.append({"prefix": {path: {"value": value}}})
        k = probe.fuzziness(value)
        if k:
            should.append({"fuzzy": {path: {"value": value, "fuzziness": k,
                                            "transpositions": False,
                                            "max_expansions": MAX_EXPANSIONS}}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def compile_search_probes(
    service: str, asked: dict[str, Probing], substring: SubstringMode = "ngram"
) -> dict[str, Any]:
    """One request with an aggregation per probe, named as in ``asked``."""
    compiler = SearchCompiler(service)
    aggs: dict[str, Any] = {}
    for name, probing in asked.items():
        probe = probing.probe
        where = compile_search_where(probe.where, substring)
        if isinstance(probe, CountProbe):
            aggs[name] = {"filter": where}
        elif isinstance(probe, ValuesProbe):
            path = values_path(service, probe.field)
            terms = {"field": path, "size": CANDIDATES,
                     "order": [{"_count": "desc"}, {"_key": "asc"}]}
            aggs[name] = {"filter": {"bool": {"filter": [where, _near(probe, path)]}},
                          "aggs": {"values": {"terms": terms}}}
        else:
            path = search_path(service, probe.field, "range")
            order = "desc" if probe.side == "below" else "asc"
            terms = {"field": path, "size": 1, "order": {"_key": order}}
            beyond = compiler.range(probe.beyond)
            aggs[name] = {"filter": {"bool": {"filter": [where, beyond]}},
                          "aggs": {"values": {"terms": terms}}}
    return {"size": 0, "track_total_hits": False, "query": {"match_all": {}}, "aggs": aggs}


def read_search_probes(
    service: str, asked: dict[str, Probing], response: dict[str, Any]
) -> dict[str, ProbeResult]:
    aggs = response.get("aggregations", {})
    out: dict[str, ProbeResult] = {}
    for name, probing in asked.items():
        probe, agg = probing.probe, aggs[name]
        if isinstance(probe, CountProbe):
            out[name] = int(agg["doc_count"])
            continue
        buckets = agg["values"]["buckets"]
        if isinstance(probe, ValuesProbe):
            out[name] = [(str(b["key"]), int(b["doc_count"])) for b in buckets]
        elif not buckets:
            out[name] = None
        else:
            assert isinstance(probe, NearestProbe)
            key = buckets[0]["key"]
            is_date = registry(service)[probe.field].data_type == "date"
            value = from_epoch_millis(int(key)) if is_date else nearest_value(key)
            out[name] = (value, int(buckets[0]["doc_count"]))
    return out

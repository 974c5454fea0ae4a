"""Compile a parsed query to the search-engine DSL (Elasticsearch and OpenSearch alike).

The DSL is built as a dict tree from the node tree, never from strings (no
``query_string``). Index paths come from :mod:`vql.mapping`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vql.cursor_values import search_after
from vql.mapping import SubstringMode, search_path
from vql.nodes import (
    Condition,
    ExactMatch,
    KeywordMatch,
    Query,
    RangeMatch,
    ShuffleMatch,
    SortKey,
    SubstringMatch,
    Where,
)
from vql.ordering import query_sort
from vql.timeutil import epoch_millis

# Characters with a meaning in a wildcard pattern (`*`, `?`) and its escape character.
_WILDCARD_SPECIAL = str.maketrans({"\\": "\\\\", "*": "\\*", "?": "\\?"})


class SearchCompiler:
    """One method per condition kind; ``service`` resolves index paths, ``substring`` says
    how the index answers substring conditions (vql.mapping.SubstringMode)."""

    def __init__(self, service: str, substring: SubstringMode = "ngram") -> None:
        self.service = service
        self.substring_mode = substring

    def path(self, field: str, kind: Any) -> str:
        return search_path(self.service, field, kind)

    def where(self, where: Where) -> dict[str, Any]:
        if where.is_empty:
            return {"match_all": {}}
        body: dict[str, Any] = {}
        for clause in ("must", "must_not", "should"):
            nodes: tuple[Condition, ...] = getattr(where, clause)
            if nodes:
                body[clause] = [self.condition(n) for n in nodes]
        if where.should:
            body["minimum_should_match"] = 1
        return {"bool": body}

    def condition(self, node: Condition) -> dict[str, Any]:
        method = getattr(self, node.kind)
        result: dict[str, Any] = method(node)
        return result

    def exact(self, node: ExactMatch) -> dict[str, Any]:
        return {"match_phrase": {self.path(node.field, "text"): {"query": node.text,
                                                                 "slop": node.slop}}}

    def shuffle(self, node: ShuffleMatch) -> dict[str, Any]:
        body: dict[str, Any] = {"query": node.text, "operator": node.operator}
        if node.fuzzy:
            # Plain Levenshtein, as SQL computes it: a transposition counts as two edits.
            body.update(fuzziness="AUTO", fuzzy_transpositions=False)
        return {"match": {self.path(node.field, "text"): body}}

    def substring(self, node: SubstringMatch) -> dict[str, Any]:
        needle = node.text.lower()
        if self.substring_mode == "wildcard":
            # `*needle*` on the lowercase keyword: the whole value (or list element) holds the
            # needle. Values longer than the keyword's ignore_above are not indexed there.
            pattern = f"*{needle.translate(_WILDCARD_SPECIAL)}*"
            return {"wildcard": {self.path(node.field, "keyword"): {"value": pattern}}}
        # Consecutive trigrams of the lowercased needle = a substring of the value.
        return {"match_phrase": {self.path(node.field, "substring"): {"query": needle}}}

    def keyword(self, node: KeywordMatch) -> dict[str, Any]:
        values = list(dict.fromkeys(v.lower() for v in node.values))
        path = self.path(node.field, "keyword")
        if len(values) == 1:
            return {"term": {path: values[0]}}
        return {"terms": {path: values}}

    def range(self, node: RangeMatch) -> dict[str, Any]:
        body: dict[str, Any] = {}
        is_date = False
        for op, value in node.bounds():
            if isinstance(value, datetime):
                is_date = True
                body[op] = epoch_millis(value)
            else:
                body[op] = value
        if is_date:
            body["format"] = "epoch_millis"
        return {"range": {self.path(node.field, "range"): body}}

    def sort(self, keys: tuple[SortKey, ...]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key in keys:
            order = "desc" if key.descending else "asc"
            if key.kind == "score":
                out.append({"_score": {"order": order}})
            elif key.kind == "id":
                out.append({"id": {"order": order}})
            else:
                path = self.path(key.field, "sort")
                out.append({path: {"order": order, "missing": "_last"}})
        return out


def compile_search_where(where: Where, substring: SubstringMode = "ngram") -> dict[str, Any]:
    """The ``query`` part alone (count and aggregation requests)."""
    return SearchCompiler(where.service, substring).where(where)


def compile_search(query: Query, substring: SubstringMode = "ngram") -> dict[str, Any]:
    """The body of ``POST /<alias>/_search`` for ``query``.

    Records come from PostgreSQL, so ``_source`` is off; each hit's ``_id`` and ``sort``
    values are all the store needs (``sort_values_from_hit`` turns the last hit into the
    next cursor).
    """
    compiler = SearchCompiler(query.service, substring)
    keys = query_sort(query, "search")
    body: dict[str, Any] = {
        "query": compiler.where(query.where),
        "sort": compiler.sort(keys),
        "size": query.limit,
        "track_total_hits": True,
        "_source": False,
    }
    if query.cursor is not None:
        body["search_after"] = search_after(query, keys)
    else:
        body["from"] = query.offset
    return body

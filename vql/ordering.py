"""The effective order of a query, shared by both compilers and the cursor codec.

Explicit ``order_by`` keys come first; without them the search engine orders by relevance
when text matches score, and SQL (which has no relevance) by ``created_at`` desc. The id is
always the last key, so every order is total and pages are stable.
"""

from __future__ import annotations

from typing import Literal

from vql.nodes import Query, Sort, SortKey, Where
from vql.registry import registry

Engine = Literal["search", "sql"]
ENGINES: tuple[Engine, ...] = ("search", "sql")

ID_KEY = SortKey("id", "id", False)


def effective_sort(where: Where, order_by: tuple[Sort, ...], engine: Engine) -> tuple[SortKey, ...]:
    reg = registry(where.service)
    keys: list[SortKey] = []
    if order_by:
        for s in order_by:
            f = reg[s.field]
            kind: Literal["keyword", "number", "date"] = (
                "number" if f.data_type == "int" else "date" if f.data_type == "date" else "keyword"
            )
            keys.append(SortKey(f.name, kind, s.direction == "desc"))
    elif where.scores_text and engine == "search":
        keys.append(SortKey("_score", "score", True))
    else:
        keys.append(SortKey("created_at", "date", True))
    keys.append(ID_KEY)
    return tuple(keys)


def query_sort(query: Query, engine: Engine) -> tuple[SortKey, ...]:
    return effective_sort(query.where, query.order_by, engine)

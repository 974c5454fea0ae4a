"""The reads of the embedded store as SQLAlchemy Core selects, rendered by ``vql.to_duckdb``.

Identifiers come from stores/duckdb/schema.py and the VQL registry only; ids, search text
and limits are bound parameters.

Filter values (``values``) are vql's ``compile_sql_values``: the distinct lowercased values
of a keyword field (list columns unnested, a value counted once per record) containing the
search text case-insensitively, most frequent first. With ``prefix_first`` (the store's
default) values that *start with* the search text come before the others, then frequency,
then the value: typing "eng" offers "engineering" before a more frequent "data
engineering". The search engine ranks by frequency alone (a terms aggregation cannot rank by
prefix), so with a search text the two backends may order (and, at the limit, pick) values
differently; without a search text, or with prefix_first off, they agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import Select

from stores.base import COMPANY_VIEW_COLUMNS
from stores.duckdb.errors import BACKEND
from stores.duckdb.schema import (
    FACT_COLUMNS,
    SEARCH_SOURCES,
    TABLES,
    column_facts,
    companies,
    contacts,
)
from stores.errors import TerminalStoreError
from vql.errors import ErrorDetail, VQLUnsupportedError
from vql.nodes import Condition, Query, SortKey, Where
from vql.registry import registry
from vql.sql import (
    NO_FACTS,
    Related,
    SqlCompiler,
    TextFacts,
    compile_sql,
    compile_sql_where,
    compile_sql_window,
    fuzzy_terms_statement,
    fuzzy_words,
    window_bound,
)
from vql.values import ValuesRequest, compile_sql_values


def table(service: str) -> sa.Table:
    try:
        return TABLES[service]
    except KeyError:
        raise TerminalStoreError(BACKEND, f"unknown service {service!r}") from None


def search_source(service: str, fields: Iterable[str] = ()) -> sa.Table:
    """What VQL over `fields` selects from: the contacts_search view, or the contacts table
    itself when no company attribute is involved. The view's LEFT JOIN is not eliminated by
    DuckDB even when no company column is used, and on a million contacts it is most of the
    cost of a count or a simple filter."""
    try:
        source = SEARCH_SOURCES[service]
    except KeyError:
        raise TerminalStoreError(BACKEND, f"unknown service {service!r}") from None
    if service == "contacts" and COMPANY_VIEW_COLUMNS.keys().isdisjoint(fields):
        return contacts
    return source


# The companies' columns named like the contacts' company_* fields: conditions on them are
# semi-joins of contacts.company_id (vql.sql.Related), never a join of every contact.
COMPANY_FIELDS = sa.select(
    companies.c.id, *(companies.c[col].label(name) for name, col in COMPANY_VIEW_COLUMNS.items())
).subquery("company_fields")
CONTACTS_COMPANIES = Related(frozenset(COMPANY_VIEW_COLUMNS), COMPANY_FIELDS, "id", "company_id")
Rows = Callable[[Select[Any]], list[Any]]


def related(service: str, source: sa.FromClause | None = None) -> Related | None:
    """The semi-join of company fields, unless `source` is the joined view already."""
    plain = source is None or source is table(service)
    return CONTACTS_COMPANIES if service == "contacts" and plain else None


# The fields a fact may be kept for, per service: a where on none of them reads no facts.
_FACT_FIELDS = {
    service: frozenset().union(*(fields[service] for fields in FACT_COLUMNS.values()))
    for service in TABLES
}


def text_facts(
    service: str,
    rows: Rows,
    where: Where | None,
    expansions: dict[tuple[str, str, str, int], list[str]] | None = None,
) -> TextFacts:
    """What the query's SQL may know of the data (vql.sql.TextFacts), read in the query's
    snapshot: which fields are plain and which lowercase (stores/duckdb/schema.py,
    column_facts), then the fuzzy words of `where` expanded against the data, one statement
    per field (vql.sql.fuzzy_terms_statement), before the page and its count use them.
    `expansions`: fuzzy words already expanded against the same data (the filter cache's,
    per write token; ~15-30 ms a field at 1M), filled with the new ones."""
    held: dict[str, frozenset[str]] = {"plain": frozenset(), "lowercase": frozenset()}
    if where_fields(where) & _FACT_FIELDS[service]:  # ranges alone need no read
        listed = column_facts.c
        read = rows(sa.select(listed.table_name, listed.column_name, listed.fact))
        stored = {(str(f), str(t), str(c)) for t, c, f in read}
        held = {fact: frozenset(field for field, (t, c) in fields[service].items()
                                if (fact, t, c) in stored)
                for fact, fields in FACT_COLUMNS.items()}
    facts = TextFacts(plain=held["plain"], lowercase=held["lowercase"])
    known = {} if expansions is None else expansions
    expanded: dict[tuple[str, str, int], list[str]] = {}
    for field, words in fuzzy_words(where).items():
        asked = [(word, k) for word, k in words if (service, field, word, k) not in known]
        if asked:
            company = service == "contacts" and field in COMPANY_VIEW_COLUMNS
            source = COMPANY_FIELDS if company else table(service)
            terms: list[list[str]] = [[] for _ in asked]
            for i, term in rows(fuzzy_terms_statement(service, field, asked, source, facts)):
                terms[int(i)].append(str(term))
            known.update({(service, field, word, k): t
                          for (word, k), t in zip(asked, terms, strict=True)})
        expanded.update({(field, word, k): known[(service, field, word, k)]
                         for word, k in words})

    def expand(field: str, word: str, k: int) -> list[str] | None:
        return expanded.get((field, word, k))

    return replace(facts, expand=expand)


def where_fields(where: Where | None) -> set[str]:
    if where is None:
        return set()
    return {c.field for c in (*where.must, *where.must_not, *where.should)}


def selected_columns(target: sa.Table, columns: Sequence[str] | None) -> list[sa.Column[Any]]:
    """The table's own columns named in `columns` (all when None)."""
    if columns is None:
        return list(target.c)
    unknown = [c for c in columns if c not in target.c]
    if unknown:
        raise TerminalStoreError(
            BACKEND, f"{target.name} has no column(s) {', '.join(map(repr, unknown))}"
        )
    return [target.c[c] for c in columns]


def fetch_statement(
    target: sa.Table, ids: Sequence[str], columns: list[sa.Column[Any]]
) -> Select[Any]:
    """The id, then `columns`, of the rows of `ids`, in no order (:func:`in_given_order`
    puts them in the order asked). ``id IN (?, ...)`` is answered by the primary key's index;
    a join against the ids, as before, scanned every row group of a million contacts (a
    100-row page: ~25 ms against ~300 ms)."""
    return sa.select(target.c.id, *columns).where(target.c.id.in_(list(dict.fromkeys(ids))))


def in_given_order(ids: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    """The rows of fetch_statement (id first, dropped here) in the order of `ids`: an id
    given twice comes twice, an unknown one is absent."""
    by_id = {row[0]: row[1:] for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def companies_of_contacts(
    rows: Rows, contact_ids: Sequence[str], columns: list[sa.Column[Any]]
) -> list[Any]:
    """The companies that the given contacts belong to: their company ids, then those
    companies, both ``id IN (?, ...)`` lookups in the primary keys' indexes (one statement
    with a subquery scanned every company and every contact row group: ~100 ms at 1M)."""
    companies, contacts = table("companies"), table("contacts")
    owners = sa.select(contacts.c.company_id).distinct().where(
        contacts.c.id.in_(list(dict.fromkeys(contact_ids))), contacts.c.company_id.is_not(None)
    )
    company_ids = [r[0] for r in rows(owners)]
    if not company_ids:
        return []
    return rows(sa.select(*columns).where(companies.c.id.in_(company_ids)))


def page_statement(
    query: Query, facts: TextFacts = NO_FACTS, window: Sequence[Any] | None = None
) -> Select[Any]:
    """VQL's select with one extra row, which tells whether another page follows. Only a
    sort on a company field selects from the joined view (whose columns its filters then
    use); otherwise filters on company fields are semi-joins.
    `window`: the answer of :func:`window_statement`, which bounds the rows to sort."""
    source = search_source(query.service, {s.field for s in query.order_by})
    joined = related(query.service, source)
    statement = compile_sql(query, source, related=joined, facts=facts)
    bound = None if window is None else window_bound(query, source, window)
    if bound is not None:
        statement = statement.where(bound)
    return statement.limit(query.limit + 1)


def ranked_source(service: str, fields: Iterable[str]) -> sa.Subquery:
    """The table's row ids (``row_id``), ids and `fields` (an order's), with the view's
    LEFT JOIN when one is a company field: what the filter cache (stores/duckdb/filters.py)
    ranks rows in, and reads a row's sort values from (:func:`row_sort_statement`)."""
    target = table(service)
    wanted = {"id", *fields}
    columns: list[Any] = [sa.literal_column(f"{target.name}.rowid").label("row_id")]
    columns += [c for c in target.c if c.name in wanted]
    joined: sa.FromClause = target
    company = [name for name in COMPANY_VIEW_COLUMNS if name in wanted]
    if service == "contacts" and company:
        columns += [companies.c[COMPANY_VIEW_COLUMNS[name]].label(name) for name in company]
        joined = contacts.outerjoin(companies, companies.c.id == contacts.c.company_id)
    return sa.select(*columns).select_from(joined).subquery("ranked")


def rank_statement(service: str, keys: Sequence[SortKey]) -> Select[Any]:
    """The row id of every row, in the order of `keys` (a page's effective order)."""
    source = ranked_source(service, {k.field for k in keys})
    order = SqlCompiler(service, source).order(keys)
    return sa.select(source.c.row_id).order_by(*order)


def row_sort_statement(service: str, keys: Sequence[SortKey], row: str) -> Select[Any]:
    """The row id of the row whose id is `row`, and its sort values in the order of `keys`
    (before the id, as a cursor holds them): where a cursor ended, and what the next one
    holds. Only ``id = ?`` filters, so that the primary key's index answers it (a
    condition on the values beside it made DuckDB scan every row: ~37 ms at 1M)."""
    fields = {k.field for k in keys}
    target = table(service)
    joined = search_source(service, fields) is not target
    source = ranked_source(service, fields) if joined else target
    compiler = SqlCompiler(service, source)
    row_id = source.c.row_id if joined else sa.literal_column(f"{target.name}.rowid")
    values = [compiler.sort_expr(k) for k in keys[:-1]]
    return sa.select(row_id, *values).select_from(source).where(compiler.column("id") == row)


def condition_sql(service: str, node: Condition, facts: TextFacts) -> sa.ColumnElement[Any]:
    """One condition of a where over the service's table, as the where compiles it (company
    fields as semi-joins)."""
    compiler = SqlCompiler(service, table(service), related=related(service), facts=facts)
    return compiler.condition(node)


def window_statement(query: Query, facts: TextFacts = NO_FACTS) -> Select[Any] | None:
    """The first sort key's values of the rows up to the end of the page and one more
    (vql.sql.compile_sql_window); None when the key is not a number or a date, or is a
    company field (a window through the view's join costs the join once more). On a million
    contacts the newest 26 by created_at then id took ~70-190 ms as one sort, ~5 + ~40 ms
    as this window and then the sort of the rows it bounds."""
    source = search_source(query.service, {s.field for s in query.order_by})
    if source is not table(query.service):
        return None
    size = query.offset + query.limit + 1
    return compile_sql_window(
        query, source, size, related=related(query.service), facts=facts
    )


def count_statement(
    service: str, where: Where | None, facts: TextFacts = NO_FACTS
) -> Select[Any]:
    source = search_source(service)
    statement = sa.select(sa.func.count()).select_from(source)
    if where is not None and not where.is_empty:
        statement = statement.where(
            compile_sql_where(where, source, related=related(service), facts=facts)
        )
    return statement


def values_statement(
    service: str,
    field: str,
    search_text: str,
    limit: int,
    where: Where | None,
    prefix_first: bool = True,
    facts: TextFacts = NO_FACTS,
) -> Select[Any]:
    """vql's filter-values select, with prefix matches moved to the front when asked."""
    spec = registry(service).get(field)
    if spec is None or not spec.has_values:
        listable = [f.name for f in registry(service) if f.has_values]
        message = f"{field!r} has no value list; allowed: {', '.join(listable)}"
        raise VQLUnsupportedError([ErrorDetail("/filter_key", message, "unsupported")])
    needle = search_text.strip().lower() or None
    request = ValuesRequest(service, field, needle, max(1, limit), where)
    source = search_source(service, where_fields(where) | {field})
    statement = compile_sql_values(request, source, facts=facts)
    if needle is None or not prefix_first:
        return statement
    value, count = statement.selected_columns[0], statement.selected_columns[1]
    return statement.order_by(None).order_by(
        sa.func.starts_with(value, needle).desc(), count.desc(), value.asc()
    )


def ids_for_file_statement(service: str, source_file: str) -> Select[Any]:
    """Ids of the records this file contributed to."""
    target = table(service)
    return (
        sa.select(target.c.id)
        .where(sa.func.list_contains(target.c.source_file, source_file))
        .order_by(target.c.id)
    )

"""The embedded search index: one tantivy index per service in a folder beside the DuckDB file.

It holds ids and the filterable / sortable fields (layout: vql/tantivy_plan.py), analyzed
as OpenSearch's mapping does, and answers filter pages and counts; DuckDB keeps the records,
as PostgreSQL does beside OpenSearch. Readers keep answering from the last commit while one
writer (the loader, holding the DuckDB file's write turn) adds a batch and commits.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tantivy

from vql.nodes import Where
from vql.tantivy_plan import (
    CHUNK,
    PagePlan,
    Plan,
    TantivyFallback,
    chunk_field,
    index_fields,
    substring_terms,
)
from vql.text import auto_fuzziness

# OpenSearch's standard tokenizer (UAX#29 word boundaries) for the scripts our data holds:
# letters joined by ' . : (o'neil, john.doe, example.com), digits by . , ; ' (3.14, 1,000),
# letters and digits run together, underscores and marks join.
WORD_PATTERN = r"(?:\p{L}(?:['.’:·]\p{L})*|\p{Nd}(?:[.,;'’]\p{Nd})*|[\p{M}\p{Pc}])+"
ANALYZERS = {
    "words": tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD_PATTERN))
    .filter(tantivy.Filter.lowercase())
    .build(),
    "kw": tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw())
    .filter(tantivy.Filter.lowercase())
    .build(),
    "chunks": tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(f"(?s).{{1,{CHUNK}}}"))
    .filter(tantivy.Filter.lowercase())
    .build(),
}
WRITER_HEAP = 128_000_000
# A writer lives for one batch. Waiting for the merges its commit starts costs about a third
# of the batch's indexing time, so a batch waits only once this many segments piled up.
MERGE_AT_SEGMENTS = 12
SPARE = 16  # hits read past a page, to see where its last key value ends
SERVICES = ("contacts", "companies")


def schema(service: str) -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name, kind, _ in index_fields(service):
        if kind == "id":
            builder.add_text_field(
                name, stored=True, fast=True, tokenizer_name="raw", index_option="basic"
            )
        elif kind == "id_hi":
            builder.add_unsigned_field(name, indexed=True, fast=True)
        elif kind == "int":
            builder.add_integer_field(name, indexed=True, fast=True)
        elif kind in ("kw", "sort"):
            builder.add_text_field(
                name, fast=kind == "sort", tokenizer_name="kw", index_option="basic"
            )
        else:
            builder.add_text_field(name, tokenizer_name=kind)
    return builder.build()


@functools.cache
def _layout(service: str) -> str:
    return hashlib.sha256(repr((index_fields(service), WORD_PATTERN)).encode()).hexdigest()[:12]


class SearchIndex:
    """The index folder; `open` gives one service's index (created on first use)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._indexes: dict[str, tantivy.Index] = {}
        self._lock = threading.Lock()

    def path(self, service: str) -> Path:
        """The service's sub-folder, named by its layout: a release that changes the layout
        starts an empty one (SQL answers until `migrate` has refilled it)."""
        return self.folder / f"{service}-{_layout(service)}"

    def exists(self) -> bool:
        return all((self.path(s) / "meta.json").is_file() for s in SERVICES)

    def drop_stale(self) -> None:
        """Removes the sub-folders of older layouts."""
        current = {self.path(s) for s in SERVICES}
        for folder in self.folder.iterdir() if self.folder.is_dir() else ():
            if folder.is_dir() and folder not in current:
                shutil.rmtree(folder, ignore_errors=True)

    def open(self, service: str) -> tantivy.Index:
        with self._lock:
            index = self._indexes.get(service)
            if index is None:
                path = self.path(service)
                path.mkdir(parents=True, exist_ok=True)
                index = tantivy.Index(schema(service), str(path), reuse=True)
                for name, analyzer in ANALYZERS.items():
                    index.register_tokenizer(name, analyzer)
                index.register_fast_field_tokenizer("kw", ANALYZERS["kw"])
                self._indexes[service] = index
            return index

    def forget(self) -> None:
        """Drops the opened indexes: the next use opens the folder again."""
        with self._lock:
            self._indexes.clear()

    def searcher(self, service: str) -> tuple[tantivy.Searcher, tantivy.Schema]:
        index = self.open(service)
        index.reload()  # the loader commits in another process
        return index.searcher(), index.schema

    def num_docs(self, service: str) -> int:
        """Documents in the service's index; an unreadable index is removed (0)."""
        try:
            return int(self.searcher(service)[0].num_docs)
        except (ValueError, OSError):
            self.forget()
            shutil.rmtree(self.path(service), ignore_errors=True)
            return 0

    def write(self, service: str, ids: list[str], documents: Iterable[str]) -> None:
        """Replaces the documents of `ids` by `documents` (JSON), in one commit."""
        index = self.open(service)
        writer = index.writer(WRITER_HEAP, 1)
        try:
            for start in range(0, len(ids), 10_000):
                chunk = ids[start : start + 10_000]
                writer.delete_documents_by_query(
                    tantivy.Query.term_set_query(index.schema, "id", chunk)
                )
            for document in documents:
                writer.add_json(document)
            writer.commit()
            index.reload()
            if index.searcher().num_segments > MERGE_AT_SEGMENTS:
                writer.wait_merging_threads()  # else the merges started are dropped with it
        except BaseException:
            writer.rollback()
            raise

    # -- reads -------------------------------------------------------------------------------

    def count(self, service: str, plan: Plan) -> int:
        searcher, schema_ = self.searcher(service)
        return _count(searcher, build(schema_, plan))

    def page(self, service: str, plan: PagePlan) -> tuple[list[tuple[str, Any]], int]:
        """(id, sort value) rows from the page's offset, up to plan.need, and the total."""
        searcher, schema_ = self.searcher(service)
        query = build(schema_, plan.where)
        if plan.after is None:
            return _ordered(searcher, schema_, query, plan, plan.need, count=True)
        total = _count(searcher, query)
        value, last_id = plan.after
        rows = [(i, value) for i in _group_after(searcher, schema_, query, plan, value, last_id)]
        if value is not None:  # missing values come last: nothing after their group
            beyond = _beyond(schema_, query, plan, value)
            rows += _ordered(searcher, schema_, beyond, plan, plan.need - len(rows))[0]
        return rows[: plan.need], total


def _ordered(
    searcher: tantivy.Searcher,
    schema_: tantivy.Schema,
    query: tantivy.Query,
    plan: PagePlan,
    need: int,
    count: bool = False,
) -> tuple[list[tuple[str, Any]], int]:
    """The rows of `query` in (key, id) order from plan.offset up to `need`, and the total
    when `count`. tantivy orders by the key alone, so SPARE more hits are read: when the
    key's value changes within them, the hits hold every row up to `need` and are sorted
    here; else the rows sharing that last value are read in id order (one more search)."""
    order = tantivy.Order.Desc if plan.descending else tantivy.Order.Asc
    result = searcher.search(
        query, max(need, 1) + SPARE, count=count, order_by_field=plan.sort_field, order=order
    )
    total = int(getattr(result, "count")) if count else 0  # noqa: B009 - not in the stubs
    hits = result.hits
    if need <= 0 or not hits:
        return [], total
    boundary = hits[min(need, len(hits)) - 1][0]
    if len(hits) < need + SPARE or hits[-1][0] != boundary:
        rows = _sorted([(searcher.doc(a)["id"][0], v) for v, a in hits], plan.descending)
        return rows[plan.offset if count else 0 : need], total
    before = _sorted(
        [(searcher.doc(a)["id"][0], v) for v, a in hits if v != boundary], plan.descending
    )
    group = _group(searcher, schema_, query, plan, boundary, limit=need - len(before))
    rows = before + [(i, boundary) for i in group]
    return rows[plan.offset if count else 0 : need], total


def _sorted(rows: list[tuple[str, Any]], descending: bool) -> list[tuple[str, Any]]:
    """(id, key) rows by key (missing last either way), then id."""
    rows.sort(key=lambda r: r[0])
    present = [r for r in rows if r[1] is not None]
    present.sort(key=lambda r: r[1], reverse=descending)  # stable: ids stay ascending
    return present + [r for r in rows if r[1] is None]


def _group_after(
    searcher: tantivy.Searcher,
    schema_: tantivy.Schema,
    query: tantivy.Query,
    plan: PagePlan,
    value: Any,
    last_id: str,
) -> list[str]:
    """Ids after `last_id` among the rows whose key is `value`, in id order, plan.need at
    most. `id_hi` (the id's first 64 bits, in the id's order) skips the group's earlier
    rows without reading them; what shares those 64 bits with `last_id` is sorted out here."""
    try:
        high = int(last_id.replace("-", "")[:16], 16)
    except ValueError:  # not a uuid: read the group whole
        group = _group(searcher, schema_, query, plan, value)
        return group[bisect.bisect_right(group, last_id) :][: plan.need]
    later = _and(
        query, tantivy.Query.range_query(schema_, "id_hi", tantivy.FieldType.Unsigned, high, None)
    )
    spare = 64
    group = _group(searcher, schema_, later, plan, value, limit=plan.need + spare)
    after = group[bisect.bisect_right(group, last_id) :]
    if len(group) == plan.need + spare and len(group) - len(after) >= spare:
        group = _group(searcher, schema_, query, plan, value)  # pragma: no cover - 64 ties
        after = group[bisect.bisect_right(group, last_id) :]
    return after[: plan.need]


def _group(
    searcher: tantivy.Searcher,
    schema_: tantivy.Schema,
    query: tantivy.Query,
    plan: PagePlan,
    value: Any,
    limit: int | None = None,
) -> list[str]:
    """Ids of the rows of `query` whose key is `value` (None: missing), in id order."""
    if value is None:
        same = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, query),
                (tantivy.Occur.MustNot, tantivy.Query.exists_query(plan.sort_field)),
            ]
        )
    elif plan.key.kind == "keyword":
        same = _and(query, tantivy.Query.term_query(schema_, plan.sort_field, value))
    else:
        same = _and(
            query,
            tantivy.Query.range_query(
                schema_, plan.sort_field, tantivy.FieldType.Integer, value, value
            ),
        )
    if limit is None:
        limit = _count(searcher, same)
    if limit <= 0:
        return []
    hits = searcher.search(
        same, limit, count=False, order_by_field="id", order=tantivy.Order.Asc
    ).hits
    return [str(v) for v, _ in hits]


def _beyond(
    schema_: tantivy.Schema, query: tantivy.Query, plan: PagePlan, value: Any
) -> tantivy.Query:
    """The rows of `query` strictly after key `value`, missing values included (last)."""
    if plan.key.kind == "keyword":  # pragma: no cover - compile_tantivy_page refuses it
        raise TantivyFallback("keyword cursor")
    lower, upper = (None, value) if plan.descending else (value, None)
    strictly = tantivy.Query.range_query(
        schema_,
        plan.sort_field,
        tantivy.FieldType.Integer,
        lower,
        upper,
        include_lower=lower is None,
        include_upper=upper is None,
    )
    missing = tantivy.Query.boolean_query(
        [
            (tantivy.Occur.Must, tantivy.Query.all_query()),
            (tantivy.Occur.MustNot, tantivy.Query.exists_query(plan.sort_field)),
        ]
    )
    either = tantivy.Query.boolean_query(
        [(tantivy.Occur.Should, strictly), (tantivy.Occur.Should, missing)]
    )
    return _and(query, either)


def _count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    result = searcher.search(query, 1, count=True)  # a limit of 0 panics
    return int(getattr(result, "count"))  # noqa: B009 - missing from the type stubs


def _and(*queries: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


# -- plan -> tantivy.Query ---------------------------------------------------------------------


def build(schema_: tantivy.Schema, plan: Plan) -> tantivy.Query:
    kind = plan[0]
    if kind == "all":
        return tantivy.Query.all_query()
    if kind == "bool":
        must, must_not, should = plan[1:]
        clauses = [(tantivy.Occur.Must, build(schema_, p)) for p in must]
        if should:
            either = [(tantivy.Occur.Should, build(schema_, p)) for p in should]
            clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(either)))
        if not clauses:
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        clauses += [(tantivy.Occur.MustNot, build(schema_, p)) for p in must_not]
        return tantivy.Query.boolean_query(clauses)
    if kind == "terms":
        return tantivy.Query.term_set_query(schema_, plan[1], list(plan[2]))
    if kind == "range":
        _, field, lower, upper, incl_lower, incl_upper = plan
        return tantivy.Query.range_query(
            schema_,
            field,
            tantivy.FieldType.Integer,
            lower,
            upper,
            include_lower=incl_lower or lower is None,
            include_upper=incl_upper or upper is None,
        )
    if kind == "phrase":
        return _phrase(schema_, plan[1], words(plan[2]), plan[3])
    if kind == "words":
        return _words(schema_, plan[1], words(plan[2]), plan[3], plan[4])
    if kind == "substring":
        return _substring(schema_, plan[1], plan[2])
    raise TantivyFallback(f"plan node {kind}")  # pragma: no cover


def words(text: str) -> list[str]:
    """The words of a query text, split by the very analyzer that split the values."""
    return [str(w) for w in ANALYZERS["words"].analyze(text)]


def _phrase(schema_: tantivy.Schema, field: str, terms: list[str], slop: int) -> tantivy.Query:
    if not terms:
        return tantivy.Query.empty_query()
    if len(terms) == 1:
        return tantivy.Query.term_query(schema_, field, terms[0])
    phrase: list[str | tuple[int, str]] = list(terms)
    return tantivy.Query.phrase_query(schema_, field, phrase, slop)


def _words(
    schema_: tantivy.Schema, field: str, terms: list[str], operator: str, fuzzy: bool
) -> tantivy.Query:
    unique = list(dict.fromkeys(terms))
    if not unique:
        return tantivy.Query.empty_query()
    occur = tantivy.Occur.Must if operator == "and" else tantivy.Occur.Should
    parts = []
    for word in unique:
        distance = auto_fuzziness(word) if fuzzy else 0
        if distance:
            parts.append(
                tantivy.Query.fuzzy_term_query(schema_, field, word, distance, False, False)
            )
        else:
            parts.append(tantivy.Query.term_query(schema_, field, word))
    return tantivy.Query.boolean_query([(occur, p) for p in parts])


def _substring(schema_: tantivy.Schema, field: str, needle: str) -> tantivy.Query:
    name = chunk_field(field)
    starts = []
    for terms in substring_terms(needle):
        if len(terms) == 1:
            starts.append(tantivy.Query.regex_query(schema_, name, terms[0]))
        else:
            phrase: list[str | tuple[int, str]] = list(terms)
            starts.append(tantivy.Query.regex_phrase_query(schema_, name, phrase))
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in starts])


def where_plan(where: Where | None) -> Plan:
    from vql.tantivy_plan import compile_tantivy_where

    return ("all",) if where is None else compile_tantivy_where(where)

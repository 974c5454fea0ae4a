"""The embedded store's filter cache: the rows each condition of a where matched, and the
rows in each sort order, kept in memory for as long as the file holds the same data.

A count or a page at 1M contacts scans every row for its where (~30 ms for the section-6
where, quiet, plus ~30 ms expanding its fuzzy words); a UI asks the same conditions again
and again (the page, then its count, the next page, another sort, one more filter beside
them). OpenSearch answers those from its query cache, bitsets of the documents a filter
matched, per segment; this is the same thing for the DuckDB file:

- a condition's answer is a bitmap over the table's row ids (a numpy bool array, 1 byte a
  row: 1 MB at 1M contacts), read once as ``SELECT rowid ... WHERE <condition>``, by the
  same SQL as the uncached path (vql.sql), so both answer alike;
- a where is its conditions' bitmaps combined as vql.sql combines them (must AND, must_not
  AND NOT, at least one should), and a count is the bits set;
- a sort order's **ranking** is every row id in that order (one ``ORDER BY`` of the
  whole table, ~0.2-0.45 s at 1M, then 4 bytes a row, and each row id's place in it); a
  page walks the ranking from the start (or from the row its cursor ended at) and keeps
  the first offset + limit + 1 matching rows, the order SQL sorts them in (the ranking is
  that SQL's ``ORDER BY``, ending with the id); their ids come from each row id's id, read
  once per token like a ranking (16 bytes a row), and only the page's last row is read
  (by its id, for the next cursor's sort values);
- everything is keyed by the file's **write token** (migration step 5): every write
  transaction stores a new random token, so a reader that reads the token it cached under,
  in its own snapshot, sees the same rows at the same row ids. Row ids only move when a
  write's checkpoint compacts the table, after that write's new token. Reads that joined a
  write connection of this process (before that checkpoint) do not use the cache.

Like Lucene's cache it takes a condition (and a ranking) from its second use (``min_uses``)
within one token, so a one-off query costs what it did; a where with a first-seen
condition runs as plain SQL. Memory is bounded (``max_bytes``, least recently used out
first); a new token drops everything. The fuzzy words' expansions against the data (a few
terms each) are kept per token from their first use, for plain SQL too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from vql.nodes import Condition, Where
from vql.sql import TextFacts

TOKEN_STATEMENT = "SELECT token FROM write_token"  # noqa: S105 (not a secret)
_CATALOG = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND "
TOKEN_TABLE_STATEMENT = _CATALOG + "table_name = 'write_token'"  # noqa: S105
NEW_TOKEN_STATEMENT = "UPDATE write_token SET token = CAST(uuid() AS VARCHAR)"  # noqa: S105
ROWID: sa.ColumnClause[Any] = sa.literal_column("rowid")


def id_bytes(table: sa.Table) -> sa.ColumnElement[Any]:
    """The table's uuid id as its 16 bytes."""
    text = sa.func.replace(sa.cast(table.c.id, sa.String), "-", "")
    return sa.func.unhex(text).label("id")


MAX_COUNTED = 100_000  # conditions and orders whose uses are counted, per token

Run = Callable[[Any], duckdb.DuckDBPyConnection]  # a statement run on the read cursor
Key = tuple[str, Hashable]
Ranking = tuple[np.ndarray, np.ndarray]  # row ids in order; each row id's place (-1: none)


def read_token(cursor: duckdb.DuckDBPyConnection) -> str | None:
    """The write token in the cursor's transaction (the table must exist)."""
    rows = cursor.execute(TOKEN_STATEMENT).fetchall()
    return str(rows[0][0]) if rows else None


@dataclass(frozen=True)
class Matches:
    """A where's answer from the cache: which row ids of the table match."""

    mask: np.ndarray

    @property
    def total(self) -> int:
        return int(np.count_nonzero(self.mask))


@dataclass
class _Generation:
    """What is cached for one write token."""

    token: str
    bounds: dict[str, int] = field(default_factory=dict)  # rowid bound per table
    entries: OrderedDict[Key, Any] = field(default_factory=OrderedDict)  # masks, rankings
    uses: dict[Key, int] = field(default_factory=dict)
    nbytes: int = 0
    expansions: dict[tuple[str, str, str, int], list[str]] = field(default_factory=dict)


class FilterCache:
    """One per store (the API process keeps one store): thread-safe, bounded."""

    def __init__(self, max_bytes: int = 64 << 20, min_uses: int = 2) -> None:
        self.max_bytes = max_bytes
        self.min_uses = min_uses
        self._lock = threading.Lock()
        self._gen: _Generation | None = None
        self.hits = 0  # conditions answered from memory (tests and measurements read them)
        self.misses = 0
        self.pages = 0  # pages picked along a ranking

    def matches(
        self,
        run: Run,
        token: str,
        where: Where | None,
        condition_sql: Callable[[Condition, TextFacts], Any],
        facts_for: Callable[[Where], TextFacts],
        table: sa.Table,
    ) -> Matches | None:
        """The where's matching rows, or None (plain SQL answers): a condition not used
        often enough yet in this token. ``condition_sql(node, facts)`` is the SQL of one
        condition; ``facts_for(where)`` reads the text facts its conditions need."""
        gen = self._generation(token)
        if where is None or where.is_empty:
            return Matches(self._everything(gen, run, table))
        nodes = (*where.must, *where.must_not, *where.should)
        keys: list[Key] = [(where.service, n) for n in nodes]  # conditions are frozen
        known: dict[Key, np.ndarray] = {}
        with self._lock:
            for k in keys:
                found = self._use(gen, k)
                if found is not None:
                    known[k] = found
            if any(gen.uses[k] < self.min_uses for k in keys if k not in known):
                return None
        missing = [n for n, k in zip(nodes, keys, strict=True) if k not in known]
        if missing:
            bound = self._bound(gen, run, table)
            facts = facts_for(Where(where.service, must=tuple(missing)))
            for node in missing:
                condition = sa.func.coalesce(condition_sql(node, facts), sa.false())
                mask = _bitmap(run, sa.select(ROWID).select_from(table).where(condition), bound)
                known[(where.service, node)] = mask
                self._keep(gen, (where.service, node), mask)
        with self._lock:
            self.hits += len(nodes) - len(missing)
            self.misses += len(missing)
        masks = [known[k] for k in keys]
        n_must, n_not = len(where.must), len(where.must_not)
        result = np.ones_like(masks[0])
        for m in masks[:n_must]:
            result &= m
        for m in masks[n_must:n_must + n_not]:
            result &= ~m
        if where.should:
            some = np.zeros_like(result)
            for m in masks[n_must + n_not:]:
                some |= m
            result &= some
        return Matches(result)

    def page_rows(
        self,
        run: Run,
        token: str,
        order: Hashable,
        rank: Callable[[], Any],
        table: sa.Table,
        after: int | None,
        size: int,
        matches: Matches,
    ) -> np.ndarray | None:
        """The row ids of the first `size` matches in the page's order (after the row id
        `after`, the row a cursor ended at), walked along the order's ranking (``rank()``:
        the statement of every row id in that order). None (plain SQL sorts) until the
        order's second use in this token."""
        gen = self._generation(token)
        key: Key = ("order", order)
        with self._lock:
            ranking: Ranking | None = self._use(gen, key)
            if ranking is None and gen.uses[key] < self.min_uses:
                return None
        if ranking is None:
            ranking = self._rank(gen, run, rank, table)
            self._keep(gen, key, ranking)
        rows, place = ranking
        begin = 0 if after is None else int(place[after]) + 1
        with self._lock:
            self.pages += 1
        found: list[np.ndarray] = []
        count, step = 0, max(size * 4, 1024)
        while count < size and begin < len(rows):
            part = rows[begin:begin + step]
            hits = part[matches.mask[part]]
            found.append(hits)
            count, begin, step = count + len(hits), begin + len(part), step * 2
        return np.concatenate(found)[:size] if found else rows[:0]

    def ids(self, run: Run, arrow: Callable[[Any], pa.Table], token: str, table: sa.Table
            ) -> np.ndarray:
        """Each row id's id (16 bytes, as ``uuid.UUID(bytes=...)`` reads them; zeros where
        no row is): what names the rows a page picked along a ranking. Kept like a ranking
        (16 bytes a row), read with the table's first such page in a token (``arrow(statement)``:
        its rows as an Arrow table, ~0.17 s at 1M)."""
        gen = self._generation(token)
        key: Key = (table.name, "ids")
        with self._lock:
            found: np.ndarray | None = self._use(gen, key)
        if found is None:
            found = np.zeros(self._bound(gen, run, table), dtype="V16")
            got = arrow(sa.select(ROWID, id_bytes(table)).select_from(table))
            column = pc.cast(got.column("id").combine_chunks(), pa.binary(16))
            found[got.column("rowid").to_numpy()] = np.frombuffer(
                column.buffers()[1], dtype="V16", count=len(column), offset=column.offset * 16)
            self._keep(gen, key, found)
        return found

    def expansions(self, token: str) -> dict[tuple[str, str, str, int], list[str]]:
        """The fuzzy words expanded against the data of `token` (service, field, word,
        edits -> terms), for stores/duckdb/queries.text_facts to read and fill."""
        gen = self._generation(token)
        if len(gen.expansions) >= MAX_COUNTED:
            gen.expansions.clear()
        return gen.expansions

    # -- bookkeeping -----------------------------------------------------------------------

    def _rank(self, gen: _Generation, run: Run, rank: Callable[[], Any], table: sa.Table
              ) -> Ranking:
        bound = self._bound(gen, run, table)
        small = np.int32 if bound < 2**31 else np.int64
        rows = run(rank()).fetchnumpy()["row_id"].astype(small)
        place = np.full(bound, -1, dtype=small)
        place[rows] = np.arange(len(rows), dtype=small)
        return rows, place

    def _everything(self, gen: _Generation, run: Run, table: sa.Table) -> np.ndarray:
        """Every row of the table (the answer of an empty where)."""
        key: Key = (table.name, None)
        with self._lock:
            found: np.ndarray | None = self._use(gen, key)
        if found is None:
            found = _bitmap(run, sa.select(ROWID).select_from(table), self._bound(gen, run, table))
            self._keep(gen, key, found)
        return found

    def _generation(self, token: str) -> _Generation:
        with self._lock:
            if self._gen is None or self._gen.token != token:
                self._gen = _Generation(token)
            return self._gen

    def _use(self, gen: _Generation, key: Key) -> Any:
        """Counts a use of `key` and returns what is kept for it (None); under the lock."""
        if len(gen.uses) >= MAX_COUNTED and key not in gen.uses:
            gen.uses.clear()  # a long quiet spell of distinct queries: start counting anew
        gen.uses[key] = gen.uses.get(key, 0) + 1
        found = gen.entries.get(key)
        if found is not None:
            gen.entries.move_to_end(key)
        return found

    def _bound(self, gen: _Generation, run: Run, table: sa.Table) -> int:
        with self._lock:
            bound = gen.bounds.get(table.name)
        if bound is None:
            top = run(sa.select(sa.func.max(ROWID)).select_from(table)).fetchall()[0][0]
            bound = 0 if top is None else int(top) + 1
            with self._lock:
                gen.bounds[table.name] = bound
        return bound

    def _keep(self, gen: _Generation, key: Key, value: Any) -> None:
        with self._lock:
            if self._gen is not gen or key in gen.entries:
                return
            gen.entries[key] = value
            gen.nbytes += _nbytes(value)
            while gen.nbytes > self.max_bytes and gen.entries:
                _, old = gen.entries.popitem(last=False)
                gen.nbytes -= _nbytes(old)


def _nbytes(value: Any) -> int:
    arrays = value if isinstance(value, tuple) else (value,)
    return sum(int(a.nbytes) for a in arrays)


def _bitmap(run: Run, rowids: Any, bound: int) -> np.ndarray:
    """The row ids a statement selects, as a bitmap of `bound` rows."""
    mask = np.zeros(bound, dtype=bool)
    mask[run(rowids).fetchnumpy()["rowid"]] = True
    return mask

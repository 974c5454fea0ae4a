"""DuckDBStore: the embedded profile's record store *and* search store, on one DuckDB file.

The records are the search data here: VQL compiles to SQL over the ``contacts_search`` view
and the ``companies`` table (vql.compile_sql), so the search role's ``bulk_upsert`` and
``index_documents`` write nothing (the record upsert already did) and ``refresh`` has nothing
to wait for. Every operation opens the file only for as long as it runs
(stores/duckdb/access.py explains why and how processes share it). Driver errors leave this
class only as StoreErrors; VQL errors (a cursor from another backend, a field without
values) pass through unchanged.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from stores.base import IDS_PAGE, Documents, Record, SearchPage, Service, ValueCount
from stores.duckdb import queries
from stores.duckdb.access import FileAccess, Mode, Timing
from stores.duckdb.alarms import ALARMS
from stores.duckdb.batches import ORDINAL, conform, fact_holds, has_repeated_ids
from stores.duckdb.errors import BACKEND, translated
from stores.duckdb.filters import (
    NEW_TOKEN_STATEMENT,
    TOKEN_TABLE_STATEMENT,
    FilterCache,
    Matches,
    read_token,
)
from stores.duckdb.migrate import HEAD, STEPS, TOKEN_STEP, apply_migrations, current_version
from stores.duckdb.schema import INGEST_REJECTS, SPECS, ingest_rejects
from stores.duckdb.upsert import (
    BATCH,
    broken_facts_statement,
    facts_statement,
    merge_statements,
    rejects_statement,
)
from stores.errors import BackendMisconfigured, TerminalStoreError
from stores.records import json_records, rejects_select
from stores.settings import Settings
from stores.versions import DatasetVersion, mark_statement, newest_statement
from vql.cursor import CursorCodec
from vql.cursor_values import check_cursor, sort_values_from_row
from vql.explain import ExplainRequest, count_plan, explain_payload, probes
from vql.explain_sql import (
    compile_sql_counts,
    compile_sql_probes,
    read_sql_counts,
    read_sql_probes,
)
from vql.facets import FacetsRequest, facets_payload
from vql.facets_sql import compile_sql_facets, read_sql_facets
from vql.nodes import Query, Where
from vql.sql import TextFacts, fuzzy_words
from vql.sql_dialects import to_duckdb

CountedTable = Literal["contacts", "companies", "ingest_rejects"]
_REJECT_COLUMNS = INGEST_REJECTS[1:]  # the id comes from the sequence
_REQUIRED_REJECT_COLUMNS = {"source_file", "load_run", "line", "reason"}
MEMO_ENTRIES = 512  # facts kept per opening of the file (_while_open) before starting over
T = TypeVar("T")


class DuckDBStore:
    """stores.base.RecordStore and SearchStore on the DuckDB file at `path`.

    `cursors` signs next_cursor values (the API's codec); without it pages carry none.
    `statement_timeout_s` interrupts a read that runs longer (StoreTimeout): a runaway
    query would otherwise keep the file locked against loads.
    """

    index_prefix = ""  # one file: no index sets, no alias to swap
    concurrent_reads = False  # reads share the API process's cores (stores/base.py)

    def __init__(
        self,
        path: Path,
        *,
        cursors: CursorCodec | None = None,
        timing: Timing | None = None,
        statement_timeout_s: float | None = 30.0,
        values_prefix_first: bool = True,
        filter_cache_mb: int = 64,
        filter_min_uses: int = 2,
    ) -> None:
        self.path = Path(path)
        self.cursors = cursors
        self.timing = timing or Timing()
        self.statement_timeout_s = statement_timeout_s
        self.values_prefix_first = values_prefix_first
        self.access = FileAccess.shared(self.path)
        self._migrated = False
        self._has_token = False  # the file has the write token's table (migration step 5)
        self._memo: tuple[int, dict[Hashable, Any]] = (0, {})  # see _while_open
        self.filter_cache = (
            FilterCache(filter_cache_mb << 20, filter_min_uses) if filter_cache_mb > 0 else None
        )

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> DuckDBStore:
        return cls(settings.duckdb_path, **options)

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _cursor(self, mode: Mode) -> Iterator[duckdb.DuckDBPyConnection]:
        with translated(), self.access.connection(mode, self.timing) as cursor:
            if mode == "read" and self.statement_timeout_s:
                alarm = ALARMS.call_later(self.statement_timeout_s, _interrupt, cursor)
                try:
                    yield cursor
                finally:
                    alarm.cancel()
            else:
                yield cursor

    @contextmanager
    def _read_snapshot(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read cursor whose statements all see one state of the file: a read-only
        connection needs no transaction for that (nothing can write the file while it is
        open, FileAccess.frozen), one joined to this process's write connection gets one."""
        with self._cursor("read") as cursor:
            if self.access.frozen() is not None:
                yield cursor
                return
            cursor.execute("BEGIN TRANSACTION")
            yield cursor
            cursor.execute("COMMIT")

    def _while_open(self, key: Hashable, read: Callable[[], T]) -> T:
        """`read`'s answer, read once per read-only opening of the file (FileAccess.frozen:
        the file cannot change meanwhile); read every time on a write connection."""
        opening = self.access.frozen()
        if opening is None:
            return read()
        memo = self._memo
        if memo[0] != opening or len(memo[1]) > MEMO_ENTRIES:
            memo = self._memo = (opening, {})
        if key not in memo[1]:
            memo[1][key] = read()
        return cast(T, memo[1][key])

    @contextmanager
    def _transaction(self, check_schema: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction; the schema is brought up to date first, once per store."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._cursor("write") as cursor:
            cursor.execute("BEGIN TRANSACTION")
            try:
                if check_schema and not self._migrated:
                    apply_migrations(cursor)
                yield cursor
                if check_schema or current_version(cursor) >= TOKEN_STEP:
                    cursor.execute(NEW_TOKEN_STATEMENT)  # readers' caches see a new state
                cursor.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):  # keep the first error
                    cursor.execute("ROLLBACK")
                raise
        self._migrated = True

    @staticmethod
    def _run(cursor: duckdb.DuckDBPyConnection, statement: Any) -> duckdb.DuckDBPyConnection:
        sql, params = to_duckdb(statement)
        return cursor.execute(sql, params)

    # -- schema -----------------------------------------------------------------------------

    def migrate(self, steps: tuple[tuple[str, ...], ...] = STEPS) -> list[int]:
        """Creates or upgrades the schema in place; returns the steps applied (idempotent)."""
        with self._transaction(check_schema=False) as cursor:
            return apply_migrations(cursor, steps)

    def ensure_indices(self) -> None:
        self.migrate()

    def schema_version(self) -> int:
        with self._cursor("read") as cursor:
            return current_version(cursor)

    # -- writes -----------------------------------------------------------------------------

    def upsert_companies(self, rows: pa.Table) -> None:
        self._upsert("companies", rows)

    def upsert_contacts(self, rows: pa.Table) -> None:
        self._upsert("contacts", rows)

    def _upsert(self, service: Service, rows: pa.Table) -> None:
        if rows.num_rows:
            with self._transaction() as cursor:
                self._merge(cursor, service, rows)

    @contextmanager
    def upserted_documents(self, companies: pa.Table, contacts: pa.Table) -> Iterator[Documents]:
        """Both upserts in one transaction; no documents, the records are the search data."""
        with self._transaction() as cursor:
            self._merge(cursor, "companies", companies)
            self._merge(cursor, "contacts", contacts)
            yield {"companies": (), "contacts": ()}

    def _merge(self, cursor: duckdb.DuckDBPyConnection, service: Service, rows: pa.Table) -> None:
        target = queries.table(service)
        spec = SPECS[service]
        batch = conform(rows, service, spec)
        if batch.num_rows == 0:
            return
        columns = [n for n in batch.column_names if n != ORDINAL]
        self._keep_column_facts(cursor, target, batch)
        cursor.register(BATCH, batch)
        try:
            for statement in merge_statements(target, spec, columns, has_repeated_ids(batch)):
                self._run(cursor, statement)
        finally:
            cursor.unregister(BATCH)

    def _keep_column_facts(
        self, cursor: duckdb.DuckDBPyConnection, target: sa.Table, batch: pa.Table
    ) -> None:
        """The facts that still hold for the batch's columns (schema.column_facts) and
        that the batch's values break are deleted, in the merge's transaction. Once none
        holds, this is one primary-key read per batch."""
        statement = facts_statement(target, batch.column_names)
        held = [(str(c), str(f)) for c, f in self._run(cursor, statement).fetchall()]
        broken = [(c, f) for c, f in held if not fact_holds(f, batch.column(c))]
        if broken:
            self._run(cursor, broken_facts_statement(target, broken))

    def insert_rejects(self, rows: pa.Table) -> None:
        """Appends rejected input rows; the same reject of the same run is stored once."""
        batch = conform(rows, "ingest_rejects", _REJECT_COLUMNS, needs_id=False)
        if batch.num_rows == 0:
            return
        missing = _REQUIRED_REJECT_COLUMNS - set(batch.column_names)
        if missing:
            needed = ", ".join(sorted(missing))
            raise TerminalStoreError(BACKEND, f"rejects need column(s) {needed}")
        columns = [n for n in batch.column_names if n != ORDINAL]
        statement = rejects_statement(ingest_rejects, columns)
        with self._transaction() as cursor:
            cursor.register(BATCH, batch)
            try:
                self._run(cursor, statement)
            finally:
                cursor.unregister(BATCH)

    def bulk_upsert(self, service: Service, documents: pa.Table) -> None:
        """Nothing to do: the search role reads the records that upsert_* already wrote."""
        queries.table(service)  # still refuse an unknown service

    def index_documents(self, service: Service, sources: Iterable[tuple[str, str]]) -> int:
        """Nothing to do, as for bulk_upsert."""
        queries.table(service)
        return 0

    def refresh(self) -> None:
        """Nothing to do: a committed write is visible to the next read."""

    def index_writes(
        self, index_set: str, *, exclusive: bool, wait_s: float
    ) -> AbstractContextManager[None]:
        """Nothing to hold: the records are the index, no alias is ever swapped."""
        return contextlib.nullcontext()

    # -- record reads -----------------------------------------------------------------------

    def fetch(
        self, service: Service, ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Record]:
        """Rows for ids, in the order given (an id given twice comes twice); unknown ids and
        strings that are not uuids are absent."""
        with self._cursor("read") as cursor:
            return _fetch(cursor, service, ids, columns)

    def companies_of_contacts(
        self, contact_ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> dict[str, Record]:
        """The companies of these contacts, keyed by company id: it needs no contact row
        first, so it runs beside the fetch of the rows."""
        with self._cursor("read") as cursor:
            return _companies_of_contacts(cursor, contact_ids, columns)

    def ids_for_file(self, service: Service, source_file: str) -> Iterator[str]:
        """Ids of the records this file contributed to, ascending: read at once as one
        Arrow column (~40 bytes an id) so that no read is held open while they are walked."""
        with self._cursor("read") as cursor:
            ids = _arrow(cursor, queries.ids_for_file_statement(service, source_file)).column("id")
        for start in range(0, len(ids), IDS_PAGE):
            yield from ids.slice(start, IDS_PAGE).to_pylist()

    def rejects(
        self, *, source_file: str | None = None, load_run: str | None = None
    ) -> list[Record]:
        """Stored rejects of a file and/or a run, in line order."""
        statement = rejects_select(ingest_rejects, source_file=source_file, load_run=load_run)
        with self._cursor("read") as cursor:
            rows = self._run(cursor, statement).fetchall()
        return json_records([c.name for c in ingest_rejects.c], rows)

    def count_rows(self, table: CountedTable) -> int:
        target = ingest_rejects if table == "ingest_rejects" else queries.table(table)
        with self._cursor("read") as cursor:
            return _scalar(self._run(cursor, sa.select(sa.func.count()).select_from(target)))

    # -- dataset version and snapshots --------------------------------------------------------

    def mark_loaded(self, load_run: str) -> None:
        """Moves the dataset version: `load_run` completed (a second call is a no-op)."""
        with self._transaction() as cursor:
            self._run(cursor, mark_statement().bindparams(load_run=load_run))

    def dataset_version(self) -> DatasetVersion:
        with self._cursor("read") as cursor:
            return self._while_open("dataset_version", lambda: DatasetVersion.from_row(
                _first(self._run(cursor, newest_statement()))))

    @contextmanager
    def snapshot(self) -> Iterator[DuckDBSnapshot]:
        """One read transaction on the file for as long as the with-block runs (an export):
        every read through the snapshot sees the same committed state. No statement timer
        here (an export may run for minutes); a load waits for the file meanwhile, up to its
        write deadline, then retries (stores/duckdb/access.py)."""
        with translated(), self.access.connection("read", self.timing) as cursor:
            cursor.execute("BEGIN TRANSACTION")
            try:
                version = DatasetVersion.from_row(_first(self._run(cursor, newest_statement())))
                yield DuckDBSnapshot(self, cursor, version)
            finally:
                with contextlib.suppress(duckdb.Error):
                    cursor.execute("ROLLBACK")

    # -- search reads -----------------------------------------------------------------------

    def search(self, query: Query) -> SearchPage:
        """A page of ids in VQL order, the exact total, and the cursor of the next page."""
        with self._read_snapshot() as cursor:  # page and total from one state
            cached = self._cached_matches(cursor, query.service, query.where)
            if cached is None:
                rows, total = self._page(cursor, query)
            else:
                total = cached[1].total
                among = self._cached_page(cursor, query, *cached)
                rows = self._page(cursor, query, counted=False)[0] if among is None else among
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_cursor = None
        if more and rows and self.cursors is not None:
            next_cursor = self.cursors.encode(query, sort_values_from_row(query, rows[-1]))
        return SearchPage([r[0] for r in rows], total, next_cursor)

    def _page(
        self, cursor: duckdb.DuckDBPyConnection, query: Query, *, counted: bool = True
    ) -> tuple[list[Any], int]:
        """The page's rows (one more than the limit) and the total, by plain SQL (-1 unless
        `counted`)."""
        facts = self._text_facts(cursor, query.service, query.where)
        window_statement = queries.window_statement(query, facts)
        window = None
        if window_statement is not None:
            window = [r[0] for r in self._run(cursor, window_statement).fetchall()]
        page = queries.page_statement(query, facts, window)
        rows = self._run(cursor, page).fetchall()
        if not counted:
            return rows, -1
        if query.offset == 0 and query.cursor is None and len(rows) <= query.limit:
            return rows, len(rows)  # everything fit on the first page: nothing left to count
        statement = queries.count_statement(query.service, query.where, facts)
        return rows, _scalar(self._run(cursor, statement))

    def _cached_matches(
        self, cursor: duckdb.DuckDBPyConnection, service: str, where: Where | None
    ) -> tuple[str, Matches] | None:
        """The where's rows from the filter cache (stores/duckdb/filters.py), with the write
        token they hold for; None when plain SQL answers. Not on a connection this process
        opened to write: its rows may still move at that write's checkpoint."""
        cache = self.filter_cache
        if cache is None or self.access.mode != "read":
            return None
        token = self._token(cursor)
        if token is None:
            return None
        matches = cache.matches(
            lambda s: self._run(cursor, s),
            token,
            where,
            lambda node, facts: queries.condition_sql(service, node, facts),
            lambda part: self._text_facts(cursor, service, part),
            queries.table(service),
        )
        return None if matches is None else (token, matches)

    def _cached_page(
        self, cursor: duckdb.DuckDBPyConnection, query: Query, token: str, matches: Matches
    ) -> list[Any] | None:
        """The page (one row more than the limit) picked along its order's ranking among
        the where's matches, each row its id alone but the page's last, which holds its
        sort values for the next cursor (:func:`search`); None when plain SQL sorts (the
        order not ranked yet, or the cursor's row no longer where it was)."""
        cache = self.filter_cache
        assert cache is not None
        keys = check_cursor(query, "sql")
        run = lambda s: self._run(cursor, s)  # noqa: E731
        after = None
        if keys[-1].kind != "id":
            return None  # every order ends with the id; a ranking relies on it
        if query.cursor is not None:
            found = run(queries.row_sort_statement(
                query.service, keys, str(query.cursor.values[-1]))).fetchall()
            if not found or tuple(found[0][1:]) != tuple(query.cursor.values[:-1]):
                return None  # the row is gone, or moved: SQL finds where the page starts
            after = int(found[0][0])
        target = queries.table(query.service)
        candidates = cache.page_rows(
            run, token, (query.service, keys), lambda: queries.rank_statement(query.service, keys),
            target, after, query.offset + query.limit + 1, matches,
        )
        if candidates is None:
            return None
        arrow = lambda s: _arrow(cursor, s)  # noqa: E731
        named = cache.ids(run, arrow, token, target)[candidates[query.offset:]]
        rows: list[Any] = [(str(uuid.UUID(bytes=i.tobytes())),) for i in named]
        if 0 < query.limit < len(rows):  # a next page: its cursor holds the last row's values
            last = rows[query.limit - 1][0]
            found = run(queries.row_sort_statement(query.service, keys, last)).fetchall()
            rows[query.limit - 1] = (last, *found[0][1:])
        return rows

    def count(self, service: Service, where: Where | None) -> int:
        with self._read_snapshot() as cursor:  # text facts and count from one state
            cached = self._cached_matches(cursor, service, where)
            if cached is not None:
                total = cached[1].total
            else:
                facts = self._text_facts(cursor, service, where)
                statement = queries.count_statement(service, where, facts)
                total = _scalar(self._run(cursor, statement))
            return total

    def _text_facts(
        self, cursor: duckdb.DuckDBPyConnection, service: str, where: Where | None
    ) -> TextFacts:
        """The where's text facts; its fuzzy words' expansions kept per write token."""
        expansions = None
        if self.filter_cache is not None and fuzzy_words(where):
            token = self._token(cursor)
            expansions = None if token is None else self.filter_cache.expansions(token)

        def rows(statement: Any) -> list[Any]:  # the facts and expansions: small answers
            sql, params = to_duckdb(statement)
            return self._while_open(
                (sql, repr(params)), lambda: cursor.execute(sql, params).fetchall())

        return queries.text_facts(service, rows, where, expansions)

    def _token(self, cursor: duckdb.DuckDBPyConnection) -> str | None:
        """The file's write token, read once per read-only opening (_while_open); None
        before migration step 5 (asked of the catalog until the table is seen, so that no
        failed read ends a transaction)."""
        if not self._has_token:
            found = cursor.execute(TOKEN_TABLE_STATEMENT).fetchall()
            if not found[0][0]:
                return None
            self._has_token = True
        try:
            return self._while_open("token", lambda: read_token(cursor))
        except duckdb.CatalogException:
            self._has_token = False  # the file was replaced by an older one
            raise

    def values(
        self,
        service: Service,
        field: str,
        search_text: str,
        limit: int,
        where: Where | None = None,
    ) -> list[ValueCount]:
        """Distinct values containing search_text (case-insensitive), prefix matches first,
        then the most frequent (stores/duckdb/queries.py)."""
        with self._read_snapshot() as cursor:  # text facts and values from one state
            facts = self._text_facts(cursor, service, where)
            statement = queries.values_statement(
                service, field, search_text, limit, where, self.values_prefix_first, facts
            )
            rows = self._run(cursor, statement).fetchall()
        return [ValueCount(str(value), int(n)) for value, n in rows]

    def facets(self, request: FacetsRequest) -> dict[str, Any]:
        """Disjunctive facet counts (vql/facets_sql.py), every statement on one snapshot."""
        fields = queries.where_fields(request.where) | {f.field for f in request.facets}
        source = queries.search_source(request.service, fields)
        with self._read_snapshot() as cursor:
            facts = self._text_facts(cursor, request.service, request.where)
            statements = compile_sql_facets(request, source, facts)
            results = [self._run(cursor, s).fetchall() for s in statements]
        total, counts = read_sql_facets(request, results)
        return facets_payload(request, total, counts)

    def explain(self, request: ExplainRequest) -> dict[str, Any]:
        """Counts per condition in one select of FILTER clauses; suggestion probes after it,
        on the same snapshot, when the total is 0 (vql/explain_sql.py)."""
        source = queries.search_source(request.service, queries.where_fields(request.where))
        plan = count_plan(request)
        with self._read_snapshot() as cursor:
            facts = self._text_facts(cursor, request.service, request.where)
            [row] = self._run(cursor, compile_sql_counts(request, source, facts)).fetchall()
            counts = read_sql_counts(plan, row)
            asked = probes(request, counts)
            statements = compile_sql_probes(request.service, asked, source, facts)
            rows = {name: self._run(cursor, s).fetchall() for name, s in statements.items()}
        return explain_payload(request, counts, asked, read_sql_probes(asked, rows))

    # -- health -----------------------------------------------------------------------------

    def ping(self) -> None:
        """Opens the file read-only and checks the schema is there and current."""
        version = self.schema_version()
        if version != HEAD:
            raise BackendMisconfigured(
                BACKEND, f"schema version {version}, expected {HEAD}; run `connectra migrate`"
            )

    def close(self) -> None:
        """Closes the file now if no operation uses it (else it closes as they end): it
        is only open while an operation runs and a linger after it."""
        self.access.close_idle()


class DuckDBSnapshot:
    """Reads inside one DuckDB transaction (DuckDBStore.snapshot); one reader at a time."""

    def __init__(
        self, store: DuckDBStore, cursor: duckdb.DuckDBPyConnection, version: DatasetVersion
    ) -> None:
        self.store = store
        self.cursor = cursor
        self.dataset_version = version

    def id_pages(self, query: Query) -> Iterator[list[str]]:
        """The ids matching the query, in its order, query.limit at a time (keyset pages, as
        cursor paging does)."""
        facts = self.store._text_facts(self.cursor, query.service, query.where)
        while True:
            statement = queries.page_statement(query, facts)
            rows = self.store._run(self.cursor, statement).fetchall()
            page = rows[: query.limit]
            if page:
                yield [r[0] for r in page]
            if len(rows) <= query.limit:
                return
            query = replace(query, page=1, cursor=sort_values_from_row(query, page[-1]))

    def fetch(
        self, service: Service, ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Record]:
        with translated():
            return _fetch(self.cursor, service, ids, columns)

    def companies_of_contacts(
        self, contact_ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> dict[str, Record]:
        with translated():
            return _companies_of_contacts(self.cursor, contact_ids, columns)


def _fetch(
    cursor: duckdb.DuckDBPyConnection,
    service: Service,
    ids: Sequence[str],
    columns: Sequence[str] | None,
) -> list[Record]:
    """DuckDBStore.fetch on a cursor (the store's, or a snapshot's transaction)."""
    target = queries.table(service)
    selected = queries.selected_columns(target, columns)
    wanted = [i for i in (_canonical_uuid(i) for i in ids) if i is not None]
    if not wanted:
        return []
    statement = queries.fetch_statement(target, wanted, selected)
    rows = queries.in_given_order(wanted, DuckDBStore._run(cursor, statement).fetchall())
    if not selected:  # columns=[]: which ids exist, nothing else
        return [{} for _ in rows]
    return json_records([c.name for c in selected], rows)


def _companies_of_contacts(
    cursor: duckdb.DuckDBPyConnection, contact_ids: Sequence[str], columns: Sequence[str] | None
) -> dict[str, Record]:
    """DuckDBStore.companies_of_contacts on a cursor."""
    companies = queries.table("companies")
    wanted = None if columns is None else ["id", *(c for c in columns if c != "id")]
    selected = queries.selected_columns(companies, wanted)
    ids = [i for i in (_canonical_uuid(i) for i in contact_ids) if i is not None]
    if not ids:
        return {}
    rows = queries.companies_of_contacts(
        lambda s: DuckDBStore._run(cursor, s).fetchall(), ids, selected
    )
    return {r["id"]: r for r in json_records([c.name for c in selected], rows)}


def _arrow(cursor: duckdb.DuckDBPyConnection, statement: Any) -> pa.Table:
    """The statement's rows as one Arrow table (DuckDB's relation: no copy of the rows)."""
    sql, params = to_duckdb(statement)
    return cursor.sql(sql, params=params).to_arrow_table()


_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _first(result: duckdb.DuckDBPyConnection) -> Any:
    rows = result.fetchall()
    return rows[0] if rows else None


def _scalar(result: duckdb.DuckDBPyConnection) -> int:
    """The one integer of a one-row result, read to the end (duckdb 2 refuses further work
    on a cursor whose result was left unfinished)."""
    [(value,)] = result.fetchall()
    return int(value)


def _interrupt(cursor: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.Error):  # the statement may have ended meanwhile
        cursor.interrupt()


def _canonical_uuid(value: str) -> str | None:
    """The id as stored (uuid text, lowercase), None when `value` is no uuid."""
    if isinstance(value, str) and _CANONICAL.fullmatch(value):
        return value  # already so (every id a search answers with): no parse
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None

"""PostgresRecordStore: the production record store (stores.base.RecordStore).

One SQLAlchemy engine holds the connection pool (psycopg 3 underneath); reads go through
Core statements, bulk writes reach the raw psycopg connection of the same pooled connection
for COPY. Every batch is one transaction. Driver errors leave this class only as StoreErrors
(stores/postgres/errors.py).
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.engine import URL

from stores.base import IDS_PAGE, Documents, Record, Service
from stores.errors import StoreTimeout, TerminalStoreError
from stores.postgres.changes import (
    CHANGE_MARKER_SQL,
    index_write_lock,
    marker_of,
    rewritten_since,
)
from stores.postgres.errors import BACKEND, translated
from stores.postgres.scan import (
    search_documents_select,
    search_rows_count,
    search_rows_select,
    search_schema,
    stream_rows,
)
from stores.postgres.schema import TABLES, ingest_rejects
from stores.postgres.staging import conform, csv_chunks, with_ordinal
from stores.postgres.upsert import WritePlan, merge_statement, write_plan
from stores.postgres.urls import engine_url
from stores.records import json_record, rejects_select
from stores.settings import PostgresSettings
from stores.versions import DatasetVersion, mark_statement, newest_statement

CountedTable = Literal["contacts", "companies", "ingest_rejects"]
# How long a statement of upserted_documents may run, waits for row locks included (a batch
# of another load holds its rows until it is indexed: seconds, minutes on a starved node).
LOCKED_WRITE_WAIT_MS = 600_000
DOCUMENTS_PAGE = 2_000
T = TypeVar("T")


class PostgresRecordStore:
    """Rows of contacts and companies in PostgreSQL; the schema comes from `migrate(url)`."""

    concurrent_reads = True  # the server's cores answer a page's two reads (stores/base.py)

    def __init__(
        self,
        url: str | URL,
        *,
        # Kept connections (opened lazily): the API's 8 server threads each run a page's two
        # reads (rows, their companies) at once. Connections beyond pool_size are closed
        # after each use, so a pool smaller than that opened one per request under load.
        pool_size: int = 16,
        max_overflow: int = 4,
        pool_timeout_s: float = 10.0,
        statement_timeout_s: float = 30.0,
        connect_timeout_s: int = 5,
        application_name: str = "connectra",
    ) -> None:
        self.engine = sa.create_engine(
            engine_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout_s,
            pool_pre_ping=True,  # a server restart leaves stale pooled connections behind
            hide_parameters=True,  # rows hold personal data; keep them out of error text
            connect_args={
                "connect_timeout": connect_timeout_s,
                "application_name": application_name,
                "options": f"-c statement_timeout={int(statement_timeout_s * 1000)}"
                " -c TimeZone=UTC",
            },
        )
        self._secrets = [self.engine.url.password or ""]
        # statement_timeout is enforced by the server: a server that accepts and never
        # answers (hung, or a frozen network path) would block a read forever. Reads run on
        # these threads and are waited for until the timeout plus a margin, then StoreTimeout.
        self._read_deadline_s = statement_timeout_s + 1.0
        self._reader_count = pool_size + max_overflow
        self._readers = ThreadPoolExecutor(
            max_workers=self._reader_count, thread_name_prefix="connectra-pg-read"
        )
        self._readers_started = False
        self._readers_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: PostgresSettings, **options: Any) -> PostgresRecordStore:
        return cls(settings.url(), **options)

    # -- writes -----------------------------------------------------------------------------

    def upsert_companies(self, rows: pa.Table) -> None:
        self._upsert(TABLES["companies"], rows)

    def upsert_contacts(self, rows: pa.Table) -> None:
        self._upsert(TABLES["contacts"], rows)

    def _upsert(self, table: sa.Table, rows: pa.Table) -> None:
        rows = conform(rows, table)
        if rows.num_rows == 0:
            return
        with translated(self._secrets), self.engine.begin() as connection:
            self._merge(connection, table, rows)

    def _merge(self, connection: sa.Connection, table: sa.Table, rows: pa.Table) -> None:
        """Stages conformed `rows` and merges them into `table` (upsert.py's rule)."""
        if rows.num_rows == 0:
            return
        plan = write_plan(table.name, tuple(rows.column_names))
        repeats = _most_repeats(rows.column("id"))
        self._stage(connection, plan, rows)
        if repeats == 1:
            connection.execute(plan.write)
        for round_no in range(1, repeats + 1) if repeats > 1 else ():
            connection.execute(merge_statement(table, plan.stage, round_no))

    @contextlib.contextmanager
    def upserted_documents(self, companies: pa.Table, contacts: pa.Table) -> Iterator[Documents]:
        """Upserts a batch's companies and contacts in one transaction, then yields their
        search documents as merged, (id, JSON) per distinct id (scan.search_documents_select),
        with the transaction still open; commits when the block ends, rolls back when it
        raises. The open transaction's row locks hold a concurrent write of the same records
        back until the block is done, so whoever indexes the documents inside the block
        indexes them in the order the records were merged: the search index holds the
        records' merge, never one of its own."""
        given: dict[Service, pa.Table] = {
            "companies": conform(companies, TABLES["companies"]),
            "contacts": conform(contacts, TABLES["contacts"]),
        }
        with translated(self._secrets), self.engine.begin() as connection:
            # A write waits here for another load's batch sharing records with this one to be
            # indexed and committed, which lasts as long as the engine takes: longer than a
            # statement may wait otherwise.
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {LOCKED_WRITE_WAIT_MS}")
            for service, rows in given.items():
                self._merge(connection, TABLES[service], rows)
            documents = {
                service: _documents(connection, service, rows) for service, rows in given.items()
            }
            yield documents

    def insert_rejects(self, rows: pa.Table) -> None:
        """Appends rejected input rows; the same reject of the same run is stored once."""
        rows = conform(rows, ingest_rejects, needs_id=False)
        if rows.num_rows == 0:
            return
        missing = {"source_file", "load_run", "line", "reason"} - set(rows.column_names)
        if missing:
            needed = ", ".join(sorted(missing))
            raise TerminalStoreError(BACKEND, f"rejects need column(s) {needed}")
        plan = write_plan(ingest_rejects.name, tuple(rows.column_names))
        with translated(self._secrets), self.engine.begin() as connection:
            self._stage(connection, plan, rows)
            connection.execute(plan.write)

    def _stage(self, connection: sa.Connection, plan: WritePlan, rows: pa.Table) -> None:
        """Creates the temp staging table (dropped at commit) and COPYs the rows into it."""
        connection.exec_driver_sql(plan.create_stage)
        raw = connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(plan.copy) as copy:
            for chunk in csv_chunks(with_ordinal(rows)):
                copy.write(chunk)

    # -- reads ------------------------------------------------------------------------------

    def _start_readers(self) -> None:
        """Starts every reader thread at the first read (each waits for the others, so the
        executor creates them all), so the thread count of a busy API is fixed from then on
        instead of creeping up to the pool's size under load."""
        with self._readers_lock:
            if self._readers_started:
                return
            self._readers_started = True
            gathered = threading.Barrier(self._reader_count)

            def arrive() -> None:
                with contextlib.suppress(threading.BrokenBarrierError):
                    gathered.wait(timeout=5)

            for _ in range(self._reader_count):
                self._readers.submit(arrive)

    def _bounded(self, read: Callable[..., T], *args: Any) -> T:
        """Runs a read, waiting at most the read deadline for PostgreSQL's answer."""
        self._start_readers()
        future = self._readers.submit(read, *args)
        try:
            return future.result(timeout=self._read_deadline_s)
        except FutureTimeout:
            raise StoreTimeout(BACKEND, f"no answer within {self._read_deadline_s:.0f} s") from None

    def fetch(
        self, service: Service, ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Record]:
        return self._bounded(self._fetch, service, ids, columns)

    def _fetch(
        self, service: Service, ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Record]:
        """Rows for ids, in the order given (an id given twice comes twice); unknown ids and
        strings that are not UUIDs are absent."""
        with translated(self._secrets), self.engine.connect() as connection:
            return _fetch_rows(connection, service, ids, columns)

    def companies_of_contacts(
        self, contact_ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> dict[str, Record]:
        """The companies of these contacts, keyed by company id, in one query joined on the
        contacts: it needs no contact row first, so it runs beside the fetch of the rows."""
        return self._bounded(self._companies_of_contacts, contact_ids, columns)

    def _companies_of_contacts(
        self, contact_ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> dict[str, Record]:
        with translated(self._secrets), self.engine.connect() as connection:
            return _company_rows(connection, contact_ids, columns)

    # -- dataset version and snapshots --------------------------------------------------------

    def mark_loaded(self, load_run: str) -> None:
        """Moves the dataset version: `load_run` completed (a second call is a no-op)."""
        with translated(self._secrets), self.engine.begin() as connection:
            connection.execute(mark_statement(), {"load_run": load_run})

    def dataset_version(self) -> DatasetVersion:
        return self._bounded(self._dataset_version)

    def _dataset_version(self) -> DatasetVersion:
        with translated(self._secrets), self.engine.connect() as connection:
            return DatasetVersion.from_row(connection.execute(newest_statement()).first())

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[PostgresSnapshot]:
        """One read-only REPEATABLE READ transaction: every read through the snapshot sees
        the data as it was at its first statement (taken here, with the dataset version),
        whatever commits meanwhile. Held for as long as the with-block runs (an export)."""
        with translated(self._secrets), self.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                version = DatasetVersion.from_row(connection.execute(newest_statement()).first())
                yield PostgresSnapshot(connection, version, self._secrets)

    def ids_for_file(self, service: Service, source_file: str) -> Iterator[str]:
        """Ids of the records this file contributed to, ascending (a uuid's order is its
        text's), through a server-side cursor."""
        table = _table(service)
        statement = (
            sa.select(table.c.id)
            .where(table.c.source_file.contains(sa.cast([source_file], ARRAY(sa.Text))))
            .order_by(table.c.id)
        )
        with translated(self._secrets), self.engine.connect() as connection:
            streamed = connection.execution_options(yield_per=IDS_PAGE).execute(statement)
            for ids in streamed.scalars().partitions():
                yield from map(str, ids)

    def file_counts(self, service: Service) -> dict[str, int]:
        """Records per source file (a record counts for every file that contributed to it):
        what the search index must hold per file too (orchestration/drift.py compares)."""
        table = _table(service)
        file = sa.func.unnest(table.c.source_file).table_valued("f").render_derived(name="u")
        statement = sa.select(file.c.f, sa.func.count()).select_from(table).join(
            file, sa.true()
        ).group_by(file.c.f)
        with translated(self._secrets), self.engine.connect() as connection:
            return {str(f): int(n) for f, n in connection.execute(statement) if f is not None}

    def sample_ids(self, service: Service, size: int) -> list[str]:
        """Up to `size` ids from a random point of the id order on (an index range scan, not a
        sort of the table), wrapping around to the start when it runs out. The point is drawn
        here, once: ``gen_random_uuid()`` in the where is volatile, drawn anew for every row,
        so the ids after it were no range and the wrap-around could repeat them (a sample
        one id short)."""
        table = _table(service)
        start = uuid.uuid4()
        with translated(self._secrets), self.engine.connect() as connection:
            after = (
                connection.execute(
                    sa.select(table.c.id)
                    .where(table.c.id >= start)
                    .order_by(table.c.id)
                    .limit(size)
                )
                .scalars()
                .all()
            )
            rest = size - len(after)
            before = (
                connection.execute(sa.select(table.c.id).order_by(table.c.id).limit(rest))
                .scalars()
                .all()
                if rest
                else []
            )
        return list(dict.fromkeys(str(i) for i in [*after, *before]))

    def count_search_rows(self, service: Service, source_files: Sequence[str] | None = None) -> int:
        """How many rows search_rows would stream."""
        _table(service)
        with translated(self._secrets), self.engine.connect() as connection:
            return int(connection.execute(search_rows_count(service, source_files)).scalar_one())

    def search_rows(
        self,
        service: Service,
        batch_rows: int,
        source_files: Sequence[str] | None = None,
        rewritten_since_marker: int | None = None,
    ) -> Iterator[pa.Table]:
        """The service's rows in their search shape (stores/postgres/scan.py), streamed in
        Arrow tables of batch_rows rows from one snapshot; only those of `source_files`
        (any file that contributed to the row) when given, only those rewritten at or after a
        change_marker() when `rewritten_since_marker` is given."""
        _table(service)
        statement = search_rows_select(service, source_files)
        if rewritten_since_marker is not None:
            statement = rewritten_since(statement, service, rewritten_since_marker)
        with translated(self._secrets), self.engine.connect() as connection:
            yield from stream_rows(connection, statement, search_schema(service), batch_rows)

    def change_marker(self) -> int:
        """A point in the history of writes: search_rows(rewritten_since_marker=it) later
        streams every row written after now (and a few written just before; see
        stores/postgres/changes.py)."""
        with translated(self._secrets), self.engine.connect() as connection:
            return marker_of(int(connection.exec_driver_sql(CHANGE_MARKER_SQL).scalar_one()))

    @contextlib.contextmanager
    def index_writes(self, index_set: str, *, exclusive: bool, wait_s: float) -> Iterator[None]:
        """The index-writes lock of `index_set`, an advisory lock: shared around each load
        batch, exclusive around a reindex's last catch-up and alias swap (changes.py)."""
        with (
            translated(self._secrets),
            index_write_lock(self.engine, index_set, exclusive=exclusive, wait_s=wait_s),
        ):
            yield

    def rejects(
        self, *, source_file: str | None = None, load_run: str | None = None
    ) -> list[Record]:
        """Stored rejects of a file and/or a run, in line order."""
        statement = rejects_select(ingest_rejects, source_file=source_file, load_run=load_run)
        with translated(self._secrets), self.engine.connect() as connection:
            return [json_record(row) for row in connection.execute(statement).mappings()]

    def count_rows(self, table: CountedTable) -> int:
        target = ingest_rejects if table == "ingest_rejects" else _table(table)
        statement = sa.select(sa.func.count()).select_from(target)
        with translated(self._secrets), self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def ping(self) -> None:
        self._bounded(self._ping)

    def _ping(self) -> None:
        with translated(self._secrets), self.engine.connect() as connection:
            connection.execute(sa.select(1))

    def close(self) -> None:
        self._readers.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()


class PostgresSnapshot:
    """Reads inside one REPEATABLE READ transaction (PostgresRecordStore.snapshot)."""

    def __init__(
        self, connection: sa.Connection, version: DatasetVersion, secrets: list[str]
    ) -> None:
        self.connection = connection
        self.dataset_version = version
        self._secrets = secrets

    def fetch(
        self, service: Service, ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Record]:
        with translated(self._secrets):
            return _fetch_rows(self.connection, service, ids, columns)

    def companies_of_contacts(
        self, contact_ids: Sequence[str], columns: Sequence[str] | None = None
    ) -> dict[str, Record]:
        with translated(self._secrets):
            return _company_rows(self.connection, contact_ids, columns)


def _fetch_rows(
    connection: sa.Connection,
    service: Service,
    ids: Sequence[str],
    columns: Sequence[str] | None = None,
) -> list[Record]:
    table = _table(service)
    selected = _columns(table, columns)
    wanted = [i for i in ids if _is_uuid(i)]
    if not wanted:
        return []
    given = sa.func.unnest(sa.cast(sa.bindparam("ids", wanted, ARRAY(sa.Text)), ARRAY(UUID)))
    order = given.table_valued("id", with_ordinality="ord").render_derived(name="given")
    statement = (
        sa.select(*(selected or [table.c.id]))
        .select_from(order.join(table, table.c.id == order.c.id))
        .order_by(order.c.ord)
    )
    rows = connection.execute(statement).mappings()
    if not selected:  # columns=[]: which ids exist, nothing else
        return [{} for _ in rows]
    return [json_record(row) for row in rows]


def _company_rows(
    connection: sa.Connection, contact_ids: Sequence[str], columns: Sequence[str] | None = None
) -> dict[str, Record]:
    companies, contacts = TABLES["companies"], TABLES["contacts"]
    wanted = None if columns is None else ["id", *(c for c in columns if c != "id")]
    selected = _columns(companies, wanted)
    ids = [i for i in contact_ids if _is_uuid(i)]
    if not ids:
        return {}
    given = sa.cast(sa.bindparam("ids", ids, ARRAY(sa.Text)), ARRAY(UUID))
    owners = sa.select(contacts.c.company_id).where(contacts.c.id == sa.any_(given))
    statement = sa.select(*selected).where(companies.c.id.in_(owners))
    rows = [json_record(row) for row in connection.execute(statement).mappings()]
    return {row["id"]: row for row in rows}


def _documents(
    connection: sa.Connection, service: Service, rows: pa.Table
) -> Iterator[tuple[str, str]]:
    """(id, JSON text) of the rows' distinct ids, as merged (encoded as they are sent),
    read when iterated through a server-side cursor, DOCUMENTS_PAGE at a time: a batch's
    documents are never all in memory at once."""
    if rows.num_rows == 0:
        return
    ids = pc.unique(rows.column("id")).to_pylist()
    streamed = connection.execution_options(yield_per=DOCUMENTS_PAGE)
    yield from streamed.execute(_DOCUMENTS[service], {"ids": ids})


_DOCUMENTS: dict[Service, sa.Select[str, str]] = {
    "companies": search_documents_select("companies"),
    "contacts": search_documents_select("contacts"),
}


def _table(service: str) -> sa.Table:
    try:
        return TABLES[service]
    except KeyError:
        raise TerminalStoreError(BACKEND, f"unknown service {service!r}") from None


def _columns(table: sa.Table, columns: Sequence[str] | None) -> list[sa.Column[Any]]:
    """Selected columns, only from the table's own (identifiers never come from callers)."""
    if columns is None:
        return list(table.c)
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise TerminalStoreError(
            BACKEND, f"{table.name} has no column(s) {', '.join(map(repr, unknown))}"
        )
    return [table.c[c] for c in columns]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _most_repeats(ids: pa.ChunkedArray) -> int:
    """How many times the most repeated id occurs (1: every id is unique)."""
    if pc.count_distinct(ids, mode="all").as_py() == len(ids):
        return 1
    counts = pc.value_counts(ids).field("counts")
    return int(pc.max(counts).as_py())

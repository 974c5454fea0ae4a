"""Keeping the embedded search index derived from DuckDB, across crashes.

Every write of records notes the ids it touched in ``search_index_pending``, in the same
DuckDB transaction (a company's contacts too: their documents carry its fields). After that
commit, :func:`sync` reads every pending id's document from the search view, replaces it in
the index, commits the index, and only then deletes the pending rows. A crash between the
two commits leaves the rows pending; the next sync (the rerun's first batch, or the next
``migrate``) indexes them again, so both parts agree once a run has completed. An index
that lost documents (deleted folder, a database from before the index) is refilled whole
by :func:`repair`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from stores.base import COMPANY_VIEW_COLUMNS
from stores.duckdb.index import SERVICES, SearchIndex
from vql.registry import registry
from vql.tantivy_plan import index_fields

PENDING = "search_index_pending"  # made by migration step 4 (stores/duckdb/migrate.py)
_SOURCES = {"contacts": "contacts_search", "companies": "companies"}
_BEFORE = "search_index_companies_before"
_PENDING_IDS = "SELECT DISTINCT id FROM search_index_pending WHERE service = ?"
_PENDING_DOCS = " WHERE id IN (SELECT id FROM search_index_pending WHERE service = ?)"
_FORGET = "DELETE FROM search_index_pending WHERE service = ?"
_COUNT = {s: f"SELECT count(*) FROM {s}" for s in ("contacts", "companies")}  # noqa: S608
_NOTE_ALL = {s: f"INSERT INTO {PENDING} SELECT ?, id FROM {s}" for s in _COUNT}  # noqa: S608


@contextmanager
def noting(cursor: duckdb.DuckDBPyConnection, service: str, batch: str) -> Iterator[None]:
    """Around the merge statements of the registered `batch`: notes its ids pending, and for
    companies the contacts of those whose fields in the contacts' documents changed (a
    company repeated in every batch of a file re-indexes nobody)."""
    cursor.execute(f"INSERT INTO {PENDING} SELECT ?, id FROM {batch}", [service])  # noqa: S608
    if service != "companies":
        yield
        return
    shown = ", ".join(COMPANY_VIEW_COLUMNS.values())
    cursor.execute(
        f"CREATE TEMP TABLE {_BEFORE} AS SELECT id, {shown} FROM companies "  # noqa: S608
        f"WHERE id IN (SELECT id FROM {batch})"
    )
    try:
        yield
        moved = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in COMPANY_VIEW_COLUMNS.values())
        cursor.execute(
            f"INSERT INTO {PENDING} SELECT 'contacts', c.id FROM contacts c "  # noqa: S608
            f"WHERE c.company_id IN (SELECT n.id FROM companies n LEFT JOIN {_BEFORE} o "
            f"ON o.id = n.id WHERE n.id IN (SELECT id FROM {batch}) AND (o.id IS NULL OR {moved}))"
        )
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {_BEFORE}")


def _values(column: str, is_list: bool) -> str:
    """The column as a list without NULLs (tantivy takes no nulls; [] is no value)."""
    if is_list:
        return f"list_filter(coalesce({column}, []), lambda x: x IS NOT NULL)"
    return f"list_filter([{column}], lambda x: x IS NOT NULL)"


def document_sql(service: str) -> str:
    """A select of one JSON document per row of the service's search source."""
    fields = registry(service)
    parts = []
    for name, kind, source in index_fields(service):
        if kind == "id":
            parts.append("'id', id")
        elif kind == "id_hi":  # ids are lowercase uuid text (stores/duckdb/schema.py)
            high = "try_cast('0x' || replace(id, '-', '')[1:16] AS UBIGINT)"
            parts.append(f"'id_hi', {_values(high, False)}")
        elif fields[source].data_type == "date":
            parts.append(f"'{name}', {_values(f'epoch_ms({source})', False)}")
        else:
            parts.append(f"'{name}', {_values(source, fields[source].is_list)}")
    return f"SELECT json_object({', '.join(parts)})::VARCHAR FROM {_SOURCES[service]}"  # noqa: S608


def sync(cursor: duckdb.DuckDBPyConnection, index: SearchIndex) -> int:
    """Indexes every pending id, commits the index, then forgets them; returns how many.

    `cursor` holds the file's write turn (so one writer at a time) and no transaction."""
    done = 0
    for service in SERVICES:
        cursor.execute("BEGIN TRANSACTION")
        try:
            ids = [r[0] for r in cursor.execute(_PENDING_IDS, [service]).fetchall()]
            if ids:
                sql = document_sql(service) + _PENDING_DOCS
                docs = cursor.execute(sql, [service]).fetchall()
                index.write(service, ids, (d[0] for d in docs))
                cursor.execute(_FORGET, [service])
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        done += len(ids)
    return done


def repair(cursor: duckdb.DuckDBPyConnection, index: SearchIndex, whole: bool = False) -> int:
    """Notes every record pending when the index holds another number of documents than
    DuckDB has records (a missing or older folder), or always when `whole`; the sync that
    follows refills it. Returns how many records were noted."""
    index.drop_stale()
    noted = 0
    for service in SERVICES:
        [(records,)] = cursor.execute(_COUNT[service]).fetchall()
        if records and (whole or index.num_docs(service) != records):
            cursor.execute(_FORGET, [service])
            cursor.execute(_NOTE_ALL[service], [service])
            noted += int(records)
    return noted

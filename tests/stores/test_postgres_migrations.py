"""Schema migrations: from nothing, from each earlier revision with rows in it, repeated."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from psycopg import sql

from stores.postgres import PostgresRecordStore, current_revision, head_revision, migrate
from stores.postgres.migrate import VERSION_TABLE
from stores.postgres.schema import contacts_search, metadata
from stores.postgres.urls import engine_url
from tests.conftest import Services, fresh_database
from tests.stores.rows import contacts


@pytest.fixture
def empty_database(services: Services) -> Iterator[str]:
    """An empty database of its own, for tests that migrate from nothing."""
    with fresh_database(services) as url:
        yield url


def test_migrate_an_empty_database_builds_exactly_the_schema(empty_database: str) -> None:
    assert current_revision(empty_database) is None
    migrate(empty_database)
    assert current_revision(empty_database) == head_revision() == "0004"
    engine = sa.create_engine(engine_url(empty_database))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, metadata) == []
            view = connection.execute(sa.text("SELECT * FROM contacts_search LIMIT 0"))
            assert list(view.keys()) == [c.name for c in contacts_search.c]
            levenshtein = sa.text("SELECT levenshtein('engineer', 'enginer')")
            assert connection.execute(levenshtein).scalar_one() == 1
    finally:
        engine.dispose()


def test_migrate_from_0001_keeps_rows_and_adds_the_view(empty_database: str) -> None:
    migrate(empty_database, "0001")
    assert current_revision(empty_database) == "0001"
    company, contact = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(empty_database) as conn:  # rows as a 0001-era loader wrote them
        conn.execute(
            "INSERT INTO companies (id, name, country) VALUES (%s, 'Acme', 'france')",
            (company,),
        )
        conn.execute(
            "INSERT INTO contacts (id, full_name, company_id) VALUES (%s, 'Ana B', %s)",
            (contact, company),
        )
        assert conn.execute("SELECT to_regclass('contacts_search')").fetchone() == (None,)

    migrate(empty_database, "0002")

    assert current_revision(empty_database) == "0002"
    with psycopg.connect(empty_database) as conn:
        row = conn.execute(
            "SELECT id::text, full_name, company_name, company_country FROM contacts_search"
        ).fetchall()
    assert row == [(contact, "Ana B", "Acme", "france")]


def test_migrate_twice_and_concurrently_is_a_noop(empty_database: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(empty_database)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    migrate(empty_database)
    assert current_revision(empty_database) == head_revision()
    with psycopg.connect(empty_database) as conn:
        versions = conn.execute(
            sql.SQL("SELECT version_num FROM {}").format(sql.Identifier(VERSION_TABLE))
        ).fetchall()
    assert versions == [(head_revision(),)]


def test_migrate_from_0002_turns_each_file_into_a_list_and_backfills_the_load_times(
    empty_database: str,
) -> None:
    migrate(empty_database, "0002")
    company, contact, bare = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    created = dt.datetime(2019, 5, 1, tzinfo=dt.UTC)
    updated = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    with psycopg.connect(empty_database) as conn:  # rows as a 0002-era loader wrote them
        conn.execute(
            "INSERT INTO companies (id, name, source_file, load_run, created_at, updated_at) "
            "VALUES (%s, 'Acme', 'leads-2026-05.csv', 'run-a', %s, %s)",
            (company, created, updated),
        )
        conn.execute(
            "INSERT INTO contacts (id, full_name, company_id, source_file, load_run, "
            "created_at, updated_at) VALUES (%s, 'Ana B', %s, 'leads-2026-06.csv', 'run-b', "
            "%s, %s), (%s, 'No File', NULL, NULL, NULL, %s, %s)",
            (contact, company, created, updated, bare, created, updated),
        )

    migrate(empty_database)

    assert current_revision(empty_database) == "0004"
    with psycopg.connect(empty_database) as conn:
        rows = conn.execute(
            "SELECT id::text, source_file, load_run, first_seen, last_seen, company_name "
            "FROM contacts_search ORDER BY full_name"
        ).fetchall()
        [acme] = conn.execute(
            "SELECT source_file, first_seen, last_seen FROM companies"
        ).fetchall()
        index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_contacts_source_file'"
        ).fetchone()
    assert rows == [
        (contact, ["leads-2026-06.csv"], "run-b", created, updated, "Acme"),
        (bare, None, None, created, updated, None),
    ]
    assert acme == (["leads-2026-05.csv"], created, updated)
    assert index is not None and "gin" in index[0]

    # The upgraded rows merge like new ones: a later file joins the list, first_seen stays.
    store = PostgresRecordStore(empty_database)
    try:
        later = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
        store.upsert_contacts(
            contacts([{"id": contact, "source_file": ["leads-2026-11.csv"], "load_run": "run-c",
                       "first_seen": later, "last_seen": later}])
        )
        [row] = store.fetch("contacts", [contact], ["source_file", "first_seen", "last_seen"])
        assert row == {
            "source_file": ["leads-2026-06.csv", "leads-2026-11.csv"],
            "first_seen": "2019-05-01T00:00:00Z",
            "last_seen": "2026-11-02T00:00:00Z",
        }
        assert set(store.ids_for_file("contacts", "leads-2026-06.csv")) == {contact}
        assert store.file_counts("contacts") == {"leads-2026-06.csv": 1, "leads-2026-11.csv": 1}
    finally:
        store.close()

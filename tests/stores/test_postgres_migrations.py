"""Schema migrations: from nothing, from the previous revision with rows in it, repeated."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from psycopg import sql

from stores.postgres import current_revision, head_revision, migrate
from stores.postgres.migrate import VERSION_TABLE
from stores.postgres.schema import contacts_search, metadata
from stores.postgres.urls import engine_url
from tests.conftest import Services, fresh_database


@pytest.fixture
def empty_database(services: Services) -> Iterator[str]:
    """An empty database of its own, for tests that migrate from nothing."""
    with fresh_database(services) as url:
        yield url


def test_migrate_an_empty_database_builds_exactly_the_schema(empty_database: str) -> None:
    assert current_revision(empty_database) is None
    migrate(empty_database)
    assert current_revision(empty_database) == head_revision() == "0003"
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

    migrate(empty_database)

    assert current_revision(empty_database) == "0003"
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

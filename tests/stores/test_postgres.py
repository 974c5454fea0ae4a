"""What only PostgresRecordStore has, against the real PostgreSQL of `make services`: row
versions, connection errors, settings, the statement timeout. The behaviour every record
store shares is in test_record_store.py; migrations in test_postgres_migrations.py."""

from __future__ import annotations

import socket
import time

import pytest
import sqlalchemy as sa

from stores.errors import StoreTimeout, TerminalStoreError, TransientStoreError
from stores.postgres import PostgresRecordStore
from stores.postgres.errors import translated
from stores.settings import PostgresSettings, Secret
from tests.conftest import Services
from tests.stores.rows import T0, contacts, new_id


@pytest.fixture
def store(postgres_store: PostgresRecordStore) -> PostgresRecordStore:
    """A fresh, migrated database (tests/stores/conftest.py)."""
    return postgres_store


def test_reupserting_the_same_batch_writes_no_new_row_version(
    store: PostgresRecordStore,
) -> None:
    ids = [new_id() for _ in range(3)]
    batch = contacts(
        [
            # a retried batch of one load: the same load time
            {"id": i, "first_name": "Ana", "departments": ["sales"], "source_file": ["same.csv"],
             "last_seen": T0}
            for i in ids
        ]
    )
    store.upsert_contacts(batch)
    versions = _row_versions(store, ids)

    store.upsert_contacts(batch)

    assert _row_versions(store, ids) == versions  # no new tuple: the rows were not touched


# -- errors ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_wrong_port_is_transient_quickly_and_never_shows_the_password() -> None:
    password = "s3cret-Pa55word"
    down = PostgresRecordStore(f"postgresql://connectra:{password}@127.0.0.1:{_free_port()}/db")
    started = time.monotonic()
    try:
        with pytest.raises(TransientStoreError) as caught:
            down.ping()
    finally:
        down.close()
    assert time.monotonic() - started < 5
    assert not isinstance(caught.value, StoreTimeout)
    chain: BaseException | None = caught.value
    while chain is not None:
        assert password not in str(chain) and password not in repr(chain)
        chain = chain.__cause__


def test_from_settings_reaches_the_same_server(services: Services, pg_database: str) -> None:
    e = services.env
    settings = PostgresSettings(
        host=e["PG_DB_HOST"],
        port=int(e["PG_DB_PORT"]),
        database=pg_database.rsplit("/", 1)[1],
        username=e["PG_DB_USERNAME"],
        password=Secret(e["PG_DB_PASSWORD"]),
    )
    store = PostgresRecordStore.from_settings(settings, pool_size=1)
    try:
        store.ping()
    finally:
        store.close()


def test_a_wrong_password_is_terminal(services: Services, pg_database: str) -> None:
    wrong = pg_database.replace(f":{services.env['PG_DB_PASSWORD']}@", ":not-the-password@")
    store = PostgresRecordStore(wrong)
    try:
        with pytest.raises(TerminalStoreError, match="authentication failed") as caught:
            store.ping()
    finally:
        store.close()
    assert "not-the-password" not in str(caught.value)


def test_the_statement_timeout_is_a_store_timeout(pg_database: str) -> None:
    impatient = PostgresRecordStore(pg_database, statement_timeout_s=0.2)
    try:
        with (
            pytest.raises(StoreTimeout, match="57014"),
            translated(),
            impatient.engine.connect() as connection,
        ):
            connection.execute(sa.text("SELECT pg_sleep(2)"))
        impatient.ping()  # the pool recovers
    finally:
        impatient.close()


def _row_versions(store: PostgresRecordStore, ids: list[str]) -> list[tuple[str, str]]:
    """(id, xmin): xmin changes whenever PostgreSQL writes a new version of the row."""
    query = sa.text(
        "SELECT id::text, xmin::text FROM contacts WHERE id::text = ANY(:ids) ORDER BY id"
    )
    with store.engine.connect() as connection:
        return [(r[0], r[1]) for r in connection.execute(query.bindparams(ids=ids))]


def test_file_counts_and_a_sample_of_ids(store: PostgresRecordStore) -> None:
    ids = sorted(new_id() for _ in range(30))
    store.upsert_contacts(
        contacts([{"id": i, "source_file": ["a.csv" if n % 3 else "b.csv"], "email": f"{n}@x.io"}
                  for n, i in enumerate(ids)])
    )  # fmt: skip
    assert store.file_counts("contacts") == {"a.csv": 20, "b.csv": 10}
    assert store.file_counts("companies") == {}
    for _ in range(5):  # a random start, wrapping around: `size` ids in a row of the id order
        sample = store.sample_ids("contacts", 12)
        start = ids.index(sample[0])
        assert sample == (ids + ids)[start:start + 12]
    assert sorted(store.sample_ids("contacts", 100)) == ids

"""Schema migrations: `migrate(url)` brings any Connectra database to the newest revision.

Alembic runs programmatically on a connection of ours (no alembic.ini). The whole upgrade is
one transaction holding a transaction-level advisory lock, so concurrent callers (several
workers starting at once) queue behind each other and the later ones find nothing to do.
The version table has its own name, because Dagster's PostgreSQL storage keeps its own
`alembic_version` and may share the database.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from stores.postgres.errors import translated
from stores.postgres.urls import engine_url

VERSION_TABLE = "connectra_schema_version"
SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: any constant that no other code of the database uses.
_LOCK_KEY = 0x636F6E6E65637472  # "connectr"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["version_table"] = VERSION_TABLE
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def migrate(url: str, revision: str = "head") -> None:
    """Upgrades the database at `url` to `revision` in place; a no-op when already there.

    Statement timeouts do not apply: building an index on a large table may take minutes.
    """
    engine = _engine(url)
    secrets = [engine.url.password or ""]
    try:
        with translated(secrets), engine.begin() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine = _engine(url)
    try:
        with translated([engine.url.password or ""]), engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE}
            )
            return context.get_current_revision()
    finally:
        engine.dispose()


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(
        engine_url(url),
        poolclass=NullPool,
        hide_parameters=True,
        connect_args={"connect_timeout": 10, "application_name": "connectra-migrate"},
    )

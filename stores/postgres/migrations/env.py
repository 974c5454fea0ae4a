"""Alembic environment: runs on the connection that `stores.postgres.migrate` hands over.

There is no alembic.ini and no URL here on purpose: `migrate()` opens the connection, takes
the advisory lock and owns the transaction; this file only runs the scripts on it.
"""

from __future__ import annotations

from alembic import context

from stores.postgres.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=context.config.attributes["version_table"],
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()

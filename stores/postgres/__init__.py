"""PostgreSQL record store: schema, migrations and the RecordStore adapter.

    migrate(url)                      # once per deploy: `connectra migrate`
    store = PostgresRecordStore(url)  # or PostgresRecordStore.from_settings(settings.postgres)
"""

from __future__ import annotations

from stores.postgres.migrate import current_revision, head_revision, migrate
from stores.postgres.store import PostgresRecordStore

__all__ = ["PostgresRecordStore", "current_revision", "head_revision", "migrate"]

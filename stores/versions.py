"""The dataset version: which completed loads a read saw (DESIGN.md section 10).

Every load run that completes adds one row to `dataset_versions` in the record store, at its
very end (assets/ingest.py); the identity numbers rows in order, so the newest row's number
only grows. Both record stores keep the table (PostgreSQL migration 0003, DuckDB step 2),
and reading it is a primary-key lookup of one row: cheap enough for every filter and count.
Version 0 means no load has completed yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from stores.records import json_value

NEWEST = (
    "SELECT version, load_run, completed_at FROM dataset_versions ORDER BY version DESC LIMIT 1"
)
# A run marked twice (a retried step) adds nothing; checked first so that the identity is not
# drawn for nothing (the ON CONFLICT only guards a race of two tries of one run).
MARK = (
    "INSERT INTO dataset_versions (load_run) SELECT {param} WHERE NOT EXISTS "
    "(SELECT 1 FROM dataset_versions WHERE load_run = {param}) "
    "ON CONFLICT (load_run) DO NOTHING"
)


@dataclass(frozen=True)
class DatasetVersion:
    version: int = 0
    load_run: str | None = None
    completed_at: str | None = None

    def __str__(self) -> str:
        return str(self.version)

    @classmethod
    def from_row(cls, row: Any) -> DatasetVersion:
        if row is None:
            return cls()
        version, load_run, completed_at = row
        return cls(int(version), str(load_run), json_value(completed_at))


def newest_statement() -> sa.TextClause:
    return sa.text(NEWEST)


def mark_statement() -> sa.TextClause:
    return sa.text(MARK.format(param=":load_run"))

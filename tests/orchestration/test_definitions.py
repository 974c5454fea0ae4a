from __future__ import annotations

import dagster as dg

from orchestration.definitions import defs


def test_definitions_load() -> None:
    assert isinstance(defs, dg.Definitions)
    # Resolving the repository is what `dagster dev` and the daemon do first.
    defs.get_repository_def()

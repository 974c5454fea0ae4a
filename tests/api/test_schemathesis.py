"""Schemathesis against GET /openapi.json, over loopback, on a real waitress server whose app
runs on PostgreSQL + OpenSearch and a real Dagster webserver: no 5xx, and no answer that
contradicts the document (status codes, content types, headers, bodies).

Bounded: a fixed number of examples per operation, and a wall-clock budget (a run that
exceeds it fails, saying how far it got, rather than silently testing less).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.dagster_jobs import DagsterJobsClient
from stores.landing import LocalLandingZone
from tests.api.conftest import API_KEY, Backend, Dagster, deps_for
from tests.conftest import serving

pytestmark = [pytest.mark.services, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 20
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)  # valid requests and invalid ones


@pytest.fixture(scope="module")
def api_url(
    production: Backend, dagster: Dagster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("schemathesis")
    deps = deps_for(
        production, home,
        landing=LocalLandingZone(dagster.home / "landing"),
        jobs=DagsterJobsClient("127.0.0.1", dagster.port, timeout_seconds=30),
        exports=QueuedExports(),  # every valid export body would start a real run otherwise
    )
    with serving(create_app(deps)) as url:
        yield url


class QueuedExports:
    """Accepts every export (an id, no run); knows no export id (404)."""

    def submit(self, config: dict[str, Any], owner: str, suffix: str) -> str:
        return str(uuid.uuid4())

    def get(self, export_id: str) -> None:
        return None


def test_the_api_keeps_its_document(api_url: str) -> None:
    """One hypothesis run per operation, driven here rather than by schemathesis' pytest
    plugin (its `from_fixture` needs pytest internals that pytest 9 removed)."""
    schema = schemathesis.openapi.from_url(
        f"{api_url}/openapi.json", headers={"X-API-Key": API_KEY}, wait_for_schema=10
    )
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    # Schemathesis leaves out the document's own URL; every other operation is exercised.
    documented = sum(
        len(item) for path, item in schema.raw_schema["paths"].items() if path != "/openapi.json"
    )
    assert len(operations) == documented, str([o.label for o in operations])
    tested = []
    for operation in operations:  # every one, however long the machine takes (no time limit)
        @given(case=st.one_of(*(operation.as_strategy(mode) for mode in MODES)))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def conforms(case: Any) -> None:
            case.call_and_validate(headers={"X-API-Key": API_KEY}, checks=CHECKS)

        conforms()
        tested.append(operation.label)
    assert len(tested) == len(operations), tested

"""Hostile CSV files (tests/reliability/csv_inputs.py) through check_file and load_file
into the embedded DuckDB store: a file either loads, with every row accounted for and
every good row in the store, or is refused as a whole with a CsvFileError that says why.
Nothing else may come out: no other exception, no good row lost.

The reader-level property runs many examples cheaply; the full load fewer (each is a real
normalization and DuckDB write); `make test-slow` runs the load property at length.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from assets.loading import check_file, load_file
from stores.csvfile import CsvFileError, open_csv
from stores.duckdb import DuckDBStore
from stores.factory import Stores
from stores.landing import LocalLandingZone
from tests.reliability.conftest import CODEC
from tests.reliability.csv_inputs import CsvCase, csv_cases

SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck))


def contact_id(email: str) -> str:
    """The contract's id of a contact with this (normalized) email."""
    digest = hashlib.md5(f"email:{email}".encode(), usedforsecurity=False).digest()
    return str(uuid.UUID(bytes=digest, version=3))


def assert_clear(error: CsvFileError) -> None:
    message = str(error)
    assert 10 <= len(message) <= 400, message
    assert "Traceback" not in message and "\x00" not in message


def emails_read(case: CsvCase) -> set[str] | None:
    """The email cells the reader produced, or None when it refused the file."""
    try:
        csv_file = open_csv(io.BytesIO(case.data), batch_rows=7)
        emails: set[str] = set()
        rows = 0
        for batch in csv_file:
            rows += batch.rows_read
            emails.update(e.strip().lower() for e in batch.rows.column("email").to_pylist()
                          if e is not None)
    except CsvFileError as error:
        assert_clear(error)
        return None
    return emails


@settings(SETTINGS, max_examples=200)
@given(case=csv_cases())
def test_the_reader_refuses_clearly_or_keeps_every_good_row(case: CsvCase) -> None:
    found = emails_read(case)
    if found is None:
        return
    assert not case.truncated, "a truncated gzip stream must be refused, not read partly"
    missing = [e for e in case.good_emails if e not in found]
    assert not missing, (case.description, missing)


def _good_emails_stored(store: DuckDBStore, emails: tuple[str, ...]) -> list[str]:
    ids = {contact_id(e): e for e in emails}
    rows = store.fetch("contacts", list(ids), ["id", "email"])
    stored = {r["email"] for r in rows}
    return [e for e in emails if e not in stored]


def load_case(tmp: Path, case: CsvCase) -> None:
    key = f"fuzz/{uuid.uuid4().hex[:10]}.csv" + (".gz" if case.compressed else "")
    landing = LocalLandingZone(tmp / "landing")
    landing.put(key, io.BytesIO(case.data))
    store = DuckDBStore(tmp / f"{uuid.uuid4().hex[:8]}.duckdb", cursors=CODEC)
    store.ensure_indices()
    try:
        check_file(landing, key)
        counts = load_file(landing, key, Stores(store, store, CODEC), "fuzz", batch_rows=1)
    except CsvFileError as error:
        assert_clear(error)
        return
    finally:
        (tmp / "landing" / key).unlink()
    assert not case.truncated, "a truncated gzip stream must be refused, not loaded partly"
    assert counts.accounted_for, counts
    assert counts.rows_loaded == store.count_rows("contacts")  # one row per distinct contact
    assert counts.rows_rejected == len(store.rejects(source_file=key))
    assert counts.rows_loaded >= len(case.good_emails)
    missing = _good_emails_stored(store, case.good_emails)
    assert not missing, (case.description, missing)
    store.path.unlink()


@settings(SETTINGS, max_examples=30)
@given(case=csv_cases())
def test_a_load_refuses_clearly_or_stores_every_good_row(tmp_path_factory: pytest.TempPathFactory,
                                                         case: CsvCase) -> None:
    load_case(tmp_path_factory.mktemp("fuzz"), case)


@pytest.mark.slow
@settings(SETTINGS, max_examples=300)
@given(case=csv_cases())
def test_a_load_refuses_clearly_or_stores_every_good_row_at_length(
    tmp_path_factory: pytest.TempPathFactory, case: CsvCase
) -> None:
    load_case(tmp_path_factory.mktemp("fuzz"), case)


# -- past the csv module's field limit (found while writing the generator above) ----------------

HEADER = b"first_name,last_name,email,title\n"
GOOD = b"Ann,Smith,ann@example.com,Engineer\n"


@pytest.mark.parametrize("data", [
    pytest.param(HEADER + GOOD + b"Bob,Jones,bob@example.com," + b"x" * (2 << 20) + b"\n" + GOOD,
                 id="2-MiB-unquoted-field"),
    pytest.param(HEADER + b'Bob,Jones,bob@example.com,"' + b"x" * (2 << 20) + b'"\n' + GOOD,
                 id="2-MiB-quoted-field"),
    pytest.param(gzip.compress(HEADER + b"Bob,Jones,bob@example.com," + b"y" * (3 << 20) + b"\n"),
                 id="3-MiB-field-gzip"),
])
def test_a_huge_field_is_loaded_or_refused_clearly(tmp_path: Path, data: bytes) -> None:
    good = ("ann@example.com", "bob@example.com") if GOOD in data else ("bob@example.com",)
    case = CsvCase(data, good, "utf-8", data[:2] == b"\x1f\x8b", False, "huge field")
    with contextlib.suppress(CsvFileError):
        load_case(tmp_path, case)


def test_a_huge_multiline_field_is_one_row() -> None:
    data = (HEADER + b'Bob,Jones,bob@example.com,"' + b"x" * 200_000 + b'\nmore"\n'
            + b"Cid,Kim,cid@example.com,Engineer\n")
    batches = list(open_csv(io.BytesIO(data), batch_rows=100))
    assert sum(b.rows_read for b in batches) == 2
    assert sum(b.rows.num_rows for b in batches) == 2

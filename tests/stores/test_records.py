"""stores/records.py: database values -> the JSON-ready records both stores answer with."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stores.records import json_records, json_value

_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "text": st.text(max_size=5),
    "number": st.integers(),
    "instant": st.datetimes(timezones=st.just(dt.UTC)),
    "naive": st.datetimes(),
    "uuid": st.uuids(),
    "list": st.lists(st.text(max_size=3), max_size=3),
}
_TYPES = st.lists(st.sampled_from(sorted(_VALUES)), min_size=1, max_size=6)


@st.composite
def _result(draw: st.DrawFn) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A SQL result: each column of one type, any value possibly None (first rows too)."""
    types = draw(_TYPES)
    rows = draw(st.lists(st.tuples(*(st.none() | _VALUES[t] for t in types)), max_size=8))
    return [f"c{i}" for i in range(len(types))], rows


@given(_result())
def test_records_convert_as_each_value_would_alone(result: tuple[list[str], list[Any]]) -> None:
    names, rows = result
    assert json_records(names, rows) == [
        {n: json_value(v) for n, v in zip(names, row, strict=True)} for row in rows]


def test_instants_and_ids_become_text_and_the_rest_stays() -> None:
    at = dt.datetime(2026, 12, 7, 20, 30, 1, 5, tzinfo=dt.UTC)
    some = uuid.UUID(int=7)
    rows = [(None, None, "a", 1, None), (at, some, "b", 2, ["x"])]
    assert json_records(["at", "id", "t", "n", "l"], rows) == [
        {"at": None, "id": None, "t": "a", "n": 1, "l": None},
        {"at": "2026-12-07T20:30:01.000005Z", "id": str(some), "t": "b", "n": 2, "l": ["x"]},
    ]


def test_an_instant_is_written_at_utc_whatever_its_zone() -> None:
    east = dt.timezone(dt.timedelta(hours=2))
    assert json_value(dt.datetime(2026, 1, 1, 2, 0, tzinfo=east)) == "2026-01-01T00:00:00Z"
    assert json_value(dt.datetime(2026, 1, 1, 0, 0, 0, 120)) == "2026-01-01T00:00:00.000120Z"
    assert json_value(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == "2026-01-01T00:00:00Z"

"""Spreadsheet text markers undone, and the first filled cell among several columns."""

from __future__ import annotations

import io

import pyarrow as pa
import pytest

from stores.csvcells import first_filled, spreadsheet_text
from stores.csvfile import open_csv


def cells(*values: str | None) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(values, pa.string())])


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("'+1 415-555-0100", "+1 415-555-0100"),
        ("'(617) 555-0177", "(617) 555-0177"),
        ("'00123", "00123"),
        ("'2024-01-15", "2024-01-15"),
        ('="00123"', "00123"),
        ('="+44 161 496 0000"', "+44 161 496 0000"),
        ('="say ""hi"""', 'say "hi"'),
        ('=""', ""),
        ("'t Hart", "'t Hart"),  # a name, not a marker
        ("O'Brien", "O'Brien"),
        ("=SUM(A1:A3)", "=SUM(A1:A3)"),  # a formula is not a text marker
        ('="00123" and more', '="00123" and more'),
        ("+1 555", "+1 555"),
        ("", ""),
        (None, None),
    ],
)
def test_spreadsheet_text(written: str | None, value: str | None) -> None:
    assert spreadsheet_text(cells(written, "plain")).to_pylist() == [value, "plain"]


def test_cells_without_markers_are_returned_as_they_are() -> None:
    plain = cells("a", "b", None)
    assert spreadsheet_text(plain) is plain


def test_first_filled_skips_null_empty_and_blank_cells() -> None:
    direct = cells("d1", "", None, "  ", "")
    mobile = cells("m1", "m2", "", None, "")
    other = cells("o1", "o2", "o3", "o4", "")
    assert first_filled([direct, mobile, other]).to_pylist() == ["d1", "m2", "o3", "o4", ""]
    assert first_filled([other]) is other
    with pytest.raises(ValueError):
        first_filled([])


def test_markers_are_removed_in_every_column_of_a_read_file_but_not_in_the_raw_line() -> None:
    data = b'email,phone,company_name\nA@x.co,\'+1 555 0100,"=""007 Ltd"""\n'
    [batch] = list(open_csv(io.BytesIO(data)))
    [row] = batch.rows.to_pylist()
    assert (row["email"], row["phone"], row["company_name"]) == ("A@x.co", "+1 555 0100", "007 Ltd")
    assert row["_raw"] == 'A@x.co,\'+1 555 0100,"=""007 Ltd"""'

"""The cells of one canonical column as a spreadsheet left them, made plain text.

Two things exports carry that are not part of a value:

- Spreadsheet text markers. Excel and Google Sheets keep `+1 555 0100` or `00123` from
  being read as numbers by writing `'+1 555 0100` (a leading apostrophe) or `="00123"` (a
  formula that yields the text). The apostrophe is dropped when a digit, `+` or `(` follows
  it (so `'t Hart` stays a name); the formula wrapper is undone (`""` inside it is one `"`).
- Several headers for one column (see stores.csvheader): each row takes the first cell,
  in rank order, that is not empty or blank.

Both run on Arrow arrays, per batch; a batch without any marker costs two prefix scans.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

_FORMULA_TEXT = r'(?s)^="(.*)"$'
_TEXT_APOSTROPHE = r"^'([+(0-9])"


def spreadsheet_text(cells: pa.ChunkedArray) -> pa.ChunkedArray:
    """`="00123"` -> `00123`, `'+1 555 0100` -> `+1 555 0100`; other cells unchanged."""
    apostrophe = pc.starts_with(cells, "'")
    formula = pc.starts_with(cells, '="')
    if pc.any(apostrophe).as_py():
        cells = pc.replace_substring_regex(cells, _TEXT_APOSTROPHE, r"\1")
    if pc.any(formula).as_py():
        wrapped = pc.match_substring_regex(cells, _FORMULA_TEXT)
        unwrapped = pc.replace_substring(
            pc.replace_substring_regex(cells, _FORMULA_TEXT, r"\1"), '""', '"'
        )
        cells = pc.if_else(wrapped, unwrapped, cells)
    return cells


def first_filled(columns: Sequence[pa.ChunkedArray]) -> pa.ChunkedArray:
    """Per row, the first of the columns whose cell is neither NULL nor blank."""
    if not columns:
        raise ValueError("first_filled needs at least one column")
    result = columns[-1]
    for column in reversed(columns[:-1]):
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), ""), True)
        result = pc.if_else(blank, result, column)
    return result

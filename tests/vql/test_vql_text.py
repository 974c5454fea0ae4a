"""vql.text.CONTEXT: a value without a match has as words exactly its runs of letters and
digits, so SQL may cut it by the quick split (vql.sql.TextFacts). The full rule (WORD) is
checked against the engine itself in tests/stores/test_differential.py."""

from __future__ import annotations

import string

import duckdb
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from vql.sql_dialects import DUCKDB_NOT_RUN, DUCKDB_WORD
from vql.text import CONTEXT, RUN, words

_CONTEXT = regex.compile(CONTEXT)
_RUN = regex.compile(RUN)
# ASCII (a value with anything else has context) weighted toward what joins words.
_ASCII = st.sampled_from([*string.printable, *".'.:,;_" * 4, "a", "Z", "1", "9"])


@settings(max_examples=3000, deadline=None)
@given(st.text(_ASCII, min_size=1, max_size=12))
def test_a_value_without_context_has_its_runs_as_words(text: str) -> None:
    if _CONTEXT.search(text):
        return
    assert words(text) == _RUN.findall(text.lower())


def test_context_marks_what_the_runs_would_cut_wrong() -> None:
    for text in ("O'Neil", "john.doe", "e.g", "3.14", "1,000", "a:b", "x;1", "foo_bar", "José",
                 "東京"):
        assert _CONTEXT.search(text), text
    for text in ("Head of Sales", "R&D", "C++", "a - b", "x. y", "e. g", "3 . 14", "AT&T"):
        assert not _CONTEXT.search(text), text


def test_duckdb_quick_split_equals_the_word_pattern_on_values_without_context() -> None:
    texts = ["Head of Sales", "R&D / AT&T", "  C++ dev  ", "a - b", "x. y", "e. g", "", "---"]
    texts += [f"{a}{sep}{b}" for a in ("ab", "1") for sep in " -/&@()" for b in ("cd", "2")]
    assert not [t for t in texts if _CONTEXT.search(t)]
    with duckdb.connect() as con:
        rows = con.execute(  # our own constant patterns
            f"SELECT regexp_extract_all(lower(t), {DUCKDB_WORD}), "  # noqa: S608
            f"string_split(trim(regexp_replace(lower(t), {DUCKDB_NOT_RUN}, ' ', 'g')), ' ') "
            "FROM (SELECT unnest(?) AS t)", [texts]).fetchall()
    for text, (full, quick) in zip(texts, rows, strict=True):
        assert [w for w in quick if w] == full == words(text), text

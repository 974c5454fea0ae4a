"""Hypothesis strategies for hostile CSV files that still carry known good rows.

A generated file is a header, then good rows (each with an email unique to the file) in
among bad segments: random bytes, broken quoting, wrong cell counts, invalid emails, blank
lines, huge fields, a mix of CRLF / LF / CR line endings, in UTF-8 (with or without BOM)
or Windows-1252, sometimes gzip-compressed (sometimes truncated). The test knows which
rows are good, so it can ask the store for each of them afterwards.

What a file may not do is make a good row ambiguous: random bytes never hold a quote
character (an opening quote legitimately runs on to the next quote, swallowing what
follows), and a field left open by an unterminated quote only ever ends the file.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from hypothesis import strategies as st

DELIMITERS = (",", ";", "\t", "|")
ENDINGS = ("\n", "\r\n", "\r")
HEADERS = {
    "first_name": ("first_name", "First Name", "firstname", "FIRST-NAME"),
    "last_name": ("last_name", "Last Name", "surname"),
    "email": ("email", "Email", "E-Mail Address", "work_email"),
    "title": ("title", "Job Title", "position"),
}
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüñøçÉ -'"
TITLE_CHARS = NAME_CHARS + ",;|\t0123456789&/."
HUGE_FIELD_MAX = 120_000  # below the csv module's 131,072-character field limit; see the bug


@dataclass(frozen=True)
class CsvCase:
    data: bytes
    good_emails: tuple[str, ...]
    encoding: str
    compressed: bool
    truncated: bool
    description: str


def _quote(value: str, delimiter: str) -> str:
    """RFC 4180 quoting, only when needed, as a careful exporter does."""
    if any(c in value for c in (delimiter, '"', "\n", "\r")) or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_cases(draw: st.DrawFn, token: str = "") -> CsvCase:
    delimiter = draw(st.sampled_from(DELIMITERS))
    encoding = draw(st.sampled_from(("utf-8", "utf-8-sig", "cp1252")))
    order = draw(st.permutations(list(HEADERS)))
    header = [draw(st.sampled_from(HEADERS[c])) for c in order]
    endings = draw(st.lists(st.sampled_from(ENDINGS), min_size=1, max_size=3, unique=True))

    def ending() -> str:
        return draw(st.sampled_from(endings))

    bom = b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    parts: list[bytes] = [bom + b"\n" * draw(st.integers(0, 2))]  # blank lines, then the header
    parts.append((delimiter.join(header) + ending()).encode(codec))
    good: list[str] = []
    described: list[str] = []
    segments = draw(st.integers(1, 25))
    for n in range(segments):
        kind = draw(st.sampled_from(
            ("good", "good", "good", "good_huge", "garbage", "binary", "stray_quote",
             "quote_then_text", "cells", "bad_email", "blank", "duplicate")
        ))
        described.append(kind)
        if kind in {"good", "good_huge", "duplicate"}:
            if kind == "duplicate" and good:
                email = draw(st.sampled_from(good))
            else:
                email = f"g{token}{n}.{len(good)}@example{draw(st.integers(0, 9))}.com"
                good.append(email)
            values = {
                "first_name": draw(st.text(NAME_CHARS, min_size=1, max_size=12)).strip() or "A",
                "last_name": draw(st.text(NAME_CHARS, min_size=1, max_size=12)).strip() or "B",
                "email": draw(st.sampled_from((email, email.upper(), f"  {email} "))),
                "title": draw(st.text(TITLE_CHARS, max_size=30)),
            }
            if kind == "good_huge":
                values["title"] = "Engineer " + "x" * draw(st.integers(1_000, HUGE_FIELD_MAX))
            row = delimiter.join(_quote(values[c], delimiter) for c in order)
            parts.append((row + ending()).encode(codec, "replace"))
        elif kind in {"garbage", "binary"}:
            alphabet = (
                [b for b in range(32, 256) if b != 0x22]
                if kind == "garbage" else [b for b in range(256) if b != 0x22]
            )
            raw = bytes(draw(st.lists(st.sampled_from(alphabet), min_size=1, max_size=300)))
            parts.append(raw + ending().encode())
        elif kind == "stray_quote":  # a quote inside an unquoted field: literal, one line
            parts.append(f'Ann{delimiter}Sm"ith{delimiter}x@y.z{delimiter}t{ending()}'.encode())
        elif kind == "quote_then_text":  # text after a closing quote
            parts.append(f'"Ann"x{delimiter}B{delimiter}q@r.st{delimiter}t{ending()}'.encode())
        elif kind == "cells":
            count = draw(st.sampled_from((1, 2, 3, 5, 9)))
            parts.append((delimiter.join(["c"] * count) + ending()).encode())
        elif kind == "bad_email":
            cells = {"first_name": "Bad", "last_name": "Mail", "email": "not-an-email",
                     "title": "x"}
            parts.append((delimiter.join(cells[c] for c in order) + ending()).encode())
        else:
            parts.append(draw(st.sampled_from((" ", "\t", ""))).encode() + ending().encode())
    if draw(st.booleans()):  # an unterminated quoted field, last: it can only swallow itself
        parts.append(f'Open{delimiter}"never closed{ending()}more text'.encode())
        described.append("unterminated_quote")
    if not draw(st.booleans()):  # the last line without its line ending
        parts[-1] = parts[-1].rstrip(b"\r\n") or parts[-1]
    data = b"".join(parts)
    compressed = draw(st.integers(0, 9)) == 0
    truncated = False
    if compressed:
        data = gzip.compress(data)
        if draw(st.booleans()):
            data = data[: max(10, len(data) - draw(st.integers(1, 50)))]
            truncated = True
    return CsvCase(data, tuple(dict.fromkeys(good)), encoding, compressed, truncated,
                   f"{encoding} {delimiter!r} {'+'.join(described)}")

"""The CSV reader: every kind of input a landing zone receives, read in bounded batches."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stores.csvfile import (
    CANONICAL_COLUMNS,
    CsvBatch,
    CsvFileError,
    RowReject,
    _quoted_cell_count,
    open_csv,
)


def read(data: bytes, batch_rows: int = 1000, **kwargs: int) -> tuple[list[dict], list[RowReject]]:
    """All rows (canonical columns, _line, _raw) and all rejects of a file."""
    rows: list[dict] = []
    rejects: list[RowReject] = []
    for batch in open_csv(io.BytesIO(data), batch_rows=batch_rows, **kwargs):
        assert batch.rows.num_rows + len(batch.rejects) <= batch_rows
        rows.extend(batch.rows.to_pylist())
        rejects.extend(batch.rejects)
    return rows, rejects


def emails(rows: list[dict]) -> list[str | None]:
    return [r["email"] for r in rows]


SIMPLE = "email,first_name,last_name\na@x.com,Ann,Lee\nb@x.com,Bob,Ray\n"


def test_simple_file_gives_canonical_columns_line_numbers_and_raw_text() -> None:
    rows, rejects = read(SIMPLE.encode())
    assert rejects == []
    assert [(r["_line"], r["email"], r["first_name"], r["_raw"]) for r in rows] == [
        (2, "a@x.com", "Ann", "a@x.com,Ann,Lee"),
        (3, "b@x.com", "Bob", "b@x.com,Bob,Ray"),
    ]
    assert rows[0]["company_name"] is None  # a missing column is NULL, never ""


def test_batch_schema_is_all_strings_plus_line_and_raw() -> None:
    batch = next(iter(open_csv(io.BytesIO(SIMPLE.encode()))))
    assert batch.rows.schema.names == [*CANONICAL_COLUMNS, "_line", "_raw"]
    assert all(batch.rows.schema.field(c).type == pa.string() for c in CANONICAL_COLUMNS)
    assert batch.rows.schema.field("_line").type == pa.int64()


def test_header_report() -> None:
    data = b"E-Mail , First Name,Job Title,Favourite Colour,COMPANY_DOMAIN\nx@y.io,A,B,red,y.io\n"
    header = open_csv(io.BytesIO(data)).header
    assert header.mapped == {
        "E-Mail ": "email",
        " First Name": "first_name",
        "Job Title": "title",
        "COMPANY_DOMAIN": "company_domain",
    }
    assert header.ignored == ("Favourite Colour",)
    assert (header.encoding, header.compressed, header.delimiter) == ("utf-8", False, ",")
    assert header.layout == "contacts" and not header.companies_only


def test_a_second_header_for_one_column_fills_the_rows_where_the_first_is_empty() -> None:
    data = b"email,Email Address,website\na@b.co,c@d.co,e.co\n ,f@g.co,h.co\n"
    header = open_csv(io.BytesIO(data)).header
    assert header.mapped == {
        "email": "email",
        "Email Address": "email",
        "website": "company_website",
    }
    assert header.ignored == ()
    rows, _ = read(data)
    assert emails(rows) == ["a@b.co", "f@g.co"]


def test_bom_is_not_part_of_the_first_column() -> None:
    rows, _ = read(b"\xef\xbb\xbf" + SIMPLE.encode())
    assert emails(rows) == ["a@x.com", "b@x.com"]
    assert open_csv(io.BytesIO(b"\xef\xbb\xbf" + SIMPLE.encode())).header.encoding == "utf-8-sig"


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r"])
def test_line_endings(ending: str) -> None:
    rows, rejects = read(SIMPLE.replace("\n", ending).encode())
    assert rejects == []
    assert [(r["_line"], r["last_name"], r["_raw"]) for r in rows] == [
        (2, "Lee", "a@x.com,Ann,Lee"),
        (3, "Ray", "b@x.com,Bob,Ray"),
    ]


def test_mixed_line_endings_and_blank_lines() -> None:
    data = b"email,first_name\r\n\r\na@x.com,A\n\n   \nb@x.com,B\r\nc@x.com,C"
    rows, rejects = read(data)
    assert rejects == []
    assert [(r["_line"], r["email"]) for r in rows] == [
        (3, "a@x.com"),
        (6, "b@x.com"),
        (7, "c@x.com"),
    ]


def test_quoted_commas_quotes_and_newlines_keep_line_numbers_right() -> None:
    data = (
        b"email,title,first_name\n"
        b'a@x.com,"VP, Sales",A\n'
        b'b@x.com,"Head of ""Growth""\r\nEMEA\nand more",B\n'
        b'c@x.com,"Director\n",C\n'
        b"d@x.com,CTO,D,extra\n"
        b'e@x.com,"a ""quoted"" word",E\n'
    )
    rows, rejects = read(data)
    assert [(r["_line"], r["email"], r["title"]) for r in rows] == [
        (2, "a@x.com", "VP, Sales"),
        (3, "b@x.com", 'Head of "Growth"\r\nEMEA\nand more'),
        (6, "c@x.com", "Director\n"),
        (9, "e@x.com", 'a "quoted" word'),
    ]
    assert rows[1]["_raw"] == 'b@x.com,"Head of ""Growth""\r\nEMEA\nand more",B'
    assert rejects == [RowReject(8, "wrong_cell_count", "d@x.com,CTO,D,extra")]


def test_too_many_and_too_few_cells_are_rejects_with_line_and_raw() -> None:
    data = b'email,first_name,last_name\na@x.com,A\nb@x.com,B,C,D\nc@x.com,C,D\n"d@x.com","x,y"\n'
    rows, rejects = read(data)
    assert emails(rows) == ["c@x.com"]
    assert rejects == [
        RowReject(2, "wrong_cell_count", "a@x.com,A"),
        RowReject(3, "wrong_cell_count", "b@x.com,B,C,D"),
        RowReject(5, "wrong_cell_count", '"d@x.com","x,y"'),
    ]


def test_stray_quotes_are_read_as_the_csv_module_reads_them() -> None:
    data = b'email,title\na@x.com,5" screen\nb@x.com,"quoted"tail\n'
    rows, rejects = read(data)
    assert rejects == []
    assert [r["title"] for r in rows] == ['5" screen', "quotedtail"]


def test_unterminated_quote_at_the_end_of_the_file() -> None:
    # The rest of the file becomes one cell, as with the csv module: the row is one long
    # (and here short of cells) record, not a crash.
    rows, rejects = read(b'email,title,city\na@x.com,"never closed\nb@x.com,x,y\n')
    assert rows == []
    assert rejects == [RowReject(2, "wrong_cell_count", 'a@x.com,"never closed\nb@x.com,x,y')]
    rows, rejects = read(b'email,title\na@x.com,"never closed\nb@x.com\n')
    assert rejects == []
    assert [(r["email"], r["title"]) for r in rows] == [("a@x.com", "never closed\nb@x.com\n")]


def test_a_huge_one_line_field_is_fine() -> None:
    huge = "x" * 200_000  # past the csv module's default field limit (128 KiB)
    rows, rejects = read(f'email,title\na@x.com,"{huge}"\nb@x.com,ok\n'.encode())
    assert rejects == [] and [len(r["title"]) for r in rows] == [len(huge), 2]


def test_a_quoted_newline_field_over_the_csv_module_limit_is_a_malformed_row() -> None:
    # What an unterminated quote early in a large file looks like: the csv module stops at
    # its field limit (8 MiB here, so memory stays bounded), the row is refused and reading
    # goes on. The field spans many short lines, each well under the line limit.
    huge = ("x" * (1 << 20) + "\n") * 9
    data = f'email,title\na@x.com,"{huge}more"\nb@x.com,ok\n'.encode()
    rows, rejects = read(data)
    assert (rejects[0].line, rejects[0].reason) == (2, "malformed_row")
    assert {r.reason for r in rejects} <= {"malformed_row", "wrong_cell_count"}
    assert emails(rows) == ["b@x.com"]


def test_windows_1252_and_latin_1_bytes() -> None:
    data = "email,first_name,last_name\né@x.com,Zoë,€uro\nb@x.com,José,Müller\n".encode("cp1252")
    header = open_csv(io.BytesIO(data)).header
    assert header.encoding == "cp1252"
    rows, _ = read(data)
    assert [(r["first_name"], r["last_name"]) for r in rows] == [
        ("Zoë", "€uro"),
        ("José", "Müller"),
    ]
    # 0x81 is undefined in Windows-1252: read as its Latin-1 character, not an error.
    rows, rejects = read(b"email,first_name\na@x.com,A\x81B\n")
    assert rejects == [] and rows[0]["first_name"] == "A\x81B"


def test_utf8_decided_from_the_sample_then_a_bad_byte_rejects_only_its_row() -> None:
    data = b"email,first_name\na@x.com,Ren\xc3\xa9e\nb@x.com,Bad\xe9\nc@x.com,C\n"
    file = open_csv(io.BytesIO(data), sample_bytes=30)  # the sample ends before the bad byte
    assert file.header.encoding == "utf-8"
    rows = [r for b in file for r in b.rows.to_pylist()]
    file = open_csv(io.BytesIO(data), sample_bytes=30)
    rejects = [r for b in file for r in b.rejects]
    assert [(r["email"], r["first_name"]) for r in rows] == [("a@x.com", "Renée"), ("c@x.com", "C")]
    assert rejects == [RowReject(3, "undecodable", "b@x.com,Bad\ufffd")]


def test_gzip_is_detected_by_its_magic_bytes_not_its_name() -> None:
    data = gzip.compress(("\ufeff" + SIMPLE).encode())
    file = open_csv(io.BytesIO(data))
    assert file.header.compressed and file.header.encoding == "utf-8-sig"
    assert emails([r for b in file for r in b.rows.to_pylist()]) == ["a@x.com", "b@x.com"]


def test_a_truncated_gzip_stream_fails_the_file() -> None:
    data = gzip.compress((SIMPLE * 2000).encode())
    with pytest.raises(CsvFileError, match="gzip"):
        read(data[: len(data) // 2])


def test_streams_that_only_have_read_work() -> None:
    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._inner.read(min(size, 7) if size > 0 else size)  # short reads

    file = open_csv(ReadOnly(gzip.compress(SIMPLE.encode())))  # type: ignore[arg-type]
    assert emails([r for b in file for r in b.rows.to_pylist()]) == ["a@x.com", "b@x.com"]


def test_semicolon_and_tab_delimiters_are_sniffed_from_the_header() -> None:
    rows, _ = read(b"email;first_name;departments\na@x.com;A;sales, marketing\n")
    assert rows[0]["departments"] == "sales, marketing"
    rows, _ = read(b"email\tfirst_name\na@x.com\tA\n")
    assert rows[0]["first_name"] == "A"


def test_header_only_file_has_no_rows() -> None:
    file = open_csv(io.BytesIO(b"email,first_name\r\n"))
    assert list(file) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (gzip.compress(b""), "empty once decompressed"),
        (b"\n\n  \r\n", "no header"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "PNG"),
        (b"\x00\x01\x02garbage\x00" * 20, "NUL"),
        (bytes(range(1, 9)) * 50, "control bytes"),
        (b"\xff\xfee\x00m\x00a\x00i\x00l\x00", "UTF-16"),
        (b"name_of_pet,colour\nrex,brown\n", "no recognizable header"),
        (b"john@x.com,John,Doe\nann@x.com,Ann,Lee\n", "no recognizable header"),
    ],
)
def test_files_that_are_not_contact_csv_fail_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(CsvFileError, match=message):
        open_csv(io.BytesIO(data))


def test_a_zip_archive_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("contacts.csv", SIMPLE)
    with pytest.raises(CsvFileError, match="ZIP"):
        open_csv(io.BytesIO(buffer.getvalue()))


def test_companies_only_header_maps_bare_names_to_the_company() -> None:
    data = (
        b"Name,Website,Industry,Employees,Country,City\nAcme,acme.com,Software,51-200,US,Austin\n"
    )
    header = open_csv(io.BytesIO(data)).header
    assert header.companies_only
    assert header.mapped == {
        "Name": "company_name",
        "Website": "company_website",
        "Industry": "company_industries",
        "Employees": "company_employees_count",
        "Country": "company_country",
        "City": "company_city",
    }


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 7, 1000])
def test_batches_split_the_same_rows_at_any_size(batch_rows: int) -> None:
    lines = ["email,title"] + [
        f'u{i}@x.com,"T{i}\nsecond line"' if i % 3 == 0 else f"u{i}@x.com,T{i}" for i in range(20)
    ]
    lines.insert(5, "bad,row,cells")
    data = ("\n".join(lines) + "\n").encode()
    batches: list[CsvBatch] = list(open_csv(io.BytesIO(data), batch_rows=batch_rows))
    assert all(b.rows_read <= batch_rows for b in batches)
    rows = [r for b in batches for r in b.rows.to_pylist()]
    assert [r["email"] for r in rows] == [f"u{i}@x.com" for i in range(20)]
    assert [j.line for b in batches for j in b.rejects] == [8]


def test_prefetched_gives_the_same_batches_and_passes_errors_on() -> None:
    data = (SIMPLE + "c@x.com,C,D\n" * 50).encode()
    direct = [b.rows.to_pylist() for b in open_csv(io.BytesIO(data), batch_rows=7)]
    ahead = [b.rows.to_pylist() for b in open_csv(io.BytesIO(data), batch_rows=7).prefetched()]
    assert ahead == direct
    broken = gzip.compress(data * 200)
    with pytest.raises(CsvFileError, match="gzip"):
        truncated = io.BytesIO(broken[: len(broken) - 40])
        list(open_csv(truncated, batch_rows=7, sample_bytes=64).prefetched())
    for _ in open_csv(io.BytesIO(data), batch_rows=7).prefetched():
        break  # leaving early stops the reading thread (the test would hang otherwise)


def test_large_file_is_read_in_bounded_batches() -> None:
    row = 'u{0}@example.com,"Senior Engineer, Platform",Ann,"Lee",Acme {1},acme{1}.com\n'
    body = "".join(row.format(i, i % 97) for i in range(30_000))
    data = ("email,title,first_name,last_name,company_name,company_website\n" + body).encode()
    sizes = [b.rows.num_rows for b in open_csv(io.BytesIO(data), batch_rows=4096)]
    assert sum(sizes) == 30_000 and max(sizes) == 4096


_TEXT = st.text(alphabet='ab,;" \n', max_size=14)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_quick_cell_count_agrees_with_the_csv_module(line: str) -> None:
    line = line.replace("\n", "")
    count = _quoted_cell_count(line, ",")  # only ever asked about lines holding a quote
    if count and '"' in line:
        rows = list(csv.reader(io.StringIO(line + "\n", newline="")))
        assert len(rows) == 1 and len(rows[0]) == count


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(_TEXT, min_size=3, max_size=3), min_size=1, max_size=8))
def test_round_trip_of_any_quoted_content(cells: list[list[str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["email", "title", "city"])
    writer.writerows(cells)
    rows, rejects = read(out.getvalue().encode(), batch_rows=3)
    assert rejects == []
    assert [[r["email"], r["title"], r["city"]] for r in rows] == cells

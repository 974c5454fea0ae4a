"""Reading a landed CSV file: bytes in, Arrow batches of canonical string columns out.

The file arrives as a binary stream (a local file or an S3 body) and may be large, so it is
read in bounded memory: gzip is undone as a stream, the encoding is decided once from a
leading sample, and rows are collected into batches of at most `batch_rows`.

Each row's boundaries, first line number, raw text and cell count follow Python's csv
module, which is exact about quoted commas, quotes and newlines. The module itself reads
every line whose quoting is not plain; a line without quotes, or whose quotes all sit at
field boundaries, gets the same cell count from counting delimiters (much faster, and a
property test holds the two to the same answer). The cells of a whole batch are then cut
by Arrow's C++ CSV parser, which follows the same non-strict quoting rules; should it ever
disagree, the csv module parses that batch instead.

Nothing here interprets values (that is the normalizer's job): cells stay text, a column
the header lacks is NULL, and a row whose cell count differs from the header's is a reject.
Only what a spreadsheet added is undone (`'+1 ...`, `="00123"`), and a column named by
several headers takes each row's first non-empty cell (stores.csvcells).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import operator
import queue
import re
import threading
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from stores.csvcells import first_filled, spreadsheet_text
from stores.csvheader import CANONICAL_COLUMNS, HeaderMapping, map_header, recognized_count

__all__ = [
    "CANONICAL_COLUMNS",
    "CsvBatch",
    "CsvFile",
    "CsvFileError",
    "HeaderReport",
    "RowReject",
    "open_csv",
]

SAMPLE_BYTES = 1 << 20
MAX_LINE_CHARS = 8 << 20
_DELIMITERS = (",", ";", "\t", "|")
_QUOTE = '"'


class CsvFileError(ValueError):
    """The file as a whole cannot be read: not CSV, empty, corrupt, or no known header."""


class BinaryReadable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class HeaderReport:
    """What the header said and how the file was decoded; goes into the run's metadata."""

    columns: tuple[str, ...]
    mapped: dict[str, str]
    ignored: tuple[str, ...]
    encoding: str
    compressed: bool
    delimiter: str
    layout: str  # "contacts" or "companies"
    header_line: int

    @property
    def companies_only(self) -> bool:
        return self.layout == "companies"


@dataclass(frozen=True)
class RowReject:
    line: int
    reason: str
    raw: str


@dataclass
class CsvBatch:
    """Rows of canonical string columns plus `_line` and `_raw`, and the rows refused here."""

    rows: pa.Table
    rejects: list[RowReject] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.rows.num_rows + len(self.rejects)


# --- decoding ---------------------------------------------------------------------------

_UNDECODABLE_HANDLER = "connectra.undecodable"
_LATIN1_HANDLER = "connectra.latin1_fallback"
_SURROGATES = re.compile("[\udc80-\udcff]")
_surrogateescape = codecs.lookup_error("surrogateescape")


class _DecodeErrorCount:
    """Bumped on every undecodable byte; a reader compares it to know a check is needed."""

    value = 0


def _undecodable(exc: UnicodeError) -> tuple[str, int]:
    _DecodeErrorCount.value += 1
    replacement, end = _surrogateescape(exc)
    return str(replacement), end


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves five bytes undefined; Latin-1 gives every byte a character.
    if isinstance(exc, UnicodeDecodeError):
        return exc.object[exc.start : exc.end].decode("latin-1"), exc.end
    raise exc


codecs.register_error(_UNDECODABLE_HANDLER, _undecodable)
codecs.register_error(_LATIN1_HANDLER, _latin1_fallback)


def detect_encoding(sample: bytes, complete: bool) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as UTF-8, else Windows-1252."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook or a .zip?), not a CSV file"),
    (b"PK\x05\x06", "an empty ZIP archive, not a CSV file"),
    (b"\x89PNG", "a PNG image, not a CSV file"),
    (b"\xff\xd8\xff", "a JPEG image, not a CSV file"),
    (b"GIF8", "a GIF image, not a CSV file"),
    (b"%PDF", "a PDF document, not a CSV file"),
    (b"\xd0\xcf\x11\xe0", "an OLE document (an old .xls workbook?), not a CSV file"),
    (b"PAR1", "a Parquet file, not a CSV file"),
    (b"BZh", "bzip2-compressed; only gzip compression is supported"),
    (b"\xfd7zXZ\x00", "xz-compressed; only gzip compression is supported"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed; only gzip compression is supported"),
    (b"\xff\xfe", "UTF-16 text; save the file as UTF-8"),
    (b"\xfe\xff", "UTF-16 text; save the file as UTF-8"),
)


def _refuse_binary(sample: bytes) -> None:
    for signature, what in _BINARY_SIGNATURES:
        if sample.startswith(signature):
            raise CsvFileError(f"the file is {what}")
    if b"\x00" in sample:
        raise CsvFileError("the file holds NUL bytes: it is binary data, not a CSV file")
    controls = sum(sample.count(bytes([b])) for b in range(32) if b not in (9, 10, 13))
    if controls * 100 > len(sample):
        raise CsvFileError("the file is mostly control bytes: it is binary data, not a CSV file")


class _PrefixedStream(io.RawIOBase):
    """Bytes already read (to sniff them) followed by the rest of the source."""

    def __init__(self, prefix: bytes, source: BinaryReadable) -> None:
        self._prefix = memoryview(prefix)
        self._source = source
        self._readinto = getattr(source, "readinto", None)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        size = len(buffer)
        if self._prefix:
            count = min(size, len(self._prefix))
            buffer[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        if self._readinto is not None:
            return int(self._readinto(buffer) or 0)
        data = self._source.read(size)
        if len(data) > size:  # a source that ignores the size; keep the excess for later
            self._prefix = memoryview(data[size:])
            data = data[:size]
        buffer[: len(data)] = data
        return len(data)


def _read_upto(stream: BinaryReadable, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def open_csv(
    stream: BinaryReadable, *, batch_rows: int = 50_000, sample_bytes: int = SAMPLE_BYTES
) -> CsvFile:
    """Sniffs compression, encoding and header; raises CsvFileError when that fails."""
    # The csv module refuses fields over 128 KiB by default; a line may be 8 MiB here.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_CHARS))
    head = _read_upto(stream, 64 << 10)
    if not head:
        raise CsvFileError("the file is empty")
    compressed = head[:2] == b"\x1f\x8b"
    prefixed = _PrefixedStream(head, stream)
    body: BinaryReadable = prefixed
    if compressed:
        body = gzip.GzipFile(fileobj=prefixed, mode="rb")
    else:
        _refuse_binary(head)
    try:
        sample = _read_upto(body, sample_bytes)
    except _GZIP_ERRORS as exc:
        raise CsvFileError(f"the gzip stream is corrupt: {exc}") from exc
    if not sample:
        raise CsvFileError("the file is empty" + (" once decompressed" if compressed else ""))
    _refuse_binary(sample)
    encoding = detect_encoding(sample, complete=len(sample) < sample_bytes)
    errors = _LATIN1_HANDLER if encoding == "cp1252" else _UNDECODABLE_HANDLER
    buffered = io.BufferedReader(_PrefixedStream(sample, body), 1 << 20)
    text = io.TextIOWrapper(buffered, encoding=encoding, errors=errors, newline="")
    text._CHUNK_SIZE = 1 << 16  # type: ignore[attr-defined]  # fewer, larger decode steps
    return CsvFile(text, encoding=encoding, compressed=compressed, batch_rows=batch_rows)


# --- rows -------------------------------------------------------------------------------


def _refuse_endless(line: str, line_no: int) -> None:
    """Lines are read at most MAX_LINE_CHARS at a time, so memory stays bounded; a line
    that long and still unfinished means the file is not CSV."""
    if line[-1] not in "\r\n":
        raise CsvFileError(f"line {line_no} is longer than {MAX_LINE_CHARS} characters: not CSV")


def _printable(raw: str) -> str:
    """Raw text with undecodable bytes shown as U+FFFD, so it can be stored as UTF-8."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class CsvFile:
    """An opened CSV file: `header` is known, iterating yields CsvBatch objects once."""

    def __init__(
        self, text: io.TextIOWrapper, *, encoding: str, compressed: bool, batch_rows: int
    ) -> None:
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self._text = text
        self._batch_rows = batch_rows
        # Physical lines with their endings (CRLF, LF or CR: newline="" keeps them as is).
        self._lines = iter(partial(text.readline, MAX_LINE_CHARS), "")
        self._pending: list[str] = []
        self._tap: list[str] = []
        self._line_no = 0
        self._errors_before = _DecodeErrorCount.value
        self._multiline = False  # does the batch being collected hold a quoted newline?
        self.header, self._mapping = self._read_header(encoding, compressed)
        self._ncols = len(self.header.columns)

    # The csv reader pulls lines through here: first a line handed to it, then (inside a
    # quoted newline) more lines of the file. `_tap` keeps them, for the row's raw text.
    def _feed(self) -> Iterator[str]:
        while True:
            if self._pending:
                line = self._pending.pop()
            else:
                following = next(self._lines, None)
                if following is None:
                    return
                line = following
                if len(line) >= MAX_LINE_CHARS:
                    _refuse_endless(line, self._line_no + len(self._tap) + 1)
            self._tap.append(line)
            yield line

    def _read_header(self, encoding: str, compressed: bool) -> tuple[HeaderReport, HeaderMapping]:
        try:
            for line in self._lines:
                self._line_no += 1
                if len(line) >= MAX_LINE_CHARS:
                    _refuse_endless(line, self._line_no)
                if line.strip():
                    break
            else:
                raise CsvFileError("the file holds no header line (it is blank)")
        except _GZIP_ERRORS as exc:
            raise CsvFileError(f"the gzip stream is corrupt: {exc}") from exc
        if self._errors_before != _DecodeErrorCount.value and _SURROGATES.search(line):
            raise CsvFileError("the header line holds bytes that are not valid UTF-8")
        delimiter = max(
            _DELIMITERS,
            key=lambda d: (recognized_count(next(csv.reader([line], delimiter=d))), d == ","),
        )
        self._reader = csv.reader(self._feed(), delimiter=delimiter, quotechar=_QUOTE)
        header_line = self._line_no
        self._pending.append(line)
        self._tap.clear()
        names = next(self._reader)
        self._line_no += self._reader.line_num - 1
        mapping = map_header(names)
        if not mapping.mapped:
            shown = ", ".join(repr(n) for n in names[:8]) + (", ..." if len(names) > 8 else "")
            raise CsvFileError(
                f"no recognizable header on line {header_line}: found {shown}; expected "
                "contact or company columns such as email, first_name, company_name"
            )
        report = HeaderReport(
            columns=tuple(names),
            mapped={names[i]: c for i, c in mapping.mapped.items()},
            ignored=tuple(names[i] for i in mapping.ignored),
            encoding=encoding,
            compressed=compressed,
            delimiter=delimiter,
            layout=mapping.layout,
            header_line=header_line,
        )
        return report, mapping

    def __iter__(self) -> Iterator[CsvBatch]:
        try:
            yield from self._batches()
        except _GZIP_ERRORS as exc:
            raise CsvFileError(
                f"the gzip stream is corrupt after line {self._line_no}: {exc}"
            ) from exc

    def prefetched(self, depth: int = 1) -> Iterator[CsvBatch]:
        """The same batches, read ahead by a background thread, at most `depth` waiting.

        Reading is mostly Python (it holds the GIL) while normalizing is mostly DuckDB and
        Arrow (they release it), so reading the next batch while the caller works on this
        one uses a second core. Memory stays bounded: depth + 2 batches at most. Errors
        reach the caller in order; leaving the loop early stops the thread.
        """
        if depth < 1:
            raise ValueError("depth must be at least 1")
        handoff: queue.Queue[tuple[CsvBatch | None, BaseException | None]] = queue.Queue(depth)
        stop = threading.Event()

        def put(item: tuple[CsvBatch | None, BaseException | None]) -> bool:
            while not stop.is_set():
                try:
                    handoff.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for batch in self:
                    if not put((batch, None)):
                        return
                put((None, None))
            except BaseException as exc:  # handed to the consumer, re-raised there
                put((None, exc))

        worker = threading.Thread(target=produce, name="csv-prefetch", daemon=True)
        worker.start()
        try:
            while True:
                batch, error = handoff.get()
                if error is not None:
                    raise error
                if batch is None:
                    return
                yield batch
        finally:
            stop.set()
            worker.join()

    def _batches(self) -> Iterator[CsvBatch]:
        # The loop runs once per line of files with millions of them: names are local.
        delimiter, ncols, limit = self.header.delimiter, self._ncols, self._batch_rows
        reader, tap, pending = self._reader, self._tap, self._pending
        errors_before = self._errors_before
        raws: list[str] = []
        starts: list[int] = []
        rejects: list[RowReject] = []
        for line in self._lines:
            start = self._line_no + 1
            if len(line) >= MAX_LINE_CHARS:
                _refuse_endless(line, start)
            if _QUOTE not in line:
                self._line_no = start
                raw = line.rstrip("\r\n")
                if not raw or raw.isspace():
                    continue
                cells = raw.count(delimiter) + 1
            elif (cells := _quoted_cell_count(line.rstrip("\r\n"), delimiter)) > 0:
                self._line_no = start
                raw = line.rstrip("\r\n")
            else:
                pending.append(line)
                tap.clear()
                before = reader.line_num
                try:
                    cells = len(next(reader))
                except csv.Error:
                    cells = -1
                self._line_no = start - 1 + reader.line_num - before
                raw = "".join(tap).rstrip("\r\n")
                self._multiline = self._multiline or len(tap) > 1
            if cells == ncols and (
                errors_before == _DecodeErrorCount.value or not _SURROGATES.search(raw)
            ):
                raws.append(raw)
                starts.append(start)
            else:
                rejects.append(_row_reject(start, raw, cells))
            if len(raws) + len(rejects) >= limit:
                yield CsvBatch(self._table(raws, starts), rejects)
                raws, starts, rejects = [], [], []
                self._multiline = False
        if raws or rejects:
            yield CsvBatch(self._table(raws, starts), rejects)

    def _table(self, raws: list[str], starts: list[int]) -> pa.Table:
        count = len(raws)
        # Rows are encoded one by one (small, recycled allocations) and joined once: a large
        # temporary str plus its encoding would cost two fresh buffers per batch.
        encoded = [raw.encode("utf-8") for raw in raws]
        encoded.append(b"")
        data = pa.py_buffer(b"\n".join(encoded))
        encoded.pop()
        parsed = self._parse_cells(data, raws) if count else {}
        arrays: list[pa.Array | pa.ChunkedArray] = []
        for name in CANONICAL_COLUMNS:
            positions = self._mapping.sources.get(name, ()) if count else ()
            cells = [spreadsheet_text(parsed[i]) for i in positions]
            arrays.append(first_filled(cells) if cells else pa.nulls(count, pa.string()))
        arrays.append(pa.array(starts, pa.int64()))
        arrays.append(_raw_texts(map(len, encoded), count, data))
        return pa.Table.from_arrays(arrays, schema=ROW_SCHEMA)

    def _parse_cells(self, data: pa.Buffer, raws: list[str]) -> dict[int, pa.ChunkedArray]:
        """Cells of the wanted columns, keyed by header position."""
        wanted = sorted(self._mapping.mapped)
        names = [f"f{i}" for i in range(self._ncols)]
        # Quoted newlines make Arrow split the text serially before parsing it in parallel,
        # which costs more CPU than one thread parsing it all: use threads only without them.
        multiline = self._multiline
        try:
            table = pacsv.read_csv(
                pa.BufferReader(data),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=not multiline),
                parse_options=pacsv.ParseOptions(
                    delimiter=self.header.delimiter,
                    quote_char=_QUOTE,
                    double_quote=True,
                    escape_char=False,
                    newlines_in_values=multiline,
                    ignore_empty_lines=False,
                ),
                convert_options=pacsv.ConvertOptions(
                    include_columns=[names[i] for i in wanted],
                    column_types={names[i]: pa.string() for i in wanted},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid:
            table = None
        if table is not None and table.num_rows == len(raws):
            return {i: table.column(names[i]) for i in wanted}
        # Each raw text is one complete record, so the csv module gives one row per text.
        rows = list(csv.reader(raws, delimiter=self.header.delimiter, quotechar=_QUOTE))
        columns = list(zip(*rows, strict=True))
        return {i: pa.chunked_array([pa.array(columns[i], pa.string())]) for i in wanted}


def _quoted_cell_count(body: str, delimiter: str) -> int:
    """The cell count of a one-line row whose quotes all sit at field boundaries (or are
    doubled inside a quoted field), as the csv module would count it; 0 for any other line
    (an open quoted newline, a stray quote), which the csv module itself then reads.

    Splitting on quotes leaves the text outside quoted fields at the even positions, so
    the cells are one more than the delimiters found there.
    """
    parts = body.split(_QUOTE)
    if not len(parts) & 1:
        return 0  # an odd number of quotes: a field goes on to the next line, or stray
    first, last = parts[0], parts[-1]
    if (first and first[-1] != delimiter) or (last and last[0] != delimiter):
        return 0
    count = first.count(delimiter) + last.count(delimiter) + 1
    for between in parts[2:-1:2]:
        if between:  # empty: a doubled quote inside a field
            if between[0] != delimiter or between[-1] != delimiter:
                return 0
            count += between.count(delimiter)
    return count


def _row_reject(line: int, raw: str, cells: int) -> RowReject:
    if _SURROGATES.search(raw):
        return RowReject(line, "undecodable", _printable(raw))
    if cells == -1:
        return RowReject(line, "malformed_row", raw)
    return RowReject(line, "wrong_cell_count", raw)


def _raw_texts(lengths: Iterable[int], count: int, data: pa.Buffer) -> pa.Array:
    """The raw texts as slices of the batch's "\n"-joined UTF-8 bytes: one C-speed copy
    instead of converting tens of thousands of Python strings one by one."""
    ends = itertools.accumulate(map(operator.add, lengths, itertools.repeat(1)))
    kind = pa.string() if data.size < 2**31 else pa.large_string()
    offsets = pa.array([0, *ends], pa.int32() if kind == pa.string() else pa.int64())
    with_newline = pa.Array.from_buffers(kind, count, [None, offsets.buffers()[1], data])
    return pc.utf8_rtrim(with_newline, characters="\n")


ROW_SCHEMA = pa.schema(
    [pa.field(name, pa.string()) for name in CANONICAL_COLUMNS]
    + [pa.field("_line", pa.int64()), pa.field("_raw", pa.string())]
)

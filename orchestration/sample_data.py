"""Reproducible sample CSVs of contacts with their companies (DESIGN.md section 4).

The files look like real exports on purpose: a mixed-style header, values written the
several ways people write them ("1,200", "1.2k", "51-200", "$3.5M", "USA"), messiness at
low realistic rates, duplicates and a few bad rows. Each file gets a sidecar manifest with
the counts an ingest must reproduce (read = loaded + merged + rejected), so tests and
benchmarks check the pipeline against numbers fixed at generation time.

Speed and memory: randomness is drawn in bulk per chunk of rows, companies live only inside
their chunk (state is bounded by the chunk, not the file) and rows stream to disk.
"""


from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from orchestration.sample_rows import HEADER, SampleCounts, SampleGenerator

MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "connectra-sample-manifest/1"


@dataclass(frozen=True)
class SampleManifest:
    """The sidecar of one sample file: the counts an ingest of that file must report."""

    file: str
    seed: int
    part: int
    parts: int
    rows: int
    columns: list[str]
    expected: dict[str, int]
    bad_rows: dict[str, int]
    duplicate_rows: dict[str, int]
    contacts: dict[str, int]
    distinct_contact_emails: int
    distinct_companies: int
    format: str = MANIFEST_FORMAT

    @classmethod
    def from_counts(cls, file: str, seed: int, part: int, parts: int,
                    c: SampleCounts) -> SampleManifest:
        return cls(
            file=file, seed=seed, part=part, parts=parts, rows=c.rows, columns=HEADER,
            expected={"read": c.rows, "loaded": c.contacts, "merged": c.merged,
                      "rejected": c.rejected},
            bad_rows={"invalid_email": c.invalid_email, "no_identity": c.no_identity,
                      "too_many_cells": c.too_many_cells},
            duplicate_rows={"exact": c.exact_duplicates, "changed": c.changed_duplicates},
            contacts={"distinct": c.contacts, "by_email": c.contacts_by_email,
                      "by_linkedin": c.contacts_by_linkedin, "by_name": c.contacts_by_name},
            distinct_contact_emails=c.contacts_by_email, distinct_companies=c.companies)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def manifest_path(csv_path: Path) -> Path:
    """`<file>.manifest.json`, next to the file."""
    return csv_path.with_name(csv_path.name + MANIFEST_SUFFIX)


def read_manifest(csv_path: Path) -> SampleManifest:
    return SampleManifest(**json.loads(manifest_path(csv_path).read_text(encoding="utf-8")))


def sample_file_names(rows: int, seed: int = 42, max_rows_per_file: int | None = None,
                      prefix: str = "contacts", compress: bool = False) -> list[tuple[str, int]]:
    """(file name, rows in it) for each file write_sample_files would write, in order."""
    if rows <= 0:
        return []
    ext = ".csv.gz" if compress else ".csv"
    per_file = max_rows_per_file if max_rows_per_file and max_rows_per_file > 0 else rows
    sizes = [min(per_file, rows - start) for start in range(0, rows, per_file)]
    if len(sizes) == 1:
        return [(f"{prefix}-{seed}-{rows}{ext}", rows)]
    return [(f"{prefix}-{seed}-{rows}-part{i:03d}{ext}", size)
            for i, size in enumerate(sizes, start=1)]


def write_sample_files(
    rows: int,
    out_dir: Path,
    seed: int = 42,
    *,
    max_rows_per_file: int | None = None,
    line_ending: Literal["\n", "\r\n"] = "\n",
    bom: bool = False,
    compress: bool = False,
    prefix: str = "contacts",
    write_manifest: bool = True,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write `rows` sample rows: one file, or parts of at most max_rows_per_file rows.

    A file is written under a hidden temporary name and renamed once complete, after its
    manifest, so a landing-zone sensor watching out_dir never picks up half a file. Duplicates
    only repeat rows of the same file, so each manifest holds for its file alone. progress, if
    given, is called with the rows written so far after each chunk; rows=0 writes nothing.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if line_ending not in ("\n", "\r\n"):
        raise ValueError(f"line_ending must be LF or CRLF, got {line_ending!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    generator = SampleGenerator(seed)
    names = sample_file_names(rows, seed, max_rows_per_file, prefix, compress)
    written: list[Path] = []
    total = 0
    for part, (name, part_rows) in enumerate(names, start=1):
        final, tmp = out_dir / name, out_dir / f".{name}.partial"
        counts = SampleCounts()
        with _open_text(tmp, compress, bom) as handle:
            writer = csv.writer(handle, lineterminator=line_ending)
            writer.writerow(HEADER)
            for chunk in generator.chunks(part_rows, counts):
                writer.writerows(chunk)
                total += len(chunk)
                if progress is not None:
                    progress(total)
        if write_manifest:
            manifest = SampleManifest.from_counts(name, seed, part, len(names), counts)
            manifest_path(final).write_text(manifest.to_json(), encoding="utf-8")
        os.replace(tmp, final)
        written.append(final)
    return written


def _open_text(path: Path, compress: bool, bom: bool) -> io.TextIOWrapper:
    """UTF-8 text out; gzip output carries no name or mtime, so it is reproducible too."""
    encoding = "utf-8-sig" if bom else "utf-8"
    raw = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed with the wrapper
    if not compress:
        return io.TextIOWrapper(raw, encoding=encoding, newline="")
    zipped = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
    return _GzipText(zipped, raw, encoding)


class _GzipText(io.TextIOWrapper):
    """Text over gzip that also closes the file under it (GzipFile leaves a fileobj open)."""

    def __init__(self, zipped: gzip.GzipFile, raw: BinaryIO, encoding: str) -> None:
        super().__init__(zipped, encoding=encoding, newline="")  # type: ignore[arg-type]
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()

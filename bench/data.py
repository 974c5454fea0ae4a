"""The bench's input: generated CSVs, and their normalized rows kept as Parquet batches.

Every limit is measured on exactly what the real load writes: each file is read and
normalized once, with the same reader, normalizer and batch size as load_file
(BATCH_SIZE_FOR_INSERTION x READ_BATCH_FACTOR rows), and each normalized batch is kept as
Parquet files (companies, contact documents, rejects). The raw COPY, the staged upsert, the
raw `_bulk` and the DuckDB load then replay those batches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from assets.loading import READ_BATCH_FACTOR
from dbt_like_sql.normalize import FileNormalizer
from dbt_like_sql.schemas import CONTACTS_SCHEMA
from orchestration.sample_data import read_manifest, sample_file_names, write_sample_files
from stores.csvfile import open_csv

BATCH_SIZE_FOR_INSERTION = 500  # the default of the setting, what a deployment runs
KINDS = ("companies", "documents", "rejects")


@dataclass(frozen=True)
class SampleFile:
    """One generated CSV in the landing folder and the counts its manifest promises."""

    path: Path
    rows: int
    expected: dict[str, int]

    @property
    def key(self) -> str:
        return self.path.name

    @property
    def size_mb(self) -> float:
        return self.path.stat().st_size / 1e6


def sample_file(landing: Path, rows: int, seed: int = 42) -> tuple[SampleFile, float | None]:
    """The CSV of `rows` sample rows (generated unless already there); seconds spent or None."""
    [(name, _)] = sample_file_names(rows, seed)
    path = landing / name
    spent: float | None = None
    if not path.is_file():
        started = time.perf_counter()
        write_sample_files(rows, landing, seed)
        spent = time.perf_counter() - started
    manifest = read_manifest(path)
    return SampleFile(path, rows, dict(manifest.expected)), spent


@dataclass(frozen=True)
class NormalizedFile:
    """The normalized batches of one file, as Parquet under `folder`."""

    folder: Path
    batches: int
    rows_read: int
    companies: int  # rows over all batches (a company seen in two batches counts twice)
    contacts: int
    rejects: int
    seconds: float

    def path(self, batch: int, kind: str) -> Path:
        return self.folder / f"{batch:04d}.{kind}.parquet"

    def table(self, batch: int, kind: str) -> pa.Table:
        return pq.read_table(self.path(batch, kind))

    def tables(self, kind: str) -> Iterator[pa.Table]:
        for batch in range(self.batches):
            yield self.table(batch, kind)

    def contacts_of(self, documents: pa.Table) -> pa.Table:
        return documents.select(CONTACTS_SCHEMA.names)

    def as_dict(self) -> dict[str, object]:
        return {"batches": self.batches, "rows_read": self.rows_read,
                "companies": self.companies, "contacts": self.contacts, "rejects": self.rejects,
                "normalize_seconds": round(self.seconds, 2),
                "normalize_rows_per_s": round(self.rows_read / self.seconds, 1)}


def normalize_file(sample: SampleFile, out: Path,
                   load_run: str = "bench-normalize") -> NormalizedFile:
    """Reads and normalizes the file batch by batch as load_file does; writes Parquet."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.parquet"):
        old.unlink()
    counts = {"batches": 0, "rows_read": 0, "companies": 0, "contacts": 0, "rejects": 0}
    started = time.perf_counter()
    with sample.path.open("rb") as stream:
        csv_file = open_csv(stream, batch_rows=BATCH_SIZE_FOR_INSERTION * READ_BATCH_FACTOR)
        with FileNormalizer(sample.key, load_run, datetime.now(UTC)) as normalizer:
            for raw in csv_file.prefetched():
                batch = normalizer.process(raw)
                n = counts["batches"]
                for kind, table in (("companies", batch.companies),
                                    ("documents", batch.contact_documents),
                                    ("rejects", batch.rejects)):
                    pq.write_table(table, out / f"{n:04d}.{kind}.parquet", compression="none")
                counts["batches"] += 1
                counts["rows_read"] += batch.rows_read
                counts["companies"] += batch.companies.num_rows
                counts["contacts"] += batch.contacts.num_rows
                counts["rejects"] += batch.rejects.num_rows
    seconds = time.perf_counter() - started
    normalized = NormalizedFile(out, seconds=seconds, **counts)
    (out / "summary.json").write_text(json.dumps(normalized.as_dict(), indent=2))
    return normalized

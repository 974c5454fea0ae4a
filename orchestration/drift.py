"""Drift between the record store and the search index, and the repair it calls for.

The search index is derived data: PostgreSQL holds the records, the index a projection of
them, so whatever the index lost (a node that came back without its data, a load whose
search writes were dropped, a crash between the two writes) can be rebuilt from the records.
`measure` compares the two per source file (a record counts for every file that
contributed to it: both stores keep the list) and checks a random sample of record ids,
and their values, in the index; `plan_repair` turns what it found into a reindex of the
files behind, or of everything when the index is missing, empty, or behind on most files.
The search_drift_sensor (orchestration/drift_sensor.py) runs the two on a schedule and
launches the `reindex` job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stores.base import Service
from stores.errors import IndexMissing

SERVICES: tuple[Service, ...] = ("contacts", "companies")
SAMPLE_SIZE = 200
# Behind on more than this share of the files (or the index empty): rebuild it all, which
# streams faster than selecting most of the records file by file.
FULL_SHARE = 0.5
FULL_MIN_FILES = 4  # with fewer files, file by file is as cheap as everything


@dataclass(frozen=True)
class Drift:
    """What one comparison found."""

    index_missing: bool = False
    # service -> file -> (records, documents) where the two differ
    files_behind: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    # service -> sampled ids the index lacks or holds with other values
    sample_mismatches: dict[str, list[str]] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)  # service -> records in total
    documents: dict[str, int] = field(default_factory=dict)  # service -> documents in total
    files: int = 0  # distinct source files in the records

    @property
    def clean(self) -> bool:
        return not (
            self.index_missing
            or any(self.files_behind.values())
            or any(self.sample_mismatches.values())
        )

    def describe(self) -> str:
        if self.index_missing:
            return "the search index is missing"
        if self.clean:
            return f"in step: {self.files} files, {sum(self.records.values()):,} records"
        parts = []
        for service, behind in self.files_behind.items():
            if behind:
                lost = sum(abs(r - d) for r, d in behind.values())
                parts.append(f"{service}: {len(behind)} files differ by {lost:,} documents")
        for service, ids in self.sample_mismatches.items():
            if ids:
                parts.append(f"{service}: {len(ids)} sampled records differ in the index")
        return "; ".join(parts)

    def metadata(self) -> dict[str, Any]:
        return {
            "index_missing": self.index_missing,
            "files_behind": sorted({f for b in self.files_behind.values() for f in b}),
            "sample_mismatches": {s: len(ids) for s, ids in self.sample_mismatches.items()},
            "records": dict(self.records),
            "documents": dict(self.documents),
        }


@dataclass(frozen=True)
class RepairPlan:
    """Reindex everything (`files` None) or the records of these source files."""

    files: list[str] | None
    reason: str

    @property
    def full(self) -> bool:
        return self.files is None


def compare_counts(
    records: Mapping[str, int], documents: Mapping[str, int]
) -> dict[str, tuple[int, int]]:
    """Files whose record count and document count differ (either side may lack a file)."""
    return {
        f: (records.get(f, 0), documents.get(f, 0))
        for f in sorted(set(records) | set(documents))
        if records.get(f, 0) != documents.get(f, 0)
    }


def plan_repair(drift: Drift) -> RepairPlan | None:
    """What to rebuild, or None when the stores agree.

    A sampled record that differs on a file whose counts agree cannot be placed in a file by
    the sample, so it calls for a full rebuild, but only once the files behind are repaired
    (the next comparison then tells whether the sample still differs)."""
    if drift.clean:
        return None
    if drift.index_missing:
        return RepairPlan(None, "the search index is missing")
    if sum(drift.records.values()) and not sum(drift.documents.values()):
        return RepairPlan(None, "the search index is empty while the records are not")
    behind = sorted({f for files in drift.files_behind.values() for f in files})
    if drift.files >= FULL_MIN_FILES and len(behind) > FULL_SHARE * drift.files:
        return RepairPlan(None, f"the index is behind on {len(behind)} of {drift.files} files")
    if not behind:
        return RepairPlan(None, drift.describe())
    return RepairPlan(behind, drift.describe())


def measure(
    records: Any,
    search: Any,
    sample_size: int = SAMPLE_SIZE,
    same_values: Callable[[Service, list[str]], list[str]] | None = None,
) -> Drift:
    """Compares the record store and the search store (both of the production profile).

    `same_values(service, ids)` returns the sampled ids whose document differs from the
    projection of the record; without it only the ids' presence is checked.
    """
    try:
        search.ping()
    except IndexMissing:
        return Drift(index_missing=True)
    files_behind: dict[str, dict[str, tuple[int, int]]] = {}
    mismatches: dict[str, list[str]] = {}
    totals: dict[str, int] = {}
    documents: dict[str, int] = {}
    all_files: set[str] = set()
    for service in SERVICES:
        in_records = records.file_counts(service)
        in_search = search.file_counts(service)
        totals[service] = sum(in_records.values())
        documents[service] = sum(in_search.values())
        all_files.update(in_records)
        files_behind[service] = compare_counts(in_records, in_search)
        sample = records.sample_ids(service, sample_size)
        held = search.get_documents(service, sample)
        missing = [i for i in sample if i not in held]
        differing = same_values(service, [i for i in sample if i in held]) if same_values else []
        mismatches[service] = sorted({*missing, *differing})
    return Drift(False, files_behind, mismatches, totals, documents, len(all_files))

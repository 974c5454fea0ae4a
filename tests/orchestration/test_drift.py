"""The drift check's decisions, as pure functions: what differs, and what to rebuild."""

from __future__ import annotations

from orchestration.drift import Drift, compare_counts, plan_repair


def drift(behind: dict[str, dict[str, tuple[int, int]]] | None = None, *, files: int = 10,
          records: int = 1_000, documents: int = 990,
          sample: dict[str, list[str]] | None = None) -> Drift:  # fmt: skip
    return Drift(
        files_behind=behind or {},
        sample_mismatches=sample or {},
        records={"contacts": records, "companies": 0},
        documents={"contacts": documents, "companies": 0},
        files=files,
    )


def test_compare_counts_finds_files_missing_on_either_side_or_short() -> None:
    records = {"a.csv": 10, "b.csv": 5, "c.csv": 7}
    documents = {"a.csv": 10, "b.csv": 3, "z.csv": 1}
    assert compare_counts(records, documents) == {
        "b.csv": (5, 3), "c.csv": (7, 0), "z.csv": (0, 1),
    }  # fmt: skip
    assert compare_counts(records, dict(records)) == {}


def test_stores_in_step_need_nothing() -> None:
    assert plan_repair(drift(documents=1_000)) is None


def test_a_missing_or_empty_index_is_rebuilt_whole() -> None:
    missing = plan_repair(Drift(index_missing=True))
    assert missing is not None and missing.full and "missing" in missing.reason
    empty = plan_repair(drift({"contacts": {"a.csv": (1_000, 0)}}, documents=0))
    assert empty is not None and empty.full and "empty" in empty.reason


def test_a_few_files_behind_are_reindexed_alone_most_files_means_everything() -> None:
    few = plan_repair(drift({"contacts": {"b.csv": (5, 3)}, "companies": {"c.csv": (2, 0)}}))
    assert few is not None and few.files == ["b.csv", "c.csv"]
    assert "contacts: 1 files differ by 2 documents" in few.reason
    behind = {f"f{i}.csv": (10, 9) for i in range(6)}
    most = plan_repair(drift({"contacts": behind}, files=10))
    assert most is not None and most.full and "6 of 10 files" in most.reason


def test_sampled_records_that_differ_with_every_count_right_rebuild_everything() -> None:
    plan = plan_repair(drift(documents=1_000, sample={"contacts": ["id-1", "id-2"]}))
    assert plan is not None and plan.full and "2 sampled records differ" in plan.reason
    # With files behind too, those go first; the next check tells whether the sample still differs.
    first = plan_repair(drift({"contacts": {"b.csv": (5, 3)}}, sample={"contacts": ["id-1"]}))
    assert first is not None and first.files == ["b.csv"]

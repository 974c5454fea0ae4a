"""The sample-data generator: reproducible, in the DESIGN format, and its manifests true.

The manifest is checked against a count made here, independently, from the file itself with
the csv module and DESIGN's identity rules, so a pipeline test that trusts the manifest
trusts numbers that were verified against the bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.sample_data import (
    manifest_path,
    read_manifest,
    sample_file_names,
    write_sample_files,
)
from orchestration.sample_pools import COUNTRY_VARIANTS
from orchestration.sample_rows import generate_rows

# DESIGN.md section 4, copied here rather than imported so the test checks the module.
DESIGN_COLUMNS = {
    "first_name", "last_name", "title", "seniority", "departments", "email", "phone",
    "linkedin_url", "city", "state", "country", "created_at", "company_name",
    "company_website", "company_industries", "company_employees_count",
    "company_annual_revenue", "company_founded_year", "company_city", "company_state",
    "company_country", "company_linkedin_url", "company_keywords", "company_technologies",
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMPLOYEES = re.compile(r"^(\d+|\d{1,3}(,\d{3})+|\d+(\.\d)?k|[\d,]+ ?- ?[\d,]+)?$")
REVENUE = re.compile(
    r"^(\d+|\$\d{1,3}(,\d{3})*|\$?\d+(\.\d)?[KMB]|\$?\d+[KMB] ?- ?\$?\d+[KMB])?$")


def column_name(header_cell: str) -> str:
    """DESIGN's header rule: case-insensitive, trimmed, spaces and dashes read as '_'."""
    return header_cell.strip().lower().replace(" ", "_").replace("-", "_")


def clean(value: str) -> str:
    return " ".join(value.split())


def domain_of(website: str) -> str:
    host = re.sub(r"^[a-z]+://", "", clean(website).lower())
    host = host.removeprefix("www.")
    return host.split("/")[0].split(":")[0]


@dataclass
class Tally:
    """What a file holds, counted from its bytes the way the normalizer will see them."""

    header: list[str]
    rows: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    contacts: Counter[str] = field(default_factory=Counter)
    companies: set[str] = field(default_factory=set)
    good_rows: list[dict[str, str]] = field(default_factory=list)


def tally(text: str) -> Tally:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    names = [column_name(h) for h in header]
    t = Tally(header)
    seen_rows: set[tuple[str, ...]] = set()
    keys: set[str] = set()
    for raw in reader:
        t.rows += 1
        if len(raw) != len(header):
            assert len(raw) == len(header) + 1, raw
            t.bad["too_many_cells"] += 1
            continue
        row = dict(zip(names, raw, strict=True))
        email = clean(row["email"]).lower()
        linkedin = clean(row["linkedin_url"]).lower()
        full_name = f"{clean(row['first_name'])} {clean(row['last_name'])}".strip().lower()
        if email and not EMAIL.match(email):
            t.bad["invalid_email"] += 1
            continue
        if not (email or linkedin or full_name):
            t.bad["no_identity"] += 1
            continue
        t.good_rows.append(row)
        t.companies.add(domain_of(row["company_website"]))
        as_tuple = tuple(raw)
        if as_tuple in seen_rows:
            t.duplicates["exact"] += 1
            continue
        seen_rows.add(as_tuple)
        kind, key = (("by_email", email) if email else ("by_linkedin", linkedin) if linkedin
                     else ("by_name", f"{full_name}|{domain_of(row['company_website'])}"))
        if f"{kind}:{key}" in keys:
            t.duplicates["changed"] += 1
        else:
            keys.add(f"{kind}:{key}")
            t.contacts[kind] += 1
    return t


def assert_manifest_matches(path: Path, text: str) -> Tally:
    t = tally(text)
    m = read_manifest(path)
    assert m.file == path.name
    assert m.rows == t.rows
    assert m.columns == t.header
    assert m.bad_rows == {k: t.bad[k] for k in ("invalid_email", "no_identity", "too_many_cells")}
    assert m.duplicate_rows == {"exact": t.duplicates["exact"], "changed": t.duplicates["changed"]}
    by = {k: t.contacts[k] for k in ("by_email", "by_linkedin", "by_name")}
    assert m.contacts == {"distinct": sum(by.values()), **by}
    assert m.distinct_contact_emails == t.contacts["by_email"]
    assert m.distinct_companies == len(t.companies)
    e = m.expected
    assert e["read"] == t.rows == e["loaded"] + e["merged"] + e["rejected"]
    assert e["rejected"] == sum(t.bad.values())
    assert e["merged"] == sum(t.duplicates.values())
    return t


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Tally]:
    [path] = write_sample_files(10_000, tmp_path_factory.mktemp("sample"), seed=7)
    text = path.read_bytes().decode("utf-8")
    return path, text, tally(text)


def test_one_file_named_by_seed_and_rows_with_its_manifest(
        sample: tuple[Path, str, Tally]) -> None:
    path, _, _ = sample
    assert path.name == "contacts-7-10000.csv"
    assert manifest_path(path).name == "contacts-7-10000.csv.manifest.json"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, manifest_path(path).name]
    assert json.loads(manifest_path(path).read_text())["format"] == "connectra-sample-manifest/1"


def test_header_is_the_design_columns_in_mixed_styles(sample: tuple[Path, str, Tally]) -> None:
    _, text, t = sample
    assert len(t.header) == len(DESIGN_COLUMNS)
    assert {column_name(h) for h in t.header} == DESIGN_COLUMNS
    assert len({column_name(h) for h in t.header} & set(t.header)) < len(t.header) / 2
    assert text.startswith(",".join(t.header) + "\n")


def test_manifest_counts_what_the_file_holds(sample: tuple[Path, str, Tally]) -> None:
    path, text, t = sample
    assert_manifest_matches(path, text)
    assert t.rows == 10_000
    for kind in ("invalid_email", "no_identity", "too_many_cells"):
        assert 5 <= t.bad[kind] <= 150, kind
    assert t.duplicates["exact"] > 50 and t.duplicates["changed"] > 50
    assert t.contacts["by_linkedin"] > 50 and t.contacts["by_name"] > 20
    assert 400 <= len(t.companies) <= 500  # about rows / 20


def test_utf8_lf_and_quoted_fields(sample: tuple[Path, str, Tally]) -> None:
    path, text, t = sample
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "\r" not in text
    assert any("\n" in v for row in t.good_rows for v in row.values())
    assert any('"' in v for row in t.good_rows for v in row.values())
    assert any("," in row["title"] for row in t.good_rows)
    assert any(ch in text for ch in "éëüøł")


def test_values_are_messy_the_way_real_exports_are(sample: tuple[Path, str, Tally]) -> None:
    _, _, t = sample
    rows = t.good_rows
    countries = Counter(r["country"] for r in rows) + Counter(r["company_country"] for r in rows)
    variants = {v for vs in COUNTRY_VARIANTS.values() for v in vs}
    assert {"USA", "U.S.", "UK", "Deutschland"} & set(countries)
    assert 0.005 < sum(countries[v] for v in variants) / (2 * len(rows)) < 0.1
    employees = [r["company_employees_count"] for r in rows]
    assert all(EMPLOYEES.match(v) for v in employees), set(employees) - {
        v for v in employees if EMPLOYEES.match(v)}
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+", v) for v in employees)
    assert any(v.endswith("k") for v in employees) and any("-" in v for v in employees)
    revenues = [r["company_annual_revenue"] for r in rows]
    assert all(REVENUE.match(v) for v in revenues)
    assert any(v.startswith("$") and v.endswith("M") for v in revenues)
    assert any(v.endswith("B") for v in revenues) and any(v.isdigit() for v in revenues)
    assert any(r["email"] != r["email"].lower() for r in rows)
    assert any(r["first_name"] and r["first_name"] == r["first_name"].lower() for r in rows)
    assert any("  " in r["city"] or r["first_name"].startswith(" ") for r in rows)
    websites = {r["company_website"] for r in rows}
    assert any(w.startswith("https://www.") for w in websites)
    assert any("/" not in w for w in websites) and any(":443" in w for w in websites)
    assert sum(not r["seniority"] for r in rows) > len(rows) / 5
    assert {";", ","} <= {c for r in rows for c in r["company_industries"] if c in ";,"}


def test_created_at_is_iso_8601_or_empty(sample: tuple[Path, str, Tally]) -> None:
    _, _, t = sample
    values = [r["created_at"] for r in t.good_rows]
    for value in values:
        if value:
            dt.datetime.fromisoformat(value)
    assert any(v.endswith("Z") for v in values) and any(len(v) == 10 for v in values)


def test_names_fold_into_emails(sample: tuple[Path, str, Tally]) -> None:
    _, _, t = sample
    for row in t.good_rows:
        email = row["email"].strip()
        assert email.isascii(), email
    non_ascii = [r for r in t.good_rows if not (r["first_name"] + r["last_name"]).isascii()]
    assert 0.02 < len(non_ascii) / len(t.good_rows) < 0.2


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    [a] = write_sample_files(2_000, tmp_path / "a", seed=3)
    [b] = write_sample_files(2_000, tmp_path / "b", seed=3)
    [c] = write_sample_files(2_000, tmp_path / "c", seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert manifest_path(a).read_bytes() == manifest_path(b).read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_generate_rows_are_the_rows_written(tmp_path: Path) -> None:
    [path] = write_sample_files(1_500, tmp_path, seed=11)
    with path.open(encoding="utf-8", newline="") as handle:
        written = list(csv.reader(handle))[1:]
    assert written == list(generate_rows(1_500, seed=11))


def test_split_files_each_hold_their_own_manifest(tmp_path: Path) -> None:
    paths = write_sample_files(10_000, tmp_path, seed=5, max_rows_per_file=4_000)
    assert [p.name for p in paths] == [name for name, _ in sample_file_names(10_000, 5, 4_000)]
    assert [p.name for p in paths][0] == "contacts-5-10000-part001.csv"
    sizes = []
    for part, path in enumerate(paths, start=1):
        t = assert_manifest_matches(path, path.read_text(encoding="utf-8"))
        assert read_manifest(path).part == part and read_manifest(path).parts == 3
        sizes.append(t.rows)
    assert sizes == [4_000, 4_000, 2_000]
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_crlf_bom_and_gzip_options(tmp_path: Path) -> None:
    [crlf] = write_sample_files(500, tmp_path / "crlf", line_ending="\r\n", bom=True)
    data = crlf.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") >= 500
    assert_manifest_matches(crlf, data.decode("utf-8-sig"))
    [gz1] = write_sample_files(500, tmp_path / "gz1", compress=True)
    [gz2] = write_sample_files(500, tmp_path / "gz2", compress=True)
    assert gz1.name.endswith(".csv.gz") and gz1.read_bytes() == gz2.read_bytes()
    plain = data.decode("utf-8-sig").replace("\r\n", "\n")
    unzipped = gzip.decompress(gz1.read_bytes()).decode("utf-8")
    # Embedded newlines stay LF inside quoted fields, so compare the parsed rows.
    assert list(csv.reader(io.StringIO(unzipped, newline=""))) == list(
        csv.reader(io.StringIO(plain, newline="")))


def test_zero_rows_writes_nothing_and_negative_is_refused(tmp_path: Path) -> None:
    assert write_sample_files(0, tmp_path) == []
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        write_sample_files(-1, tmp_path)


def test_progress_reports_rows_written(tmp_path: Path) -> None:
    seen: list[int] = []
    write_sample_files(25_000, tmp_path, progress=seen.append, write_manifest=False)
    assert seen == [10_000, 20_000, 25_000]
    assert not list(tmp_path.glob("*.json"))


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(min_value=1, max_value=400), seed=st.integers(0, 2**32))
def test_manifest_holds_for_any_size_and_seed(rows: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        [path] = write_sample_files(rows, Path(tmp), seed=seed)
        t = assert_manifest_matches(path, path.read_text(encoding="utf-8"))
        assert t.rows == rows

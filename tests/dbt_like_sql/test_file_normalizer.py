"""Whole files through the reader and the normalizer: rows, merges, rejects and counts."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pytest

from dbt_like_sql.ids import record_id
from dbt_like_sql.normalize import FileNormalizer, LoadCounts, NormalizedBatch
from dbt_like_sql.schemas import (
    COMPANIES_SCHEMA,
    CONTACT_DOCUMENTS_SCHEMA,
    CONTACTS_SCHEMA,
    INPUT_COLUMNS,
    REJECTS_SCHEMA,
)
from stores.csvfile import CANONICAL_COLUMNS, open_csv

LOADED_AT = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@dataclass
class Loaded:
    """A file's batches merged as the stores merge them: COALESCE(new, old) per column."""

    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    counts: LoadCounts = field(default_factory=LoadCounts)
    batches: list[NormalizedBatch] = field(default_factory=list)

    def add(self, batch: NormalizedBatch) -> None:
        self.batches.append(batch)
        for table, target in (
            (batch.companies, self.companies),
            (batch.contacts, self.contacts),
            (batch.contact_documents, self.documents),
        ):
            if table is None:  # a normalizer rendering no documents
                continue
            for row in table.to_pylist():
                old = target.get(row["id"], {})
                target[row["id"]] = {k: v if v is not None else old.get(k) for k, v in row.items()}
        self.rejects.extend((r["line"], r["reason"], r["raw"]) for r in batch.rejects.to_pylist())
        self.counts.add(batch)


def load(
    text: str | bytes,
    batch_rows: int = 1000,
    file_key: str = "landing/f.csv",
    documents: bool = True,
) -> Loaded:
    data = text.encode() if isinstance(text, str) else text
    file = open_csv(io.BytesIO(data), batch_rows=batch_rows)
    loaded = Loaded()
    with FileNormalizer(
        file_key,
        "run-1",
        LOADED_AT,
        companies_only=file.header.companies_only,
        documents=documents,
    ) as normalizer:
        for batch in file:
            result = normalizer.process(batch)
            assert (
                result.rows_read == result.rows_loaded + result.rows_merged + result.rows_rejected
            )
            loaded.add(result)
        assert normalizer.totals == loaded.counts
    return loaded


def by_email(loaded: Loaded) -> dict[str, dict[str, Any]]:
    return {c["email"]: c for c in loaded.contacts.values()}


HEADER = (
    "Email,First Name,Last Name,Title,Seniority,Departments,Phone,LinkedIn URL,City,State,"
    "Country,Company Name,Company Website,Company Industries,Company Employees Count,"
    "Company Annual Revenue,Company Founded Year,Company Country,Company Keywords,"
    "Company Technologies,created_at\n"
)


def test_one_contact_with_its_company_in_the_contract_shape() -> None:
    loaded = load(
        HEADER + ' Ann.Lee@Acme.COM ,Ann,  Lee ,"Senior Manager,  Sales",,"Sales; Human Resources",'
        "+1 555 0100,linkedin.com/in/Ann-Lee/,Austin,TX,USA,Acme  Inc,https://www.acme.com/about,"
        '"Software, Internet",51-200,$3.5M,2001,U.S.,"SaaS;B2B","Python, AWS, python",'
        "2024-03-01T10:00:00+02:00\n"
    )
    (batch,) = loaded.batches
    assert batch.companies.schema == COMPANIES_SCHEMA
    assert batch.contacts.schema == CONTACTS_SCHEMA
    assert batch.contact_documents.schema == CONTACT_DOCUMENTS_SCHEMA
    assert batch.rejects.schema == REJECTS_SCHEMA
    company_id = record_id("domain:acme.com")
    contact_id = record_id("email:ann.lee@acme.com")
    assert batch.companies.to_pylist() == [
        {
            "id": company_id, "name": "Acme Inc", "domain": "acme.com",
            "website": "https://www.acme.com/about", "industries": ["software", "internet"],
            "employees_count": 51, "employees_count_min": 51, "employees_count_max": 200,
            "annual_revenue": 3_500_000, "founded_year": 2001, "city": None, "state": None,
            "country": "united states", "linkedin_url": None, "keywords": ["saas", "b2b"],
            "technologies": ["python", "aws"], "created_at": LOADED_AT, "updated_at": LOADED_AT,
            "source_file": ["landing/f.csv"], "load_run": "run-1", "first_seen": LOADED_AT,
            "last_seen": LOADED_AT,
        }
    ]  # fmt: skip
    contact = {
        "id": contact_id, "first_name": "Ann", "last_name": "Lee", "full_name": "Ann Lee",
        "title": "Senior Manager, Sales", "seniority": "manager",
        "departments": ["sales", "human_resources"], "email": "ann.lee@acme.com",
        "phone": "+1 555 0100", "linkedin_url": "https://www.linkedin.com/in/ann-lee",
        "city": "Austin", "state": "TX", "country": "united states", "company_id": company_id,
        "created_at": dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC), "updated_at": LOADED_AT,
        "source_file": ["landing/f.csv"], "load_run": "run-1", "first_seen": LOADED_AT,
        "last_seen": LOADED_AT,
    }  # fmt: skip
    assert batch.contacts.to_pylist() == [contact]
    assert batch.contact_documents.to_pylist() == [
        {
            **contact, "company_name": "Acme Inc", "company_domain": "acme.com",
            "company_industries": ["software", "internet"], "company_employees_count": 51,
            "company_annual_revenue": 3_500_000, "company_founded_year": 2001,
            "company_city": None, "company_state": None, "company_country": "united states",
        }
    ]  # fmt: skip
    assert (batch.rows_read, batch.rows_loaded, batch.rows_merged, batch.rows_rejected) == (
        1, 1, 0, 0,
    )  # fmt: skip


SMALL_HEADER = (
    "email,first_name,last_name,title,seniority,company_name,company_domain,country,phone,"
    "created_at\n"
)


def test_duplicates_merge_last_non_empty_value_wins() -> None:
    loaded = load(
        SMALL_HEADER
        + "a@x.com,Ann,Lee,Engineer,,Acme,acme.com,US,111,\n"
        + "b@x.com,Bob,Ray,,,Beta,beta.io,,,\n"
        + "a@x.com,Ann,Lee,Engineer,,Acme,acme.com,US,111,\n"  # exact duplicate
        + "A@X.COM,,Lee-Smith,VP Sales,,,,n/a,222,2024-01-01\n"  # partial: empty cells keep
    )
    assert loaded.counts == LoadCounts(rows_read=4, rows_loaded=2, rows_merged=2, rows_rejected=0)
    ann = by_email(loaded)["a@x.com"]
    assert (ann["first_name"], ann["last_name"], ann["full_name"]) == (
        "Ann",
        "Lee-Smith",
        "Ann Lee-Smith",
    )
    assert (ann["title"], ann["seniority"], ann["phone"]) == ("VP Sales", "vp", "222")
    assert ann["country"] == "united states"  # "n/a" is empty, not a new value
    assert ann["company_id"] == record_id("domain:acme.com")
    assert ann["created_at"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert by_email(loaded)["b@x.com"]["created_at"] == LOADED_AT  # no date: the load time


def test_rows_without_identity_and_bad_values_are_rejected_with_line_and_raw() -> None:
    text = (
        SMALL_HEADER
        + "ok@x.com,Ok,Row,,,,,,,\n"  # 2
        + ",,,CTO,,Acme,acme.com,,,\n"  # 3: no email, no linkedin, no name
        + ",Ann,Lee,,,,,,,\n"  # 4: a name but no company
        + "not-an-email,Ann,Lee,,,,,,,\n"  # 5
        + "c@x.com,C,C,,,,,,,yesterday\n"  # 6
        + 'd@x.com,D,D,"Head of\nSales",,,,,,\n'  # 7-8: a quoted newline
        + "e@x.com,E,E,,,,,,,,,too,many\n"  # 9
        + ",Zed,Zulu,,,Acme,acme.com,,,\n"  # 10: name + company is an identity
    )
    loaded = load(text)
    assert loaded.rejects == [
        (3, "no_identity", ",,,CTO,,Acme,acme.com,,,"),
        (4, "no_identity", ",Ann,Lee,,,,,,,"),
        (5, "invalid_email", "not-an-email,Ann,Lee,,,,,,,"),
        (6, "invalid_date", "c@x.com,C,C,,,,,,,yesterday"),
        (9, "wrong_cell_count", "e@x.com,E,E,,,,,,,,,too,many"),
    ]
    assert loaded.counts == LoadCounts(rows_read=8, rows_loaded=3, rows_merged=0, rows_rejected=5)
    acme = record_id("domain:acme.com")
    zed = loaded.contacts[record_id(f"name:zed zulu|{acme}")]
    assert (zed["full_name"], zed["company_id"]) == ("Zed Zulu", acme)
    assert by_email(loaded)["d@x.com"]["title"] == "Head of Sales"


def test_invalid_numbers_reject_the_row() -> None:
    text = (
        "email,company_name,company_domain,company_employees_count,company_annual_revenue,"
        "company_founded_year\n"
        "a@x.com,Acme,acme.com,lots,,\n"
        "b@x.com,Beta,beta.io,200-51,,\n"
        "c@x.com,Gamma,gamma.io,,,12\n"
        "d@x.com,Delta,delta.io,10001+,2.1B,1999\n"
    )
    loaded = load(text)
    assert [(line, reason) for line, reason, _ in loaded.rejects] == [
        (2, "invalid_number"), (3, "invalid_number"), (4, "invalid_number"),
    ]  # fmt: skip
    (delta,) = loaded.companies.values()
    assert (delta["employees_count"], delta["employees_count_min"]) == (10001, 10001)
    assert (delta["employees_count_max"], delta["annual_revenue"]) == (None, 2_100_000_000)


def test_linkedin_and_name_identities() -> None:
    text = (
        "email,first_name,last_name,linkedin_url,company_name,company_country\n"
        ",Ann,Lee,https://www.linkedin.com/in/ann-lee/,,\n"
        ",Ann,Lee,HTTPS://LINKEDIN.COM/IN/ANN-LEE,,\n"  # the same profile
        ",Bob,Ray,,Tiny Shop,Deutschland\n"
        ",bob,RAY,,tiny shop,DE\n"  # the same name at the same company (name + country)
    )
    loaded = load(text)
    assert loaded.counts == LoadCounts(rows_read=4, rows_loaded=2, rows_merged=2, rows_rejected=0)
    shop = record_id("name:tiny shop|germany")
    assert set(loaded.companies) == {shop}
    assert set(loaded.contacts) == {
        record_id("linkedin:https://www.linkedin.com/in/ann-lee"),
        record_id(f"name:bob ray|{shop}"),
    }


def test_company_only_file_loads_companies() -> None:
    text = (
        "Name,Website,Industries,Employees,Annual Revenue,Founded,City,Country,created_at\n"
        "Acme,https://acme.com,Software,1.2k,$3.5M,1999,Austin,USA,2020-05-01\n"
        "Beta,,Retail,,,,Berlin,Deutschland,\n"
        "ACME Inc.,www.acme.com,,1500,,,,,\n"  # the same company (domain): merged
        ",,Retail,,,,,,\n"  # no domain, no name
    )
    loaded = load(text)
    assert loaded.counts == LoadCounts(rows_read=4, rows_loaded=2, rows_merged=1, rows_rejected=1)
    assert loaded.rejects == [(5, "no_identity", ",,Retail,,,,,,")]
    assert loaded.contacts == {} and loaded.documents == {}
    acme = loaded.companies[record_id("domain:acme.com")]
    assert (acme["name"], acme["employees_count"], acme["industries"]) == (
        "ACME Inc.",
        1500,
        ["software"],
    )
    assert (acme["annual_revenue"], acme["city"], acme["country"]) == (
        3_500_000,
        "Austin",
        "united states",
    )
    assert acme["created_at"] == dt.datetime(2020, 5, 1, tzinfo=dt.UTC)
    beta = loaded.companies[record_id("name:beta|germany")]
    assert (beta["domain"], beta["created_at"]) == (None, LOADED_AT)


def test_seniority_from_the_column_else_the_title() -> None:
    titles = {
        "CEO": "c_suite", "Co-Founder & CEO": "founder", "VP of Sales": "vp",
        "Senior Vice President, Sales": "vp", "Head of Marketing": "head",
        "Director, Engineering": "director", "Senior Manager, HR": "manager",
        "Sr. Data Engineer": "senior", "Lead Backend Engineer": "lead",
            "Senior Tech Lead": "lead", "Staff Engineer": "senior",
        "Junior Analyst": "entry", "Marketing Intern": "intern", "Owner": "owner",
        "Managing Partner": "partner", "Product Owner": "manager", "Software Engineer": None,
    }  # fmt: skip
    rows = "".join(f'e{i}@x.com,"{title}",\n' for i, title in enumerate(titles))
    given = (
        "v1@x.com,Engineer,C-Suite\nv2@x.com,CTO,Senior\n"
        "v3@x.com,CTO,Galactic Overlord\nv4@x.com,,Galactic Overlord\nv5@x.com,,Senior Director\n"
    )
    loaded = load("email,title,seniority\n" + rows + given)
    found = {c["title"]: c["seniority"] for c in loaded.contacts.values() if c["email"][0] == "e"}
    assert found == titles
    contacts = by_email(loaded)
    assert contacts["v1@x.com"]["seniority"] == "c_suite"
    assert contacts["v2@x.com"]["seniority"] == "senior"  # the column wins over the title
    # An unknown level: the title's if it tells one, else the text as written, lowercased.
    assert contacts["v3@x.com"]["seniority"] == "c_suite"
    assert contacts["v4@x.com"]["seniority"] == "galactic overlord"
    assert contacts["v5@x.com"]["seniority"] == "director"  # its words rank it


def test_documents_carry_company_fields_known_from_earlier_batches() -> None:
    text = (
        "email,company_name,company_domain,company_industries\n"
        "a@x.com,Acme,acme.com,Software\n"
        "b@x.com,,acme.com,\n"
    )
    loaded = load(text, batch_rows=1)
    assert loaded.documents[record_id("email:b@x.com")]["company_industries"] == ["software"]
    assert loaded.documents[record_id("email:b@x.com")]["company_name"] == "Acme"


def _mixed_file() -> str:
    lines = [SMALL_HEADER.rstrip("\n")]
    for i in range(40):
        company = f"c{i % 7}"
        lines.append(f"u{i % 23}@x.com,F{i},L{i},T{i % 5},,{company.upper()},{company}.com,US,{i},")
        if i % 9 == 0:
            lines.append(f'u{i % 23}@x.com,,,"Head of\nThings",,,,,,')
        if i % 11 == 0:
            lines.append(",,,,,,,,,")
        if i % 13 == 0:
            lines.append("x,y")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("batch_rows", [1, 2, 5, 17])
def test_any_batch_size_gives_the_same_result_and_counts(batch_rows: int) -> None:
    whole = load(_mixed_file(), batch_rows=10_000)
    split = load(_mixed_file(), batch_rows=batch_rows)
    assert split.counts == whole.counts
    assert whole.counts.rows_loaded == 23 and whole.counts.rows_rejected == 8
    assert sorted(split.rejects) == sorted(whole.rejects)

    def without_times(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        # created_at is the load time where a row has none; a split can turn which row of a
        # contact comes first, so it is compared separately (see the report).
        return {k: {c: v for c, v in r.items() if c != "created_at"} for k, r in rows.items()}

    assert without_times(split.contacts) == without_times(whole.contacts)
    assert split.companies == whole.companies


@pytest.mark.parametrize("batch_rows", [3, 10_000])
def test_a_normalizer_without_documents_gives_the_same_rows_and_counts(batch_rows: int) -> None:
    """What a load runs (it indexes the merged records, not the batch's documents)."""
    full = load(_mixed_file(), batch_rows=batch_rows)
    lean = load(_mixed_file(), batch_rows=batch_rows, documents=False)
    assert lean.documents == {} and full.documents
    assert all(b.contact_documents is None for b in lean.batches)
    assert lean.contacts == full.contacts and lean.companies == full.companies
    assert lean.counts == full.counts
    assert sorted(lean.rejects) == sorted(full.rejects)
    for a, b in zip(lean.batches, full.batches, strict=True):
        assert a.contacts.schema == b.contacts.schema == CONTACTS_SCHEMA


def test_the_same_file_twice_gives_the_same_rows() -> None:
    first, second = load(_mixed_file()), load(_mixed_file())
    assert first.contacts == second.contacts and first.companies == second.companies


def test_gzip_windows_1252_crlf_file_end_to_end() -> None:
    text = "\r\n".join(
        ["email,first_name,last_name,company_name,company_website",
         "jose@x.es,José,Müller,Café €uro,cafe-euro.es", ""]
    )  # fmt: skip
    loaded = load(gzip.compress(text.encode("cp1252")))
    (contact,) = loaded.contacts.values()
    (company,) = loaded.companies.values()
    assert (contact["first_name"], contact["last_name"]) == ("José", "Müller")
    assert (company["name"], company["domain"]) == ("Café €uro", "cafe-euro.es")


def test_reader_rejects_are_counted_and_passed_through() -> None:
    file = open_csv(io.BytesIO(b"email,title\na@x.com,A\nb@x.com,B,C\n"))
    with FileNormalizer("f.csv", "r", LOADED_AT) as normalizer:
        (batch,) = list(file)
        result = normalizer.process(batch)
    assert result.rejects.to_pylist() == [
        {
            "source_file": "f.csv",
            "load_run": "r",
            "line": 3,
            "reason": "wrong_cell_count",
            "raw": "b@x.com,B,C",
        }
    ]
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 1, 1)


def test_a_plain_table_with_only_some_columns_is_accepted() -> None:
    table = pa.table({"email": ["a@x.com", "b@x.com"], "first_name": ["A", None]})
    with FileNormalizer("f.csv", "r", LOADED_AT.replace(tzinfo=None)) as normalizer:
        result = normalizer.process(table)
    assert sorted(result.contacts.column("email").to_pylist()) == ["a@x.com", "b@x.com"]
    assert result.contacts.column("updated_at").to_pylist() == [LOADED_AT, LOADED_AT]


def test_reader_and_normalizer_agree_on_the_input_columns() -> None:
    assert tuple(CANONICAL_COLUMNS) == INPUT_COLUMNS


def test_sample_data_generator_counts_are_reproduced() -> None:
    from orchestration import sample_rows as sample_data

    rows = list(sample_data.generate_rows(6000, seed=11))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(sample_data.HEADER)
    writer.writerows(rows)
    counts = sample_data.SampleCounts()
    for _ in sample_data.SampleGenerator(11).chunks(6000, counts):
        pass
    loaded = load(out.getvalue(), batch_rows=2500)
    assert loaded.counts == LoadCounts(
        rows_read=counts.rows,
        rows_loaded=counts.contacts,
        rows_merged=counts.merged,
        rows_rejected=counts.rejected,
    )
    reasons = [r for _, r, _ in loaded.rejects]
    assert reasons.count("invalid_email") == counts.invalid_email
    assert reasons.count("no_identity") == counts.no_identity
    assert reasons.count("wrong_cell_count") == counts.too_many_cells

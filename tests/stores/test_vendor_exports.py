"""Exports of CRMs and data vendors, each in its own header layout (tests/fixtures/
vendor_exports), loaded through the real reader and normalizer: the right values land in the
right columns, the phone is chosen in the documented order, spreadsheet markers are gone.

The layouts follow the vendors' export headers as publicly documented or seen in published
exports (Apollo people export, HubSpot contacts and companies exports, a Salesforce contacts
report and a Data Loader lead export, ZoomInfo contact export, a PhantomBuster Sales
Navigator search export, Clay people and companies tables); values are made up.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dbt_like_sql.normalize import FileNormalizer, NormalizedBatch
from stores.csvfile import HeaderReport, open_csv
from stores.duckdb import DuckDBStore
from vql import parse_query

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "vendor_exports"
LOADED_AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> Any:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


@dataclass
class Loaded:
    header: HeaderReport
    batches: list[NormalizedBatch]

    def contacts(self) -> dict[str, dict[str, Any]]:
        """Contact documents keyed by last name."""
        rows = [r for b in self.batches for r in b.contact_documents.to_pylist()]
        return {r["last_name"]: r for r in rows}

    def companies(self) -> dict[str, dict[str, Any]]:
        rows = [r for b in self.batches for r in b.companies.to_pylist()]
        return {r["name"]: r for r in rows}

    def rejects(self) -> list[dict[str, Any]]:
        return [r for b in self.batches for r in b.rejects.to_pylist()]


def load(name: str) -> Loaded:
    file = open_csv(io.BytesIO((FIXTURES / name).read_bytes()))
    with FileNormalizer(
        name, "run-1", LOADED_AT, companies_only=file.header.companies_only
    ) as normalizer:
        return Loaded(file.header, [normalizer.process(batch) for batch in file])


# Per file: last name -> (first name, email, phone chosen, company, employees, country,
# created_at). A file without a creation date column gets the load's time.
CONTACT_FILES: dict[str, dict[str, tuple[Any, ...]]] = {
    "apollo_people.csv": {
        # Work Direct Phone wins over First/Mobile/Corporate Phone.
        "Lovelace": ("Ada", "ada@analytical.io", "+1 415-555-0101",
                     "Analytical Engines, Inc.", 1200, "united states", LOADED_AT),
        # No direct phone: the mobile one.
        "Hopper": ("Grace", "grace@cobol.dev", "+1 202-555-0142", "Cobol Systems", 45,
                   "united states", LOADED_AT),
        # Only a corporate phone, written ="+44 ..." by a spreadsheet.
        "Turing": ("Alan", "alan@enigma-labs.co.uk", "+44 161 496 0000", "Enigma Labs", 12,
                   "united kingdom", LOADED_AT),
    },
    "hubspot_contacts.csv": {
        # Mobile Phone Number ranks before Phone Number; 1000+ employees is 1000.
        "Johnson": ("Katherine", "katherine@orbital.space", "+1 757-555-0111",
                    "Orbital Mechanics", 1000, "united states", at(2024, 3, 5, 14, 22)),
        "Vaughan": ("Dorothy", "dorothy@fortran.works", "+1 757-555-0120", "Fortran Works",
                    100, "united states", at(2023, 11, 20, 8, 5)),
        "Jackson": ("Mary", "mary@windtunnel.org", "+1 757-555-0133", "Wind Tunnel", 25,
                    "united states", at(2025, 1, 31)),
    },
    "salesforce_contacts_report.csv": {
        "Lamarr": ("Hedy", "hedy@spread.tech", "+1 213-555-0151", "Spread Spectrum Inc", None,
                   "united states", LOADED_AT),
        "Meitner": ("Lise", "lise@fission.de", "+49 30 5550 1000", "Fission GmbH", None,
                    "germany", LOADED_AT),
        "Shannon": ("Claude", "claude@bits.io", "(617) 555-0177", "Information Bits", None,
                    "united states", LOADED_AT),
    },
    "salesforce_leads_dataloader.csv": {
        "Liskov": ("Barbara", "barbara@substitution.dev", "+1 617-555-0190",
                   "Substitution Labs", 250, "united states", at(2024, 2, 14, 9, 30)),
        "Allen": ("Frances", "frances@compiler.co", "+1 914-555-0191", "Compiler Co", 4000,
                  "united states", at(2023, 6, 1, 16, 45, 12)),
    },
    "zoominfo_contacts.csv": {
        "Hamilton": ("Margaret", "margaret@apollo-guidance.com", "+1 617-555-0160",
                     "Apollo Guidance", 2500, "united states", LOADED_AT),
        # No Employees: the Employee Range "50 - 100" fills in.
        "Lamport": ("Leslie", "leslie@paxos.systems", "+1 650-555-0162", "Paxos Systems", 50,
                    "united states", LOADED_AT),
    },
    "sales_navigator_phantombuster.csv": {
        "Perlman": ("Radia", None, None, "Spanning Tree Networks", None, None, LOADED_AT),
        "Cerf": ("Vint", None, None, "Packet Protocols", None, None, LOADED_AT),
    },
    "clay_people.csv": {
        "Berners-Lee": ("Tim", "tim@w3.example.org", "+1 617-555-0170", "Web Consortium", None,
                        "united states", LOADED_AT),
        "Wilson": ("Sophie", "sophie@armcores.example.co.uk", None, "Arm Cores", None,
                   "united kingdom", LOADED_AT),
    },
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CONTACT_FILES))
def test_contact_exports_load_the_right_values_per_column(name: str) -> None:
    loaded = load(name)
    assert loaded.header.layout == "contacts"
    assert loaded.rejects() == []
    got = {
        last: (r["first_name"], r["email"], r["phone"], r["company_name"],
               r["company_employees_count"], r["country"], r["created_at"])
        for last, r in loaded.contacts().items()
    }  # fmt: skip
    assert got == CONTACT_FILES[name]


def test_apollo_columns_beyond_the_basics() -> None:
    loaded = load("apollo_people.csv")
    ada = loaded.contacts()["Lovelace"]
    assert (ada["title"], ada["seniority"], ada["city"], ada["state"]) == (
        "VP of Engineering", "vp", "San Francisco", "California"
    )  # fmt: skip
    assert ada["linkedin_url"] == "https://www.linkedin.com/in/adalovelace"
    assert (ada["company_domain"], ada["company_city"], ada["company_annual_revenue"]) == (
        "analytical.io", "San Francisco", 12_000_000
    )  # fmt: skip
    company = loaded.companies()["Analytical Engines, Inc."]
    assert company["linkedin_url"] == "https://www.linkedin.com/company/analytical-engines"
    assert company["technologies"] == ["python", "aws"]
    # The company's own switchboard is no contact phone; Apollo's cleaned-up company name is
    # not a second company name.
    assert {"Company Phone", "Company Name for Emails"} <= set(loaded.header.ignored)
    assert [h for h, c in loaded.header.mapped.items() if c == "phone"] == [
        "First Phone", "Work Direct Phone", "Home Phone", "Mobile Phone", "Corporate Phone",
        "Other Phone",
    ]  # fmt: skip


def test_zoominfo_revenue_in_thousands_and_company_phone_are_not_mapped() -> None:
    loaded = load("zoominfo_contacts.csv")
    ignored = set(loaded.header.ignored)
    assert {"Revenue (in 000s USD)", "Revenue Range (in USD)", "Company HQ Phone"} <= ignored
    margaret = loaded.contacts()["Hamilton"]
    assert margaret["company_annual_revenue"] is None
    assert (margaret["company_founded_year"], margaret["state"]) == (1961, "Massachusetts")
    assert margaret["linkedin_url"] == "https://www.linkedin.com/in/margarethamilton"


def test_sales_navigator_urls_that_are_not_profiles_stay_out() -> None:
    loaded = load("sales_navigator_phantombuster.csv")
    assert {"profileUrl", "companyUrl", "defaultProfileUrl"} <= set(loaded.header.ignored)
    cerf = loaded.contacts()["Cerf"]
    assert cerf["linkedin_url"] == "https://www.linkedin.com/in/vintcerf"
    assert cerf["company_domain"] is None  # a sales/company URL is not a website
    assert cerf["company_industries"] == ["internet"]
    assert len(loaded.companies()) == 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("hubspot_companies.csv", {
            "Orbital Mechanics": ("orbital.space", 1200, "united states", 1958,
                                  at(2024, 3, 5, 14, 20)),
            "Fortran Works": ("fortran.works", 300, "united states", 1957,
                              at(2023, 11, 20, 8, 0)),
        }),
        ("clay_companies.csv", {
            "Web Consortium": ("w3.example.org", 51, "united states", None, LOADED_AT),
            "Arm Cores": ("armcores.example.co.uk", 1001, "united kingdom", None, LOADED_AT),
        }),
    ],
)  # fmt: skip
def test_company_exports_load_as_companies(name: str, expected: dict[str, tuple[Any, ...]]) -> None:
    loaded = load(name)
    assert loaded.header.layout == "companies"  # a company phone or LinkedIn URL is no person
    assert loaded.rejects() == []
    got = {
        n: (r["domain"], r["employees_count"], r["country"], r["founded_year"], r["created_at"])
        for n, r in loaded.companies().items()
    }
    assert got == expected


def test_a_vendor_export_through_the_duckdb_record_store(duckdb_store: DuckDBStore) -> None:
    loaded = load("apollo_people.csv")
    for batch in loaded.batches:
        duckdb_store.upsert_companies(batch.companies)
        duckdb_store.upsert_contacts(batch.contacts)
    page = duckdb_store.search(
        parse_query(
            "contacts", {"where": {"keyword_match": {"must": {"country": "united kingdom"}}}}
        )
    )
    [turing] = duckdb_store.fetch("contacts", page.ids)
    assert (turing["first_name"], turing["email"], turing["phone"]) == (
        "Alan", "alan@enigma-labs.co.uk", "+44 161 496 0000"
    )  # fmt: skip
    [company] = duckdb_store.companies_of_contacts(page.ids).values()
    assert (company["name"], company["employees_count"], company["country"]) == (
        "Enigma Labs", 12, "united kingdom"
    )  # fmt: skip
    everyone = duckdb_store.search(parse_query("contacts", {"limit": 10}))
    phones = {r["last_name"]: r["phone"] for r in duckdb_store.fetch("contacts", everyone.ids)}
    assert phones == {
        "Lovelace": "+1 415-555-0101", "Hopper": "+1 202-555-0142", "Turing": "+44 161 496 0000"
    }  # fmt: skip

"""A few hundred generated contacts and their companies, in the stores' Arrow shapes.

Deterministic (seeded), with the variety the API tests need: the DESIGN.md section 6 example
matches some of them and misses others for every reason (title, seniority, country,
company size), some contacts have no company, lists and nulls occur.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from dbt_like_sql.schemas import (
    COMPANIES_SCHEMA,
    COMPANY_DOCUMENT_FIELDS,
    CONTACT_DOCUMENTS_SCHEMA,
    CONTACTS_SCHEMA,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
N_COMPANIES = 40
N_CONTACTS = 300
TITLES = [
    "Software Engineer",
    "Senior Software Engineer",
    "Sofware Engineer",  # a typo: fuzzy shuffle finds it
    "Engineering Manager",
    "Software Architect",
    "Sales Manager",
    "Data Scientist",
    None,
]
SENIORITIES = ["senior", "lead", "entry", "manager", "vp", None]
COUNTRIES = ["united states", "germany", "france", "canada"]
INDUSTRIES = ["software", "security", "finance", "retail", "health care"]
EMPLOYEES = [15, 120, 450, 999, 1000, 1001, 5000, None]
FIRST = ["Ann", "Bob", "Carla", "Dana", "Eve", "Frank", "Gus", "José", "Ines", "Joanna"]
LAST = ["Smith", "Jones", "Miller", "Nguyen", "Garcia", "Schmidt", "Dubois", "Kim"]


def make_id(key: str) -> str:
    digest = hashlib.md5(key.encode(), usedforsecurity=False).digest()
    return str(uuid.UUID(bytes=digest, version=3))


@dataclass(frozen=True)
class Dataset:
    companies: list[dict[str, Any]]
    contacts: list[dict[str, Any]]

    @property
    def company_by_id(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in self.companies}

    def contact_documents(self) -> list[dict[str, Any]]:
        by_id = self.company_by_id
        docs = []
        for contact in self.contacts:
            company = by_id.get(contact["company_id"] or "", {})
            docs.append(
                {**contact, **{doc: company.get(col) for doc, col in COMPANY_DOCUMENT_FIELDS}}
            )
        return docs

    def tables(self) -> tuple[pa.Table, pa.Table, pa.Table]:
        """(companies, contacts, contact documents) as the normalizer hands them over."""
        return (
            pa.Table.from_pylist(self.companies, schema=COMPANIES_SCHEMA),
            pa.Table.from_pylist(self.contacts, schema=CONTACTS_SCHEMA),
            pa.Table.from_pylist(self.contact_documents(), schema=CONTACT_DOCUMENTS_SCHEMA),
        )


def build_dataset(seed: int = 7) -> Dataset:
    rnd = random.Random(seed)
    companies = []
    for i in range(N_COMPANIES):
        employees = EMPLOYEES[i % len(EMPLOYEES)]
        companies.append(
            {
                "id": make_id(f"domain:c{i}.example.com"),
                "name": f"Company {i:02d}",
                "domain": f"c{i}.example.com",
                "website": f"https://c{i}.example.com",
                "industries": rnd.sample(INDUSTRIES, 1 + i % 2),
                "employees_count": employees,
                "employees_count_min": employees,
                "employees_count_max": employees,
                "annual_revenue": None if i % 5 == 0 else 1_000_000 * (i + 1),
                "founded_year": 1990 + i % 30,
                "city": ["Austin", "Berlin", "Paris", "Toronto"][i % 4],
                "state": None,
                "country": COUNTRIES[i % len(COUNTRIES)],
                "linkedin_url": None,
                "keywords": ["b2b", "saas"][: i % 3],
                "technologies": ["python", "postgres"][: (i + 1) % 3],
                "created_at": T0 + timedelta(days=i),
                "updated_at": T0 + timedelta(days=i),
                "source_file": ["uploads/companies.csv"],
                "load_run": "run-api-test",
                "first_seen": T0 + timedelta(days=i),
                "last_seen": T0 + timedelta(days=i),
            }
        )
    contacts = []
    for i in range(N_CONTACTS):
        first, last = FIRST[i % len(FIRST)], LAST[(i // 3) % len(LAST)]
        company = rnd.choice(companies) if i % 9 else None
        contacts.append(
            {
                "id": make_id(f"email:person{i}@example.com"),
                "first_name": first,
                "last_name": last,
                "full_name": f"{first} {last}",
                "title": rnd.choice(TITLES),
                "seniority": rnd.choice([*SENIORITIES, "senior"]),
                "departments": rnd.sample(["engineering", "sales", "marketing"], 1 + i % 2),
                "email": f"person{i}@example.com",
                "phone": None if i % 4 else f"+1-555-{i:04d}",
                "linkedin_url": None,
                "city": ["Austin", "Berlin", "Paris", "Toronto", "Boston"][i % 5],
                "state": None,
                "country": rnd.choice([*COUNTRIES, "united states"]),
                "company_id": company["id"] if company else None,
                "created_at": T0 + timedelta(hours=5 * i),
                "updated_at": T0 + timedelta(hours=5 * i),
                "source_file": ["uploads/contacts.csv"],
                "load_run": "run-api-test",
                "first_seen": T0 + timedelta(hours=5 * i),
                "last_seen": T0 + timedelta(hours=5 * i),
            }
        )
    return Dataset(companies, contacts)


DATASET = build_dataset()

# DESIGN.md section 6, as written there.
DESIGN_EXAMPLE: dict[str, Any] = {
    "where": {
        "text_matches": {
            "must": [{"filter_key": "title", "text_value": "Software Engineer",
                      "search_type": "shuffle", "fuzzy": True}],
            "must_not": [],
            "should": [],
        },
        "keyword_match": {"must": {"seniority": ["senior", "lead"], "country": "united states"},
                          "must_not": {}},
        "range_query": {"must": {"company_employees_count": {"gte": 100, "lte": 1000}},
                        "must_not": {}},
    },
    "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
    "page": 1,
    "limit": 25,
    "cursor": None,
    "select_columns": None,
    "company_config": {"populate": True, "select_columns": ["name", "website", "industries"]},
}

SOFTWARE_ENGINEER_TITLES = {"Software Engineer", "Senior Software Engineer", "Sofware Engineer"}


def design_example_ids(data: Dataset = DATASET) -> list[str]:
    """The oracle of the example: matching contacts, newest first."""
    by_id = data.company_by_id
    hits = []
    for doc in data.contacts:
        company = by_id.get(doc["company_id"] or "", {})
        employees = company.get("employees_count")
        if (
            doc["title"] in SOFTWARE_ENGINEER_TITLES
            and doc["seniority"] in {"senior", "lead"}
            and doc["country"] == "united states"
            and employees is not None
            and 100 <= employees <= 1000
        ):
            hits.append(doc)
    hits.sort(key=lambda d: (d["created_at"], d["id"]), reverse=True)
    return [d["id"] for d in hits]

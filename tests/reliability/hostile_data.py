"""The API tests' dataset plus records whose values are made of SQL, regex, LIKE and Lucene
metacharacters, so that injection tests can tell "matched literally" from "interpreted".
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.api.dataset import DATASET, Dataset, make_id

# Every one of these must be found by a substring search for itself, and by nothing else
# of the hostile values unless it literally contains it.
HOSTILE_TITLES = (
    "C++ Engineer (.*) [lead]",
    "100% Remote_Engineer",
    "Back\\slash Engineer",
    "Star * Question ? Engineer",
    "Pipe | Amp & Engineer",
)
HOSTILE_FIRST_NAME = "Robert'); DROP TABLE contacts;--"
# Values of a list keyword field (company_industries / industries has a value list).
HOSTILE_INDUSTRIES = ("r&d (.*)", "100%_growth", "a|b", "[x]", "<tag>~#@")


def hostile_dataset(base: Dataset = DATASET) -> Dataset:
    template_company = base.companies[1]
    company = {
        **template_company,
        "id": make_id("domain:hostile.example.com"),
        "name": "Hostile ' OR '1'='1",
        "domain": "hostile.example.com",
        "industries": list(HOSTILE_INDUSTRIES),
    }
    template = base.contacts[1]
    contacts: list[dict[str, Any]] = []
    for n, title in enumerate(HOSTILE_TITLES):
        email = f"hostile{n}@example.com"
        contacts.append({
            **template,
            "id": make_id(f"email:{email}"),
            "email": email,
            "title": title,
            "company_id": company["id"],
            "first_name": HOSTILE_FIRST_NAME if n == 0 else template["first_name"],
        })
    return replace(base, companies=[*base.companies, company],
                   contacts=[*base.contacts, *contacts])


HOSTILE = hostile_dataset()

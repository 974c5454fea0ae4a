"""The header of a landed CSV file: which column is which.

Names match case-insensitively after trimming, with spaces, dashes and dots read as
underscores, through an alias table (e.g. "Company Website" and "company-domain"); unknown
columns are ignored and reported. A header without any person column is a companies file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONTACT_COLUMNS = (
    "first_name", "last_name", "full_name", "title", "seniority", "departments", "email",
    "phone", "linkedin_url", "city", "state", "country", "created_at",
)  # fmt: skip
COMPANY_COLUMNS = (
    "company_name", "company_website", "company_domain", "company_industries",
    "company_employees_count", "company_annual_revenue", "company_founded_year",
    "company_city", "company_state", "company_country", "company_linkedin_url",
    "company_keywords", "company_technologies",
)  # fmt: skip
CANONICAL_COLUMNS = CONTACT_COLUMNS + COMPANY_COLUMNS

# Columns that only a person has: their presence makes a file a contacts file.
_PERSON_COLUMNS = frozenset(
    {"first_name", "last_name", "full_name", "title", "seniority", "departments", "email",
     "phone", "linkedin_url"}
)  # fmt: skip

# Header spellings seen in exports (after lowercasing, spaces/dashes/dots as underscores).
_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "first", "given_name", "fname"),
    "last_name": ("lastname", "last", "surname", "family_name", "lname"),
    "full_name": ("fullname", "name", "contact_name", "person_name"),
    "title": ("job_title", "jobtitle", "position", "role", "designation"),
    "seniority": ("seniority_level", "level"),
    "departments": ("department", "dept", "function", "functions"),
    "email": ("email_address", "e_mail", "e_mail_address", "mail", "work_email",
              "business_email", "emailaddress"),
    "phone": ("phone_number", "mobile", "mobile_phone", "telephone", "tel", "work_phone",
              "direct_phone"),
    "linkedin_url": ("linkedin", "linkedin_profile", "linkedin_profile_url",
                     "person_linkedin_url"),
    "state": ("province", "state_province", "state_region"),
    "country": ("country_name",),
    "created_at": ("created", "date_created", "created_date", "creation_date"),
    "company_name": ("company", "organization", "organization_name", "organisation", "org",
                     "account_name", "employer"),
    "company_website": ("website", "company_url", "company_website_url", "web"),
    "company_domain": ("domain", "company_domain_name", "website_domain"),
    "company_industries": ("company_industry", "industry", "industries"),
    "company_employees_count": ("company_employees", "company_employee_count", "employees",
                                "employee_count", "employees_count", "num_employees",
                                "number_of_employees", "company_size", "headcount"),
    "company_annual_revenue": ("company_revenue", "annual_revenue", "revenue"),
    "company_founded_year": ("founded_year", "year_founded", "founded", "company_founded"),
    "company_linkedin_url": ("company_linkedin", "company_linkedin_profile"),
    "company_keywords": ("keywords",),
    "company_technologies": ("company_technology", "technologies", "technology",
                             "tech_stack"),
}  # fmt: skip

# In a companies-only file the bare attribute names belong to the company.
_COMPANY_LAYOUT_ALIASES = {
    "name": "company_name", "city": "company_city", "state": "company_state",
    "province": "company_state", "state_province": "company_state",
    "country": "company_country",
    "country_name": "company_country", "linkedin_url": "company_linkedin_url",
    "linkedin": "company_linkedin_url",
}  # fmt: skip

_CONTACT_LAYOUT_ALIASES = {
    key: canonical
    for canonical in CANONICAL_COLUMNS
    for key in (canonical, *_ALIASES.get(canonical, ()))
}
_SEPARATORS = re.compile(r"[\s\-./#()]+")


def header_key(name: str) -> str:
    """'E-Mail Address' -> 'e_mail_address': how header names are compared."""
    return _SEPARATORS.sub("_", name.strip().strip("\ufeff").lower()).strip("_")


def recognized_count(names: list[str]) -> int:
    return sum(1 for n in names if header_key(n) in _CONTACT_LAYOUT_ALIASES)


@dataclass(frozen=True)
class HeaderMapping:
    mapped: dict[int, str]  # header position -> canonical column
    ignored: tuple[int, ...]
    layout: str


def map_header(names: list[str]) -> HeaderMapping:
    """Canonical column per header position; a repeated column keeps its first position."""
    keys = [header_key(n) for n in names]
    is_contacts = any(
        _CONTACT_LAYOUT_ALIASES.get(k) in _PERSON_COLUMNS for k in keys if k != "name"
    )
    aliases = dict(_CONTACT_LAYOUT_ALIASES)
    if not is_contacts:
        aliases.update(_COMPANY_LAYOUT_ALIASES)
    mapped: dict[int, str] = {}
    ignored: list[int] = []
    for position, key in enumerate(keys):
        canonical = aliases.get(key)
        if canonical is None or canonical in mapped.values():
            ignored.append(position)
        else:
            mapped[position] = canonical
    return HeaderMapping(mapped, tuple(ignored), "contacts" if is_contacts else "companies")

"""The header matcher and its alias seed: keys, vendor headers, the phone order, layouts."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest

from stores.csvfile import open_csv
from stores.csvheader import (
    ALIASES_SEED,
    CANONICAL_COLUMNS,
    HeaderAliasError,
    build_aliases,
    header_key,
    map_header,
)

README = Path(__file__).resolve().parent.parent.parent / "README.md"
VENDORS = {
    "generic": "", "apollo": "Apollo", "hubspot": "HubSpot", "salesforce": "Salesforce",
    "sales_navigator": "LinkedIn Sales Navigator", "zoominfo": "ZoomInfo", "clay": "Clay",
}  # fmt: skip

# The documented phone order: direct dial, mobile, a phone of unknown kind, corporate
# (switchboard), other, home.
PHONE_ORDER = [
    "Work Direct Phone", "Mobile Phone", "First Phone", "Corporate Phone", "Other Phone",
    "Home Phone",
]  # fmt: skip


def seed_rows() -> list[dict[str, str]]:
    with ALIASES_SEED.open(encoding="utf-8", newline="") as seed:
        return list(csv.DictReader(seed))


@pytest.mark.parametrize(
    ("name", "key"),
    [("E-Mail Address", "emailaddress"), ("email_address", "emailaddress"),
     ("emailAddress", "emailaddress"), (" \ufeffCountry/Region ", "countryregion"),
     ("# Employees", "employees"), ("Account.Name", "accountname")],
)  # fmt: skip
def test_header_key_ignores_case_spaces_and_punctuation(name: str, key: str) -> None:
    assert header_key(name) == key


def test_every_seed_row_maps_its_vendor_header_to_its_column() -> None:
    rows = seed_rows()
    assert {r["vendor"] for r in rows} == set(VENDORS)
    for row in rows:
        # Beside an email the file is a contacts file, so no companies-layout remapping.
        mapping = map_header([row["header"], "email"])
        assert mapping.mapped[0] == row["column"], row
        assert row["column"] in CANONICAL_COLUMNS


def test_the_readme_lists_every_vendor_of_the_seed() -> None:
    text = README.read_text(encoding="utf-8")
    for vendor in {r["vendor"] for r in seed_rows()} - {"generic"}:
        assert VENDORS[vendor] in text, vendor


def test_contradicting_or_unknown_seed_rows_are_refused() -> None:
    with pytest.raises(HeaderAliasError, match="line 3: 'Phone #' -> email"):
        build_aliases([
            {"column": "phone", "header": "Phone", "vendor": "a", "rank": "3"},
            {"column": "email", "header": "Phone #", "vendor": "b", "rank": "0"},
        ])  # fmt: skip
    with pytest.raises(HeaderAliasError, match="rank 2"):
        build_aliases([
            {"column": "phone", "header": "Mobile", "vendor": "a", "rank": "2"},
            {"column": "phone", "header": "MOBILE", "vendor": "b", "rank": "1"},
        ])  # fmt: skip
    with pytest.raises(HeaderAliasError, match="'telephone' is not a canonical column"):
        build_aliases([{"column": "telephone", "header": "Tel", "vendor": "a", "rank": "0"}])
    with pytest.raises(HeaderAliasError, match="contradicts 'phone' -> phone"):  # canonical
        build_aliases([{"column": "email", "header": "phone", "vendor": "a", "rank": "0"}])
    # The same header for two vendors is fine when they agree.
    aliases = build_aliases([
        {"column": "phone", "header": "Mobile", "vendor": "a", "rank": "2"},
        {"column": "phone", "header": "mobile", "vendor": "b", "rank": "2"},
    ])  # fmt: skip
    assert aliases["mobile"].rank == 2


@pytest.mark.parametrize("seed", range(5))
def test_phone_columns_are_taken_in_the_documented_order_whatever_their_position(
    seed: int,
) -> None:
    headers = PHONE_ORDER[:]
    random.Random(seed).shuffle(headers)
    mapping = map_header(["Email", *headers])
    assert [headers[p - 1] for p in mapping.sources["phone"]] == PHONE_ORDER
    assert mapping.ignored == ()


def test_each_row_takes_its_first_non_empty_phone_in_that_order() -> None:
    header = ["Email", *reversed(PHONE_ORDER)]  # home first in the file, direct last
    lines = [",".join(header)]
    expected = []
    for filled in range(len(PHONE_ORDER)):
        cells = {name: f"+1 555 010{i}" for i, name in enumerate(PHONE_ORDER) if i >= filled}
        lines.append(",".join([f"u{filled}@x.co", *(cells.get(h, " ") for h in header[1:])]))
        expected.append(f"+1 555 010{filled}")
    lines.append(",".join(["none@x.co", *([""] * len(PHONE_ORDER))]))
    expected.append("")
    [batch] = list(open_csv(io.BytesIO("\n".join(lines).encode())))
    assert batch.rows.column("phone").to_pylist() == expected


def test_generic_and_crm_phone_headers_rank_the_same_way() -> None:
    mapping = map_header(["Phone", "Mobile", "Direct Dial", "Email"])  # Salesforce-like
    assert mapping.sources["phone"] == (2, 1, 0)


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (["Name", "Domain", "LinkedIn URL"], "companies"),  # Clay companies table
        (["Company name", "Phone Number", "City"], "companies"),  # HubSpot companies
        (["Name", "Website"], "companies"),
        (["LinkedIn URL"], "contacts"),  # a list of profiles
        (["Name", "Company", "LinkedIn URL"], "contacts"),  # a name beside a company name
        (["Name", "Email"], "contacts"),
    ],
)
def test_layout(header: list[str], layout: str) -> None:
    assert map_header(header).layout == layout


def test_companies_layout_gives_bare_names_to_the_company_and_drops_its_phone() -> None:
    mapping = map_header(["Name", "LinkedIn URL", "Country", "Phone"])
    assert mapping.mapped == {
        0: "company_name", 1: "company_linkedin_url", 2: "company_country",
    }  # fmt: skip
    assert mapping.ignored == (3,)

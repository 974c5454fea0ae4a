"""Golden tables for each normalization rule (the SQL macros and seeds), and the id formula."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbt_like_sql.ids import company_key, contact_key, record_id
from dbt_like_sql.runner import PROJECT_DIR, SqlProject

UTC = dt.UTC


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    SqlProject.load().session(connection)  # macros, seeds and the seed lookups
    yield connection
    connection.close()


def evaluate(con: duckdb.DuckDBPyConnection, expression: str, values: list[Any]) -> list[Any]:
    """The expression (over column v) for each value, in one query."""
    rows = con.execute(
        f"SELECT {expression} FROM unnest(?) WITH ORDINALITY AS t(v, i) ORDER BY i",  # noqa: S608
        [values],
    ).fetchall()
    return [row[0] for row in rows]


def check(con: duckdb.DuckDBPyConnection, expression: str, golden: dict[Any, Any]) -> None:
    assert dict(zip(golden, evaluate(con, expression, list(golden)), strict=True)) == golden


def test_squish_trims_and_collapses_all_whitespace(con: duckdb.DuckDBPyConnection) -> None:
    check(
        con,
        "squish(v)",
        {
            "  Ann  ": "Ann",
            "Mary  Ann": "Mary Ann",
            "a\tb\r\nc": "a b c",
            "no\u00a0break\u2003space\u3000": "no break space",
            "plain": "plain",
            "": "",
        },
    )


def test_placeholder_values_are_null(con: duckdb.DuckDBPyConnection) -> None:
    nulls = ["", "n/a", "N/A", "NA", "null", "NULL", "-", "--", "none", "None", "nan", "#N/A"]
    assert evaluate(con, "blank_to_null(v)", nulls) == [None] * len(nulls)
    kept = ["x", "Nancy", "unknown company", "0"]
    assert evaluate(con, "blank_to_null(v)", kept) == kept


def test_email_validity(con: duckdb.DuckDBPyConnection) -> None:
    check(
        con,
        "is_valid_email(v)",
        {
            "ann.lee@example.com": True,
            "o'neil+tag@sub.example.co.uk": True,
            "zoë@exämple.de": True,
            "f.l.at.example.com": False,
            "f.l@": False,
            "@example.com": False,
            "f@@example.com": False,
            "a@example": False,
            "a b@example.com": False,
            "a@example.c": False,
            "a..b@example.com": False,
            "a@example.123": False,
        },
    )
    check(
        con,
        "email_text(v)",
        {"Ann.Lee@Example.COM": "ann.lee@example.com", "mailto:A@b.co": "a@b.co"},
    )


def test_domain_from_website_or_domain(con: duckdb.DuckDBPyConnection) -> None:
    check(
        con,
        "CASE WHEN is_domain(url_host(lower(v))) THEN url_host(lower(v)) END",
        {
            "https://www.Example.com/about?x=1#top": "example.com",
            "HTTPS://WWW.ACME.IO": "acme.io",
            "http://www.acme.com/": "acme.com",
            "acme.com": "acme.com",
            "www.acme.com": "acme.com",
            "https://acme.com:443/": "acme.com",
            "www2.acme.de/path": "acme.de",
            "example.co.uk.": "example.co.uk",
            "@acme.com": "acme.com",
            "https://münchen.de": "münchen.de",
            "not a website": None,
            "localhost:8080": None,
            "http://": None,
        },
    )


def test_linkedin_urls_take_one_form(con: duckdb.DuckDBPyConnection) -> None:
    check(
        con,
        "linkedin_url(v)",
        {
            "https://www.linkedin.com/in/John-Doe/": "https://www.linkedin.com/in/john-doe",
            "linkedin.com/in/x?trk=abc": "https://www.linkedin.com/in/x",
            "http://uk.linkedin.com/in/y#about": "https://www.linkedin.com/in/y",
            "www.linkedin.com/company/acme/": "https://www.linkedin.com/company/acme",
            "https://example.com/John": "https://example.com/John",
        },
    )


AMOUNTS = {
    # as written: (lower bound, upper bound, open-ended)
    "1,200": (1200, None, ""),
    "1.2k": (1200, None, ""),
    "$3.5M": (3_500_000, None, ""),
    "2.1B": (2_100_000_000, None, ""),
    "12000000": (12_000_000, None, ""),
    "$1,200,000": (1_200_000, None, ""),
    "5 million": (5_000_000, None, ""),
    "€5m": (5_000_000, None, ""),
    "500 employees": (500, None, ""),
    "51-200": (51, 200, ""),
    "51 - 200": (51, 200, ""),
    "1,001-5,000": (1001, 5000, ""),
    "$1M - $10M": (1_000_000, 10_000_000, ""),
    "1-10M": (1_000_000, 10_000_000, ""),
    "100K-500K": (100_000, 500_000, ""),
    "10,001+": (10001, None, "+"),
    "lots": (None, None, ""),
    "-5": (None, None, ""),
    "1.200.000": (None, None, ""),
}


def test_numbers_and_ranges(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "WITH p AS (SELECT i, amount_parts(v) AS a "
        "           FROM unnest(?) WITH ORDINALITY AS t(v, i)), "
        "u AS (SELECT i, a, coalesce(nullif(a.lo_unit, ''), a.hi_unit) AS lo_unit FROM p) "
        "SELECT amount_value(a.lo, lo_unit), amount_value(a.hi, a.hi_unit), a.plus "
        "FROM u ORDER BY i",
        [list(AMOUNTS)],
    ).fetchall()
    assert dict(zip(AMOUNTS, rows, strict=True)) == AMOUNTS


def test_years_and_times(con: duckdb.DuckDBPyConnection) -> None:
    check(con, "year_value(v)", {"1998": 1998, "1998.0": 1998, "98": None, "MCMXCVIII": None})
    check(
        con,
        "parse_time(v)",
        {
            "2024-03-01": dt.datetime(2024, 3, 1, tzinfo=UTC),
            "2024-03-01T10:00:00Z": dt.datetime(2024, 3, 1, 10, tzinfo=UTC),
            "2024-03-01T10:00:00+02:00": dt.datetime(2024, 3, 1, 8, tzinfo=UTC),
            "2024-03-01T10:00:00-05:00": dt.datetime(2024, 3, 1, 15, tzinfo=UTC),
            "2024-03-01 10:00:00": dt.datetime(2024, 3, 1, 10, tzinfo=UTC),
            "2024-03-01T10:00:00.250Z": dt.datetime(2024, 3, 1, 10, 0, 0, 250000, tzinfo=UTC),
            "03/01/2024": None,
            "2024-13-01": None,
            "yesterday": None,
        },
    )


def test_list_cells(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "WITH s AS (SELECT i, split_list(squish(v)) AS l "
        "           FROM unnest(?) WITH ORDINALITY AS t(v, i)) "
        "SELECT distinct_items(l) FROM s ORDER BY i",
        [["Python, AWS; python", "a;;b , ,a", " ; ", "SaaS;B2B", "Big  Data, n/a"]],
    ).fetchall()
    assert [r[0] for r in rows] == [
        ["python", "aws"],
        ["a", "b"],
        None,
        ["saas", "b2b"],
        ["big data"],
    ]


COUNTRIES = {
    "USA": "united states",
    "U.S.": "united states",
    "us": "united states",
    "U.S.A.": "united states",
    "United States of America": "united states",
    "America": "united states",
    "UNITED STATES": "united states",
    "UK": "united kingdom",
    "U.K.": "united kingdom",
    "Great Britain": "united kingdom",
    "England": "united kingdom",
    "GB": "united kingdom",
    "Deutschland": "germany",
    "DEU": "germany",
    "The Netherlands": "netherlands",
    "Holland": "netherlands",
    "España": "spain",
    "Brasil": "brazil",
    "Schweiz": "switzerland",
    "Republic of Ireland": "ireland",
    "Korea, Republic of": "south korea",
    "UAE": "united arab emirates",
    "Türkiye": "turkey",
}


def test_country_spellings_map_to_one_name(con: duckdb.DuckDBPyConnection) -> None:
    check(con, "country_name(v)", {**COUNTRIES, "Atlantis": "atlantis"})


def test_country_seed_covers_every_iso_country_with_its_codes_and_no_clashes(
    con: duckdb.DuckDBPyConnection,
) -> None:
    with open(PROJECT_DIR / "seeds" / "countries.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = {r["country"] for r in rows}
    assert len(names) == 249  # ISO 3166-1
    assert all(name == name.lower() for name in names)
    assert {r["country"] for r in rows if r["kind"] == "iso3"} == names
    # Namibia's "NA" is left out: in a cell it means "not available" (a placeholder).
    assert {r["country"] for r in rows if r["kind"] == "iso2"} == names - {"namibia"}
    clashes = con.execute(
        "SELECT lookup_key(alias) FROM countries GROUP BY 1 HAVING count(DISTINCT country) > 1"
    ).fetchall()
    assert clashes == []


SENIORITY_CANONICAL = [
    "owner", "founder", "c_suite", "partner", "vp", "head", "director", "manager", "lead",
    "senior", "entry", "intern",
]  # fmt: skip (DESIGN.md section 10, in the seed's order)


def test_seniority_seed_uses_only_the_canonical_levels(con: duckdb.DuckDBPyConnection) -> None:
    levels = con.execute(
        "SELECT seniority FROM seniorities GROUP BY 1 ORDER BY min(rowid)"
    ).fetchall()
    assert [r[0] for r in levels] == SENIORITY_CANONICAL
    check(
        con,
        "seniority_alias(v)",
        {"C-Suite": "c_suite", "c_suite": "c_suite", "VP": "vp", "Vice President": "vp",
         "Sr.": "senior", "Entry level": "entry", "Founder": "founder", "Junior": "entry",
         "Lead": "lead", "Team Lead": "lead", "tech-lead": "lead", "Principal": "senior",
         "Galactic Overlord": None},
    )  # fmt: skip


def test_ids_are_md5_shaped_as_uuid_v3(con: duckdb.DuckDBPyConnection) -> None:
    key = "email:ann.lee@example.com"
    expected = str(
        uuid.UUID(bytes=hashlib.md5(key.encode(), usedforsecurity=False).digest(), version=3)
    )
    assert evaluate(con, "record_id(v)", [key]) == [expected] == [record_id(key)]
    assert evaluate(con, "uuid_v3_from_md5(md5(v))", [None]) == [None]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=40))
def test_sql_ids_match_python_uuid_for_any_key(keys: list[str]) -> None:
    keys = [k for k in keys if "\x00" not in k] or ["k"]
    connection = duckdb.connect()
    try:
        SqlProject.load().subset([]).session(connection)
        got = evaluate(connection, "uuid_v3_from_md5(md5(v))", keys)
    finally:
        connection.close()
    expected = [
        str(uuid.UUID(bytes=hashlib.md5(k.encode(), usedforsecurity=False).digest(), version=3))
        for k in keys
    ]
    assert got == expected
    assert all(uuid.UUID(i).version == 3 and uuid.UUID(i).variant == uuid.RFC_4122 for i in got)


def test_python_keys_follow_the_contract() -> None:
    assert company_key("acme.com", "Acme", "united states") == "domain:acme.com"
    assert company_key(None, "Acme Inc", "united states") == "name:acme inc|united states"
    assert company_key(None, "Acme", None) == "name:acme|"
    assert company_key(None, None, "germany") is None
    company = record_id("domain:acme.com")
    assert contact_key("a@b.co", "https://www.linkedin.com/in/x", "A B", company) == "email:a@b.co"
    assert contact_key(None, "https://www.linkedin.com/in/X", None, None) == (
        "linkedin:https://www.linkedin.com/in/x"
    )
    assert contact_key(None, None, "Ann Lee", company) == f"name:ann lee|{company}"
    assert contact_key(None, None, "Ann Lee", None) is None

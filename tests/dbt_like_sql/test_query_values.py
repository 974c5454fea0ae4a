"""LoadRules: query values normalized by the loader's own macros and seeds.

Golden tables per rule, and the property that makes them one definition: a value loaded
through FileNormalizer is stored exactly as LoadRules reads the same value in a query.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbt_like_sql.normalize import FileNormalizer
from dbt_like_sql.query_values import KEYWORD_RULES, NUMBER_RULES, LoadRules
from dbt_like_sql.runner import PROJECT_DIR
from stores.csvfile import open_csv
from vql.reader import string_problem


@pytest.fixture(scope="module")
def rules() -> Iterator[LoadRules]:
    r = LoadRules()
    yield r
    r.close()


KEYWORDS: list[tuple[str, str, tuple[str, ...]]] = [
    ("country", "USA", ("united states",)),
    ("country", " u.s.a. ", ("united states",)),
    ("country", "Deutschland", ("germany",)),
    ("country", "Korea, Republic of", ("south korea",)),
    ("country", "Atlantis", ("atlantis",)),
    # Every ISO 3166-1 country is in the seed (the vocabulary is closed to queries), with its
    # codes, its official name and the names people write.
    ("country", "ZWE", ("zimbabwe",)),
    ("country", "Ivory Coast", ("côte d'ivoire",)),
    ("country", "Cote d'Ivoire", ("côte d'ivoire",)),
    ("country", "DRC", ("democratic republic of the congo",)),
    ("country", "Republic of Kenya", ("kenya",)),
    ("country", "Burma", ("myanmar",)),
    ("country", "n/a", ()),
    ("seniority", "Lead", ("lead",)),
    ("seniority", "Team-Lead", ("lead",)),
    ("seniority", "Sr.", ("senior",)),
    ("seniority", "C-Suite", ("c_suite",)),
    ("seniority", "Vice President", ("vp",)),
    ("seniority", "bogus", ("bogus",)),
    ("departments", "Human Resources; Sales", ("human_resources", "sales")),
    ("email", "MAILTO:Ann@X.com", ("ann@x.com",)),
    ("domain", "https://www.Acme.com/about?x=1", ("acme.com",)),
    ("domain", "ann@beta.de", ("beta.de",)),
    ("domain", "acme", ("acme",)),
    ("list", " Software ,  Health  Care;n/a;software", ("software", "health care")),
    ("text", "  New \t York ", ("New York",)),
    ("text", "--", ()),
]


@pytest.mark.parametrize(("rule", "value", "expected"), KEYWORDS)
def test_keyword_rules(rules: LoadRules, rule: str, value: str, expected: tuple[str, ...]) -> None:
    assert rules.keyword(rule, value) == expected


def test_number_date_and_vocabulary_rules(rules: LoadRules) -> None:
    amounts = {"1.2k": 1200, "1,200": 1200, "$3.5M": 3_500_000, "2.1B": 2_100_000_000,
               "500 employees": 500, "51-200": None, "10,001+": None, "many": None}
    assert {v: rules.number("amount", v) for v in amounts} == amounts
    assert [rules.number("year", v) for v in ("1998", "1998.0", "98")] == [1998, 1998, None]
    assert rules.time("2024-01-31") == datetime(2024, 1, 31, tzinfo=UTC)
    assert rules.time("2024-01-31T12:00:00+02:00") == datetime(2024, 1, 31, 10, tzinfo=UTC)
    assert rules.time("31/01/2024") is None
    assert rules.time("0000-01-01") is None and rules.time("9999-12-31T23:00:00-05:00") is None
    assert rules.vocabulary("seniority") == (
        "owner", "founder", "c_suite", "partner", "vp", "head", "director", "manager", "lead",
        "senior", "entry", "intern",
    )
    with open(PROJECT_DIR / "seeds" / "countries.csv", encoding="utf-8") as handle:
        seeded = {row["country"] for row in csv.DictReader(handle)}
    assert rules.vocabulary("country") == tuple(sorted(seeded))
    assert len(seeded) == 249  # ISO 3166-1: a closed vocabulary must not miss a country


def test_every_registry_rule_exists() -> None:
    from vql.registry import REGISTRY

    used = {f.rule for reg in REGISTRY.values() for f in reg if f.rule is not None}
    assert used <= set(KEYWORD_RULES) | set(NUMBER_RULES) | {"time"}


# (input column, contact document field, rule, value): each value once through the loader.
LOADED: list[tuple[str, str, str, str]] = [
    ("country", "country", "country", "USA"),
    ("country", "country", "country", " united   states of america "),
    ("company_country", "company_country", "country", "Deutschland"),
    ("country", "country", "country", "Atlantis"),
    ("seniority", "seniority", "seniority", "Team Lead"),
    ("seniority", "seniority", "seniority", "C-Suite"),
    ("seniority", "seniority", "seniority", "Galactic Overlord"),
    ("departments", "departments", "departments", "Human Resources; Sales"),
    ("email", "email", "email", "MAILTO:Ann@X.com"),
    ("company_domain", "company_domain", "domain", "https://www.Acme.com/about"),
    ("company_website", "company_domain", "domain", "WWW.Beta.de:8080/x"),
    ("company_industries", "company_industries", "list", "Software, Health  Care;n/a"),
    ("city", "city", "text", "  New   York "),
    ("company_employees_count", "company_employees_count", "amount", "1.2k"),
    ("company_annual_revenue", "company_annual_revenue", "amount", "$3.5M"),
    ("company_founded_year", "company_founded_year", "year", "1998.0"),
    ("created_at", "created_at", "time", "2024-01-31T12:00:00+02:00"),
]


def test_a_loaded_value_is_stored_as_the_query_reads_it(rules: LoadRules) -> None:
    columns = sorted({c for c, *_ in LOADED} | {"first_name", "email", "company_name"})
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    for i, (column, *_rest, value) in enumerate(LOADED):
        row = {"first_name": f"r{i}", "email": f"r{i}@t.com", "company_name": f"C{i}"}
        writer.writerow({**row, column: value})
    stored: dict[str, dict[str, Any]] = {}
    loaded_at = datetime(2026, 1, 1, tzinfo=UTC)
    with FileNormalizer("rules.csv", "run", loaded_at) as normalizer:
        for batch in open_csv(io.BytesIO(out.getvalue().encode())):
            for doc in normalizer.process(batch).contact_documents.to_pylist():
                stored[doc["first_name"]] = doc
    assert len(stored) == len(LOADED)
    for i, (_column, field, rule, value) in enumerate(LOADED):
        got = stored[f"r{i}"][field]
        if rule == "time":
            assert got == rules.time(value), value
        elif rule in NUMBER_RULES:
            assert got == rules.number(rule, value), value
        else:
            as_tuple = tuple(got) if isinstance(got, list) else (got,)
            assert as_tuple == rules.keyword(rule, value), (rule, value)


def test_cache_answers_repeats_and_threads_agree(rules: LoadRules) -> None:
    from concurrent.futures import ThreadPoolExecutor

    values = [f"U.S.A{'.' * (i % 3)}" for i in range(60)] + ["Deutschland"] * 20
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda v: rules.keyword("country", v), values))
    assert set(answers) == {("united states",), ("germany",)}


@settings(max_examples=150, deadline=None)
@given(value=st.text(min_size=1, max_size=80).filter(lambda v: string_problem(v, 512) is None))
def test_any_value_a_query_may_carry_is_answered(rules: LoadRules, value: str) -> None:
    """Whatever text passes the parser's checks, every rule answers (never raises), so a
    query value can never turn into a server error."""
    for rule in KEYWORD_RULES:
        assert all(isinstance(v, str) for v in rules.keyword(rule, value))
    for rule in NUMBER_RULES:
        assert rules.number(rule, value) is None or isinstance(rules.number(rule, value), int)
    found = rules.time(value)
    assert found is None or found.tzinfo is not None

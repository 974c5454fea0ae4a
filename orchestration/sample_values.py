"""Sample values: a company's cells, a phone, a title, and the flaws real exports have.

Everything here draws from one `random.Random` the caller owns, so a seed fixes every value;
the pools of names, titles and places are built once (sample_pools.py holds the word lists).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
import random
import unicodedata
from dataclasses import dataclass

from orchestration.sample_pools import (
    COMPANY_PREFIXES,
    COMPANY_SUFFIXES,
    COUNTRY_VARIANTS,
    EMAIL_PATTERN_WEIGHTS,
    EMAIL_PATTERNS,
    EMPLOYEE_BUCKETS,
    EMPLOYEE_WEIGHTS,
    EXECUTIVE_TITLES,
    FIRST_NAMES,
    FOLD_EXTRA,
    FUNCTIONS,
    INDUSTRIES,
    KEYWORDS,
    LAST_NAMES,
    LEGAL_FORMS,
    LEGAL_WEIGHTS,
    LOCATIONS,
    NICKNAMES,
    REGIONS,
    REVENUE_BOUNDS,
    SENIORITY_FORMS,
    TECHNOLOGIES,
    TITLE_TEMPLATES,
    WEBSITE_FORMS,
    WEBSITE_WEIGHTS,
    Location,
)

# Row kinds, drawn once per row; weights are per 10,000 rows.
(CLEAN, COUNTRY, CASE, SPACES, EMAIL_UPPER, NEWLINE, QUOTE, LINKEDIN_ONLY, NAME_ONLY,
 DUP_EXACT, DUP_CHANGED, BAD_EMAIL, NO_IDENTITY, TOO_MANY) = range(14)
KIND_WEIGHTS = (8350, 250, 150, 200, 150, 50, 50, 200, 100, 150, 200, 50, 30, 20)
BAD_KINDS = (BAD_EMAIL, NO_IDENTITY, TOO_MANY)


def fold(name: str) -> str:
    """ASCII, lowercase, no spaces: what an email address or LinkedIn slug uses for a name."""
    decomposed = unicodedata.normalize("NFKD", name.lower().translate(FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Pools:
    """Everything precomputed once, so rows cost lookups rather than string work."""

    first_names: list[tuple[str, str]]
    last_names: list[tuple[str, str]]
    titles: list[tuple[str, tuple[str, str], tuple[str, str, str, str]]]
    title_cum_weights: list[float]
    locations: list[Location]
    location_cum_weights: list[float]
    company_names: list[tuple[str, str]]
    name_step: int
    days: list[str]


@functools.cache
def pools() -> Pools:
    titles: list[tuple[str, tuple[str, str], tuple[str, str, str, str]]] = []
    weights: list[float] = []

    def add(title: str, seniority: str, departments: tuple[str, ...], weight: float) -> None:
        shown = [d.replace("_", " ").title() for d in departments]
        forms = (";".join(departments), "; ".join(shown), ", ".join(shown), "")
        titles.append((title, SENIORITY_FORMS[seniority], forms))
        weights.append(weight)

    for seniority, (weight, templates) in TITLE_TEMPLATES.items():
        made = [t.format(f=f, r=r, c=c) for f, _, roles, c in FUNCTIONS for t in templates
                for r in (roles if "{r}" in t else roles[:1])]
        departments = [ds for _, ds, roles, _ in FUNCTIONS for t in templates
                       for _ in (roles if "{r}" in t else roles[:1])]
        for title, ds in zip(made, departments, strict=True):
            add(title, seniority, ds, weight / len(made))
    for title, seniority, weight in EXECUTIVE_TITLES:
        add(title, seniority, ("executive",), weight)

    locations: list[Location] = []
    location_weights: list[float] = []
    for country, (weight, code, places) in LOCATIONS.items():
        for place in places:
            city, state = place.split("|")
            locations.append((city, state, country, code))
            location_weights.append(weight / len(places))

    company_names = [(p, s) for p in COMPANY_PREFIXES for s in COMPANY_SUFFIXES]
    slugs = {(p + s).lower() for p, s in company_names}
    assert len(slugs) == len(company_names), "company slugs must be unique (domains are keys)"
    step = next(n for n in itertools.count(7919) if math.gcd(n, len(company_names)) == 1)
    start = dt.date(2022, 1, 1)
    return Pools(
        first_names=[(n, fold(n)) for n in FIRST_NAMES],
        last_names=[(n, fold(n)) for n in LAST_NAMES],
        titles=titles, title_cum_weights=list(itertools.accumulate(weights)),
        locations=locations, location_cum_weights=list(itertools.accumulate(location_weights)),
        company_names=company_names, name_step=step,
        days=[(start + dt.timedelta(days=i)).isoformat() for i in range(3 * 365 + 1)],
    )


@functools.lru_cache(maxsize=8)
def company_cum_weights(m: int) -> list[float]:
    """A few companies have many contacts, most have a handful (Zipf-like, exponent 0.7)."""
    return list(itertools.accumulate((k + 1) ** -0.7 for k in range(m)))


def _employees(rng: random.Random) -> tuple[str, int]:
    """The headcount as written, and a value to scale the revenue by."""
    lo, hi = rng.choices(EMPLOYEE_BUCKETS, weights=EMPLOYEE_WEIGHTS)[0]
    style = rng.choices(range(5), weights=(45, 15, 10, 25, 5))[0]
    value = rng.randint(lo, hi)
    if style == 3:
        return rng.choice(("{}-{}", "{:,}-{:,}", "{} - {}")).format(lo, hi), value
    if style == 4:
        return "", value
    if style == 1 and value >= 1000:
        return f"{value:,}", value
    if style == 2 and value >= 1000:
        value = value // 100 * 100
        return f"{value / 1000:g}k", value  # "1.2k" is exactly the company's 1200
    return str(value), value


def _short_money(value: int) -> str:
    unit, letter = (10**9, "B") if value >= 10**9 else (10**6, "M") if value >= 10**6 else (
        10**3, "K")
    return f"{value / unit:g}{letter}"


def _revenue(rng: random.Random, headcount: int) -> str:
    """Revenue in line with the headcount (50k to 400k a head), in two significant digits."""
    style = rng.choices(range(6), weights=(25, 25, 10, 10, 15, 15))[0]
    if style == 5:
        return ""
    value = headcount * rng.randint(50, 400) * 1000
    scale = 10 ** (len(str(value)) - 2)
    value = round(value / scale) * scale
    if style == 4 and value >= REVENUE_BOUNDS[0]:
        i = bisect.bisect_right(REVENUE_BOUNDS, value)
        lo, hi = REVENUE_BOUNDS[i - 1], REVENUE_BOUNDS[i]
        dollar = rng.choice(("$", ""))
        return f"{dollar}{_short_money(lo)}{rng.choice(('-', ' - '))}{dollar}{_short_money(hi)}"
    if style == 0:
        return str(value)
    if style == 2:
        return f"${value:,}"
    return f"{'$' if style == 1 else ''}{_short_money(value)}"


def make_company(rng: random.Random, p: Pools, serial: int) -> tuple[list[str], str, int,
                                                                        Location]:
    """One company's twelve cells, written the same way in every row that names it.

    Its domain is unique by construction (name combination + round number), so companies
    never collide on their key and no global set of domains is needed.
    """
    prefix, suffix = p.company_names[(serial * p.name_step) % len(p.company_names)]
    rounds = serial // len(p.company_names)
    loc = rng.choices(p.locations, cum_weights=p.location_cum_weights)[0]
    city, state, country, _ = loc
    legal = rng.choices(LEGAL_FORMS, weights=LEGAL_WEIGHTS)[0]
    if legal and country in ("Germany", "United Kingdom"):
        legal = " GmbH" if country == "Germany" else " Ltd"
    name = f"{prefix} {suffix}{legal}"
    odd = rng.random()
    if odd < 0.005:
        name = f'{prefix} "{suffix}"{legal}'
    elif odd < 0.015:
        name = name.upper()
    slug = f"{prefix}{suffix}".lower() + (str(rounds + 1) if rounds else "")
    tld = rng.choices(("com", "io", "ai", "co", "net", "de", "co.uk"),
                      weights=(70, 10, 5, 5, 4, 15 if country == "Germany" else 0,
                               15 if country == "United Kingdom" else 0))[0]
    domain = f"{slug}.{tld}"
    website_form = rng.choices(WEBSITE_FORMS, weights=WEBSITE_WEIGHTS)[0]
    website = website_form.format(domain.upper() if website_form.isupper() else domain)
    sep = rng.choice(("; ", ";", ", ", ","))
    industries = sep.join(rng.sample(INDUSTRIES, rng.randint(1, 3)))
    if rng.random() < 0.2:
        industries = industries.lower()
    founded = "" if rng.random() < 0.1 else str(rng.randint(1950, 2023))
    written_country = rng.choice(COUNTRY_VARIANTS[country]) if rng.random() < 0.03 else country
    linkedin = "" if rng.random() < 0.1 else rng.choice((
        "https://www.linkedin.com/company/{}", "linkedin.com/company/{}",
        "https://linkedin.com/company/{}/")).format(slug)
    keywords = "" if rng.random() < 0.1 else rng.choice((", ", ";")).join(
        rng.sample(KEYWORDS, rng.randint(2, 6)))
    technologies = "" if rng.random() < 0.1 else rng.choice((", ", "; ")).join(
        rng.sample(TECHNOLOGIES, rng.randint(2, 8)))
    pattern = rng.choices(range(len(EMAIL_PATTERNS)), weights=EMAIL_PATTERN_WEIGHTS)[0]
    employees, headcount = _employees(rng)
    cells = [name, website, industries, employees, _revenue(rng, headcount), founded, city, state,
             written_country, linkedin, keywords, technologies]
    return cells, domain, pattern, loc


def phone(code: str, style: int, bits: int) -> str:
    if style == 0:
        return ""
    s = str(2_000_000_000 + bits)  # ten digits
    if code == "1":
        if style == 1:
            return f"+1 {s[:3]}-{s[3:6]}-{s[6:]}"
        if style == 2:
            return f"({s[:3]}) {s[3:6]}-{s[6:]}"
        return f"{s[:3]}.{s[3:6]}.{s[6:]}" if style == 3 else f"+1{s}"
    if style == 1:
        return f"+{code} {s[:2]} {s[2:6]} {s[6:]}"
    if style == 2:
        return f"+{code} {s}"
    return f"00{code} {s[:3]} {s[3:]}" if style == 3 else f"+{code}{s}"


def mess_up(rng: random.Random, kind: int, row: list[str]) -> None:
    """One row-level flaw of the kind drawn; all are ones the normalizer must undo."""
    if kind == COUNTRY:
        row[10] = rng.choice(COUNTRY_VARIANTS[row[10]])
    elif kind == CASE:
        i = rng.choice((0, 1, 3, 8, 10))
        row[i] = row[i].upper() if i in (1, 8, 10) else row[i].lower()
    elif kind == SPACES:
        i = rng.choice((0, 1, 3, 8, 11))
        row[i] = row[i].replace(" ", "  ", 1) if " " in row[i] else f" {row[i]} "
    elif kind == EMAIL_UPPER:
        row[2] = row[2].upper() if rng.random() < 0.3 else row[2].title()
    elif kind == NEWLINE:
        row[3] = f"{row[3]}\n{rng.choice(REGIONS)}"
    elif kind == QUOTE:
        nickname = NICKNAMES.get(row[0])
        if nickname:
            row[0] = f'{row[0]} "{nickname}"'
        else:
            row[3] = f'{row[3]} ("{rng.choice(REGIONS)}")'


def change_contact(rng: random.Random, p: Pools, row: list[str], key: int) -> None:
    """What a later export of the same contact changes; the contact key stays the same."""
    op = rng.randrange(8)
    if op == 0:
        title, seniority, departments = rng.choices(p.titles, cum_weights=p.title_cum_weights)[0]
        row[3], row[4], row[5] = title, rng.choice(("", seniority[0])), departments[1]
    elif op == 1:
        row[6] = "" if row[6] else f"+1 415-555-{rng.randrange(100, 200):04d}"
    elif op == 2:
        row[8], row[9], row[10], _ = rng.choices(p.locations, cum_weights=p.location_cum_weights)[0]
    elif op == 3:
        row[5] = ""
    elif op == 4:
        row[23] = ""
    elif op == 5:  # the identity in another case: still the same key once lowercased
        i = 2 if key == 0 else 7 if key == 1 else 0
        row[i] = row[i].upper()
    elif op == 6 and key == 0:
        row[7] = ""
    else:
        row[4] = ""


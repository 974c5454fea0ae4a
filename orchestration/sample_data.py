"""Reproducible sample CSVs of contacts with their companies (DESIGN.md section 4).

The files look like real exports on purpose: a mixed-style header, values written the
several ways people write them ("1,200", "1.2k", "51-200", "$3.5M", "USA"), messiness at
low realistic rates, duplicates and a few bad rows. Each file gets a sidecar manifest with
the counts an ingest must reproduce (read = loaded + merged + rejected), so tests and
benchmarks check the pipeline against numbers fixed at generation time.

Speed and memory: randomness is drawn in bulk per chunk of rows, companies live only inside
their chunk (state is bounded by the chunk, not the file) and rows stream to disk.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import functools
import gzip
import io
import itertools
import json
import math
import os
import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from orchestration.sample_pools import (
    COMPANY_PREFIXES,
    COMPANY_SUFFIXES,
    CONTACT_LINKEDIN_FORMS,
    CONTACT_LINKEDIN_WEIGHTS,
    COUNTRY_VARIANTS,
    CREATED_FORMATS,
    CREATED_WEIGHTS,
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
    PERSONAL_DOMAINS,
    REGIONS,
    REVENUE_BOUNDS,
    SENIORITY_FORMS,
    TECHNOLOGIES,
    TITLE_TEMPLATES,
    WEBSITE_FORMS,
    WEBSITE_WEIGHTS,
    Location,
)

CHUNK_ROWS = 10_000
ROWS_PER_COMPANY = 20
MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "connectra-sample-manifest/1"

# (header as written, canonical column): the header mixes styles like real exports do.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("First Name", "first_name"), ("last_name", "last_name"), ("Email", "email"),
    ("Title", "title"), (" Seniority", "seniority"), ("Departments", "departments"),
    ("Phone ", "phone"), ("LinkedIn URL", "linkedin_url"), ("City", "city"),
    ("State", "state"), ("Country", "country"), ("Company Name", "company_name"),
    ("Company Website", "company_website"), ("company_industries", "company_industries"),
    ("Company-Employees-Count", "company_employees_count"),
    ("Company Annual Revenue", "company_annual_revenue"),
    ("Company Founded Year", "company_founded_year"), ("Company City", "company_city"),
    ("company_state", "company_state"), ("COMPANY COUNTRY", "company_country"),
    ("Company LinkedIn URL", "company_linkedin_url"), ("Company Keywords", "company_keywords"),
    ("Company-Technologies", "company_technologies"), ("created_at", "created_at"),
)
HEADER: list[str] = [written for written, _ in COLUMNS]
CANONICAL_COLUMNS: list[str] = [canonical for _, canonical in COLUMNS]

# Spellings written besides the canonical name; the normalizer's country seed must map them.

# Row kinds, drawn once per row; weights are per 10,000 rows.
(CLEAN, COUNTRY, CASE, SPACES, EMAIL_UPPER, NEWLINE, QUOTE, LINKEDIN_ONLY, NAME_ONLY,
 DUP_EXACT, DUP_CHANGED, BAD_EMAIL, NO_IDENTITY, TOO_MANY) = range(14)
_KIND_WEIGHTS = (8350, 250, 150, 200, 150, 50, 50, 200, 100, 150, 200, 50, 30, 20)
_BAD_KINDS = (BAD_EMAIL, NO_IDENTITY, TOO_MANY)


def _fold(name: str) -> str:
    """ASCII, lowercase, no spaces: what an email address or LinkedIn slug uses for a name."""
    decomposed = unicodedata.normalize("NFKD", name.lower().translate(FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class _Pools:
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
def _pools() -> _Pools:
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
    return _Pools(
        first_names=[(n, _fold(n)) for n in FIRST_NAMES],
        last_names=[(n, _fold(n)) for n in LAST_NAMES],
        titles=titles, title_cum_weights=list(itertools.accumulate(weights)),
        locations=locations, location_cum_weights=list(itertools.accumulate(location_weights)),
        company_names=company_names, name_step=step,
        days=[(start + dt.timedelta(days=i)).isoformat() for i in range(3 * 365 + 1)],
    )


@functools.lru_cache(maxsize=8)
def _company_cum_weights(m: int) -> list[float]:
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


def _make_company(rng: random.Random, p: _Pools, serial: int) -> tuple[list[str], str, int,
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


def _phone(code: str, style: int, bits: int) -> str:
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


def _mess_up(rng: random.Random, kind: int, row: list[str]) -> None:
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


def _change_contact(rng: random.Random, p: _Pools, row: list[str], key: int) -> None:
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


@dataclass
class SampleCounts:
    """What a file holds, counted while it is generated: the manifest's numbers."""

    rows: int = 0
    invalid_email: int = 0
    no_identity: int = 0
    too_many_cells: int = 0
    exact_duplicates: int = 0
    changed_duplicates: int = 0
    contacts_by_email: int = 0
    contacts_by_linkedin: int = 0
    contacts_by_name: int = 0
    companies: int = 0

    @property
    def rejected(self) -> int:
        return self.invalid_email + self.no_identity + self.too_many_cells

    @property
    def merged(self) -> int:
        return self.exact_duplicates + self.changed_duplicates

    @property
    def contacts(self) -> int:
        return self.contacts_by_email + self.contacts_by_linkedin + self.contacts_by_name


@dataclass
class _Chunk:
    """Per-chunk state. Companies belong to one chunk, so every set here stays small."""

    companies: list[list[str]] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    patterns: list[int] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    emails: set[str] = field(default_factory=set)
    names: set[tuple[str, int]] = field(default_factory=set)
    seen_rows: set[tuple[str, ...]] = field(default_factory=set)
    sources: list[tuple[list[str], int, int]] = field(default_factory=list)  # row, key, company
    used_companies: set[int] = field(default_factory=set)


class SampleGenerator:
    """One random stream per seed, consumed in order: the same seed gives the same rows."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._p = _pools()
        self._company_serial = 0
        self._row_serial = 0

    def chunks(self, rows: int, counts: SampleCounts) -> Iterator[list[list[str]]]:
        """Lists of at most CHUNK_ROWS rows; what they hold is added to counts."""
        done = 0
        while done < rows:
            n = min(CHUNK_ROWS, rows - done)
            yield self._chunk(n, counts)
            done += n

    def _chunk(self, n: int, counts: SampleCounts) -> list[list[str]]:
        rng, p, ch = self._rng, self._p, _Chunk()
        for _ in range(max(1, n // ROWS_PER_COMPANY)):
            cells, domain, pattern, loc = _make_company(rng, p, self._company_serial)
            self._company_serial += 1
            ch.companies.append(cells)
            ch.domains.append(domain)
            ch.patterns.append(pattern)
            ch.locations.append(loc)
        m, choices, bits = len(ch.companies), rng.choices, rng.getrandbits
        kinds = choices(range(14), weights=_KIND_WEIGHTS, k=n)
        firsts = choices(p.first_names, k=n)
        lasts = choices(p.last_names, k=n)
        titles = choices(p.titles, cum_weights=p.title_cum_weights, k=n)
        comps = choices(range(m), cum_weights=_company_cum_weights(m), k=n)
        locs = choices(p.locations, cum_weights=p.location_cum_weights, k=n)
        own_loc = choices((True, False), weights=(70, 30), k=n)
        sen_style = choices((0, 1, 2), weights=(30, 45, 25), k=n)
        dept_style = choices((0, 1, 2, 3), weights=(15, 45, 25, 15), k=n)
        no_li = len(CONTACT_LINKEDIN_FORMS)
        li_style = choices(range(no_li + 1), weights=CONTACT_LINKEDIN_WEIGHTS, k=n)
        phone_style = choices(range(5), weights=(25, 30, 20, 15, 10), k=n)
        personal = choices((False, True), weights=(97, 3), k=n)
        days = choices(p.days, k=n)
        created_fmt = choices(CREATED_FORMATS, weights=CREATED_WEIGHTS, k=n)
        out: list[list[str]] = []
        for i in range(n):
            kind = kinds[i]
            if kind >= DUP_EXACT and not ch.sources:
                kind = CLEAN  # duplicates and bad rows lean on an earlier good row
            if kind == DUP_CHANGED:
                changed = self._changed_duplicate(ch)
                if changed is not None:
                    out.append(changed)
                    counts.changed_duplicates += 1
                    continue
                kind = DUP_EXACT
            if kind == DUP_EXACT:
                out.append(list(rng.choice(ch.sources)[0]))
                counts.exact_duplicates += 1
                continue
            serial = self._row_serial
            self._row_serial += 1
            first, ffold = firsts[i]
            last, lfold = lasts[i]
            title, seniority_forms, dept_forms = titles[i]
            ci = ch.sources[-1][2] if kind in _BAD_KINDS else comps[i]
            city, state, country, code = ch.locations[ci] if own_loc[i] else locs[i]
            s = sen_style[i]
            secs = bits(17) % 86400
            slug = f"{ffold}-{lfold}-{((serial + 1) * 2654435761) & 0xFFFFFFFF:08x}"
            li = li_style[i]
            linkedin = "" if li == no_li else CONTACT_LINKEDIN_FORMS[li].format(slug)
            key = 0  # how the contact is identified: 0 email, 1 LinkedIn URL, 2 name + company
            email = ""
            if kind == LINKEDIN_ONLY:
                key = 1
                linkedin = linkedin or CONTACT_LINKEDIN_FORMS[0].format(slug)
            elif kind == NAME_ONLY:
                name_key = (f"{first} {last}".lower(), ci)
                if name_key not in ch.names:
                    ch.names.add(name_key)
                    key, linkedin = 2, ""
            if key == 0:
                if personal[i]:
                    email = f"{ffold}.{lfold}{serial}@{rng.choice(PERSONAL_DOMAINS)}"
                else:
                    email = self._company_email(ch, ffold, lfold, ch.patterns[ci], ch.domains[ci])
            if kind == BAD_EMAIL:
                email = rng.choice((f"{ffold}.{lfold}.at.{ch.domains[ci]}", f"{ffold}.{lfold}@",
                                    f"@{ch.domains[ci]}", f"{ffold}@@{ch.domains[ci]}"))
            elif kind == NO_IDENTITY:
                first = last = email = linkedin = ""
            row = [first, last, email, title, "" if s == 0 else seniority_forms[s - 1],
                   dept_forms[dept_style[i]], _phone(code, phone_style[i], bits(30)), linkedin,
                   city, state, country, *ch.companies[ci],
                   created_fmt[i].format(d=days[i], h=secs // 3600, m=secs // 60 % 60,
                                         s=secs % 60, ms=secs % 1000)]
            if kind == TOO_MANY:  # an unquoted comma in the title: one cell too many
                head, _, tail = title.partition(", ")
                row[3:4] = [head, tail or rng.choice(REGIONS)]
                counts.too_many_cells += 1
            elif kind == BAD_EMAIL:
                counts.invalid_email += 1
            elif kind == NO_IDENTITY:
                counts.no_identity += 1
            else:
                if COUNTRY <= kind <= QUOTE:
                    _mess_up(rng, kind, row)
                self._remember(ch, row, key, ci, counts)
            out.append(row)
        counts.rows += n
        counts.companies += len(ch.used_companies)
        return out

    @staticmethod
    def _company_email(ch: _Chunk, ffold: str, lfold: str, pattern: int, domain: str) -> str:
        """An address in the company's own pattern, numbered when the name is taken."""
        local = EMAIL_PATTERNS[pattern](ffold, lfold)
        email, n = f"{local}@{domain}", 1
        while email in ch.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        ch.emails.add(email)
        return email

    @staticmethod
    def _remember(ch: _Chunk, row: list[str], key: int, company: int,
                  counts: SampleCounts) -> None:
        ch.sources.append((row, key, company))
        ch.seen_rows.add(tuple(row))
        ch.used_companies.add(company)
        if key == 0:
            counts.contacts_by_email += 1
        elif key == 1:
            counts.contacts_by_linkedin += 1
        else:
            counts.contacts_by_name += 1

    def _changed_duplicate(self, ch: _Chunk) -> list[str] | None:
        """Same contact key as an earlier row with some fields changed, or None if it can't."""
        rng = self._rng
        source, key, company = rng.choice(ch.sources)
        for _ in range(4):
            row = list(source)
            for _ in range(rng.randint(1, 3)):
                _change_contact(rng, self._p, row, key)
            as_tuple = tuple(row)
            if as_tuple not in ch.seen_rows:  # else the file would hold an exact duplicate
                ch.seen_rows.add(as_tuple)
                ch.sources.append((row, key, company))
                return row
        return None


def generate_rows(rows: int, seed: int = 42) -> Iterator[list[str]]:
    """The data rows (no header) that write_sample_files writes as a single file."""
    for chunk in SampleGenerator(seed).chunks(rows, SampleCounts()):
        yield from chunk


@dataclass(frozen=True)
class SampleManifest:
    """The sidecar of one sample file: the counts an ingest of that file must report."""

    file: str
    seed: int
    part: int
    parts: int
    rows: int
    columns: list[str]
    expected: dict[str, int]
    bad_rows: dict[str, int]
    duplicate_rows: dict[str, int]
    contacts: dict[str, int]
    distinct_contact_emails: int
    distinct_companies: int
    format: str = MANIFEST_FORMAT

    @classmethod
    def from_counts(cls, file: str, seed: int, part: int, parts: int,
                    c: SampleCounts) -> SampleManifest:
        return cls(
            file=file, seed=seed, part=part, parts=parts, rows=c.rows, columns=HEADER,
            expected={"read": c.rows, "loaded": c.contacts, "merged": c.merged,
                      "rejected": c.rejected},
            bad_rows={"invalid_email": c.invalid_email, "no_identity": c.no_identity,
                      "too_many_cells": c.too_many_cells},
            duplicate_rows={"exact": c.exact_duplicates, "changed": c.changed_duplicates},
            contacts={"distinct": c.contacts, "by_email": c.contacts_by_email,
                      "by_linkedin": c.contacts_by_linkedin, "by_name": c.contacts_by_name},
            distinct_contact_emails=c.contacts_by_email, distinct_companies=c.companies)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def manifest_path(csv_path: Path) -> Path:
    """`<file>.manifest.json`, next to the file."""
    return csv_path.with_name(csv_path.name + MANIFEST_SUFFIX)


def read_manifest(csv_path: Path) -> SampleManifest:
    return SampleManifest(**json.loads(manifest_path(csv_path).read_text(encoding="utf-8")))


def sample_file_names(rows: int, seed: int = 42, max_rows_per_file: int | None = None,
                      prefix: str = "contacts", compress: bool = False) -> list[tuple[str, int]]:
    """(file name, rows in it) for each file write_sample_files would write, in order."""
    if rows <= 0:
        return []
    ext = ".csv.gz" if compress else ".csv"
    per_file = max_rows_per_file if max_rows_per_file and max_rows_per_file > 0 else rows
    sizes = [min(per_file, rows - start) for start in range(0, rows, per_file)]
    if len(sizes) == 1:
        return [(f"{prefix}-{seed}-{rows}{ext}", rows)]
    return [(f"{prefix}-{seed}-{rows}-part{i:03d}{ext}", size)
            for i, size in enumerate(sizes, start=1)]


def write_sample_files(
    rows: int,
    out_dir: Path,
    seed: int = 42,
    *,
    max_rows_per_file: int | None = None,
    line_ending: Literal["\n", "\r\n"] = "\n",
    bom: bool = False,
    compress: bool = False,
    prefix: str = "contacts",
    write_manifest: bool = True,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Write `rows` sample rows: one file, or parts of at most max_rows_per_file rows.

    A file is written under a hidden temporary name and renamed once complete, after its
    manifest, so a landing-zone sensor watching out_dir never picks up half a file. Duplicates
    only repeat rows of the same file, so each manifest holds for its file alone. progress, if
    given, is called with the rows written so far after each chunk; rows=0 writes nothing.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if line_ending not in ("\n", "\r\n"):
        raise ValueError(f"line_ending must be LF or CRLF, got {line_ending!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    generator = SampleGenerator(seed)
    names = sample_file_names(rows, seed, max_rows_per_file, prefix, compress)
    written: list[Path] = []
    total = 0
    for part, (name, part_rows) in enumerate(names, start=1):
        final, tmp = out_dir / name, out_dir / f".{name}.partial"
        counts = SampleCounts()
        with _open_text(tmp, compress, bom) as handle:
            writer = csv.writer(handle, lineterminator=line_ending)
            writer.writerow(HEADER)
            for chunk in generator.chunks(part_rows, counts):
                writer.writerows(chunk)
                total += len(chunk)
                if progress is not None:
                    progress(total)
        if write_manifest:
            manifest = SampleManifest.from_counts(name, seed, part, len(names), counts)
            manifest_path(final).write_text(manifest.to_json(), encoding="utf-8")
        os.replace(tmp, final)
        written.append(final)
    return written


def _open_text(path: Path, compress: bool, bom: bool) -> io.TextIOWrapper:
    """UTF-8 text out; gzip output carries no name or mtime, so it is reproducible too."""
    encoding = "utf-8-sig" if bom else "utf-8"
    raw = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed with the wrapper
    if not compress:
        return io.TextIOWrapper(raw, encoding=encoding, newline="")
    zipped = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
    return _GzipText(zipped, raw, encoding)


class _GzipText(io.TextIOWrapper):
    """Text over gzip that also closes the file under it (GzipFile leaves a fileobj open)."""

    def __init__(self, zipped: gzip.GzipFile, raw: BinaryIO, encoding: str) -> None:
        super().__init__(zipped, encoding=encoding, newline="")  # type: ignore[arg-type]
        self._raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()

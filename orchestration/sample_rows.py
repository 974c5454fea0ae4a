"""Sample rows: one random stream per seed, in chunks, with the counts a manifest needs.

Randomness is drawn in bulk per chunk of rows and companies live only inside their chunk, so
state is bounded by the chunk, not the file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from orchestration.sample_pools import (
    CONTACT_LINKEDIN_FORMS,
    CONTACT_LINKEDIN_WEIGHTS,
    CREATED_FORMATS,
    CREATED_WEIGHTS,
    EMAIL_PATTERNS,
    PERSONAL_DOMAINS,
    REGIONS,
    Location,
)
from orchestration.sample_values import (
    BAD_EMAIL,
    BAD_KINDS,
    CLEAN,
    COUNTRY,
    DUP_CHANGED,
    DUP_EXACT,
    KIND_WEIGHTS,
    LINKEDIN_ONLY,
    NAME_ONLY,
    NO_IDENTITY,
    QUOTE,
    TOO_MANY,
    change_contact,
    company_cum_weights,
    make_company,
    mess_up,
    phone,
    pools,
)

CHUNK_ROWS = 10_000
ROWS_PER_COMPANY = 20

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
        self._p = pools()
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
            cells, domain, pattern, loc = make_company(rng, p, self._company_serial)
            self._company_serial += 1
            ch.companies.append(cells)
            ch.domains.append(domain)
            ch.patterns.append(pattern)
            ch.locations.append(loc)
        m, choices, bits = len(ch.companies), rng.choices, rng.getrandbits
        kinds = choices(range(14), weights=KIND_WEIGHTS, k=n)
        firsts = choices(p.first_names, k=n)
        lasts = choices(p.last_names, k=n)
        titles = choices(p.titles, cum_weights=p.title_cum_weights, k=n)
        comps = choices(range(m), cum_weights=company_cum_weights(m), k=n)
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
            ci = ch.sources[-1][2] if kind in BAD_KINDS else comps[i]
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
                   dept_forms[dept_style[i]], phone(code, phone_style[i], bits(30)), linkedin,
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
                    mess_up(rng, kind, row)
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
                change_contact(rng, self._p, row, key)
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


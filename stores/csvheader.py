"""The header of a landed CSV file: which column is which.

A header name is compared by its key: lowercased, with everything but letters and digits
dropped ("E-Mail Address", "email_address" and "emailAddress" are all `emailaddress`). A key
is a canonical column (DESIGN.md section 4) or one of the aliases in the seed
`dbt_like_sql/seeds/header_aliases.csv`: common spellings and the export headers of Apollo,
HubSpot, Salesforce, LinkedIn Sales Navigator tools, ZoomInfo and Clay, one row per vendor
header. Unknown columns are ignored and reported. A header without any person column is a
companies file, whose bare attributes (name, city, country, ...) belong to the company.

Several headers may name one column (Apollo's `Work Direct Phone`, `Mobile Phone` and
`Corporate Phone` are all `phone`): each row then takes the first non-empty cell in the
order of the seed's `rank` (lowest first, ties by position in the file), see stores.csvcells.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

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

# The alias table, a seed of the SQL project (read here as a file: stores imports no other
# package of ours but vql).
ALIASES_SEED = Path(__file__).resolve().parent.parent / "dbt_like_sql/seeds/header_aliases.csv"

# Columns that only a person has: their presence makes a file a contacts file. (Not phone:
# company exports of HubSpot and Salesforce carry the company's phone number.)
_PERSON_COLUMNS = frozenset(
    {"first_name", "last_name", "full_name", "title", "seniority", "departments", "email",
     "linkedin_url"}
)  # fmt: skip

# In a companies-only file the bare attributes belong to the company (None: not kept).
_COMPANY_LAYOUT: dict[str, str | None] = {
    "full_name": "company_name", "city": "company_city", "state": "company_state",
    "country": "company_country", "linkedin_url": "company_linkedin_url", "phone": None,
}  # fmt: skip

_BARE_LINKEDIN = frozenset({"linkedin", "linkedinurl"})
_NOT_KEY = re.compile(r"[\W_]+")


class HeaderAliasError(ValueError):
    """The alias seed contradicts itself or names a column that does not exist."""


def header_key(name: str) -> str:
    """'E-Mail Address' -> 'emailaddress': how header names are compared."""
    return _NOT_KEY.sub("", name.strip().strip("\ufeff").lower())


@dataclass(frozen=True)
class Alias:
    column: str
    rank: int  # among headers of one file that name the same column, lowest first


def build_aliases(
    rows: Iterable[Mapping[str, str]], source: str = "alias seed"
) -> dict[str, Alias]:
    """The alias table by header key, from seed rows (column, header, vendor, rank).

    A header may be listed for several vendors; its rows must agree on column and rank.
    """
    aliases = {header_key(c): Alias(c, 0) for c in CANONICAL_COLUMNS}
    seeded: dict[str, tuple[Alias, str]] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{source} line {line}"
        column, header = row.get("column") or "", row.get("header") or ""
        if column not in CANONICAL_COLUMNS:
            raise HeaderAliasError(f"{where}: {column!r} is not a canonical column")
        key = header_key(header)
        if not key:
            raise HeaderAliasError(f"{where}: the header {header!r} has no letters or digits")
        try:
            alias = Alias(column, int(row.get("rank") or 0))
        except ValueError:
            rank = row.get("rank")
            raise HeaderAliasError(f"{where}: rank {rank!r} is not a whole number") from None
        earlier = seeded.get(key) or (
            (aliases[key], key) if key in aliases and aliases[key].column != column else None
        )
        if earlier is not None and earlier[0] != alias:
            raise HeaderAliasError(
                f"{where}: {header!r} -> {column} (rank {alias.rank}) contradicts "
                f"{earlier[1]!r} -> {earlier[0].column} (rank {earlier[0].rank})"
            )
        seeded[key] = (alias, header)
    aliases.update({key: alias for key, (alias, _) in seeded.items()})
    return aliases


@functools.cache
def header_aliases() -> dict[str, Alias]:
    """The seed's alias table, read on first use."""
    with ALIASES_SEED.open(encoding="utf-8", newline="") as seed:
        return build_aliases(csv.DictReader(seed), ALIASES_SEED.name)


def recognized_count(names: list[str]) -> int:
    aliases = header_aliases()
    return sum(1 for n in names if header_key(n) in aliases)


@dataclass(frozen=True)
class HeaderMapping:
    mapped: dict[int, str]  # header position -> canonical column
    ignored: tuple[int, ...]
    layout: str
    # canonical column -> its header positions, in the order rows take their values from
    sources: dict[str, tuple[int, ...]]


def _is_contacts(keys: list[str], columns: list[str | None]) -> bool:
    """Whether a header is a contacts file: it has a person column. A bare `Name` is the
    company's own in a file without other person columns, and so is a bare `LinkedIn URL`
    beside such a `Name` (Clay's companies tables: Name, Domain, LinkedIn URL) unless a
    company-name column says the name is a person's."""
    person = {k for k, c in zip(keys, columns, strict=True) if c in _PERSON_COLUMNS}
    if person - {"name"} - _BARE_LINKEDIN:
        return True
    if not person & _BARE_LINKEDIN:
        return False
    return "name" not in person or "company_name" in columns


def map_header(names: list[str]) -> HeaderMapping:
    """Canonical column per header position, and the positions of each column by rank."""
    aliases = header_aliases()
    keys = [header_key(n) for n in names]
    found = [aliases.get(k) for k in keys]
    is_contacts = _is_contacts(keys, [a.column if a else None for a in found])
    candidates: dict[str, list[tuple[int, int]]] = {}
    ignored: list[int] = []
    for position, alias in enumerate(found):
        column = alias.column if alias is not None else None
        if column is not None and not is_contacts:
            column = _COMPANY_LAYOUT.get(column, column)
        if alias is None or column is None:
            ignored.append(position)
        else:
            candidates.setdefault(column, []).append((alias.rank, position))
    sources = {c: tuple(p for _, p in sorted(ranked)) for c, ranked in candidates.items()}
    mapped = {p: c for c, positions in sources.items() for p in positions}
    return HeaderMapping(
        mapped=dict(sorted(mapped.items())),
        ignored=tuple(ignored),
        layout="contacts" if is_contacts else "companies",
        sources=sources,
    )

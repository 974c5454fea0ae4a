"""Shared fixtures of the VQL tests: a deterministic contacts_search data set, the same rows
in an in-process DuckDB table, and a plain-Python reference of VQL's semantics.

The reference is written to be obviously right rather than fast: it evaluates the parsed
node tree row by row, straight from the rules of DESIGN.md section 6 (with the SQL word
rule of ``vql.text``), and sorts with an explicit comparator. Helpers are handed out as
fixtures so the test modules import nothing but ``vql``.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlalchemy as sa

import vql
from vql.nodes import (
    Condition,
    ExactMatch,
    KeywordMatch,
    Query,
    RangeMatch,
    SortKey,
    SubstringMatch,
    Where,
)
from vql.text import auto_fuzziness, words
from vql.timeutil import epoch_millis

# DESIGN.md section 6's example request, verbatim (the golden wire format of the Go clients).
DESIGN_EXAMPLE = """
{
  "where": {
    "text_matches": {"must": [{"filter_key": "title", "text_value": "Software Engineer",
                               "search_type": "shuffle", "fuzzy": true}],
                     "must_not": [], "should": []},
    "keyword_match": {"must": {"seniority": ["senior", "lead"], "country": "united states"},
                      "must_not": {}},
    "range_query": {"must": {"company_employees_count": {"gte": 100, "lte": 1000}},
                    "must_not": {}}
  },
  "order_by": [{"order_by": "created_at", "order_direction": "desc"}],
  "page": 1, "limit": 25,
  "cursor": null,
  "select_columns": null,
  "company_config": {"populate": true, "select_columns": ["name", "website", "industries"]}
}
"""

N_ROWS = 2000
SEED = 20240531

FIRST = ["John", "jane", "JOSÉ", "Ana María", "Li", "Zoë", "Jean-Luc", "Mary", "mark",
         "Marc", "Jon", "Johan", "Björn", "Sofia", "SOPHIA", "Ahmed", "Chen", "Olga", "Raj"]
LAST = ["Smith", "O'Neil", "smith-jones", "García", "Müller", "Lee", "LEE", "Nguyen",
        "van der Berg", "Kowalski", "Schmidt", "Schmitt", "Ng", "Okafor", "Rossi"]
TITLE_WORDS = ["Senior", "Software", "Engineer", "Sales", "Manager", "Director", "of",
               "Data", "Marketing", "VP", "Head", "Product", "Lead", "Engineering",
               "Analyst", "Chief", "Officer", "Technology", "Softwre", "Enginer"]
SENIORITIES = ["entry", "senior", "manager", "director", "vp", "c_suite", "owner"]
DEPARTMENTS = ["engineering", "sales", "marketing", "finance", "human resources", "it",
               "operations", "legal"]
CITIES = ["New York", "new york", "San Francisco", "São Paulo", "Zürich", "Berlin",
          "Paris", "Saint-Denis", "York", "Newark", "Los Angeles"]
STATES = ["NY", "CA", "Île-de-France", "Bavaria", "SP", "Texas"]
COUNTRIES = ["united states", "germany", "france", "brazil", "switzerland", "india"]
INDUSTRIES = ["software", "information technology", "cloud computing", "retail", "banking",
              "computer software", "health care", "it services"]
COMPANY_WORDS = ["Acme", "Global", "Tech", "Systems", "Data", "Cloud", "Labs", "Inc",
                 "Solutions", "Widgets", "Soft", "Ware", "Nordic", "Alpha", "Beta"]
BASE = datetime(2020, 1, 1)


def _uuid(key: str) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(key.encode()).digest(), version=3))  # noqa: S324


def _maybe(rng: random.Random, p_none: float, value: Any) -> Any:
    return None if rng.random() < p_none else value


def make_companies(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        name = " ".join(rng.sample(COMPANY_WORDS, rng.randint(1, 3)))
        if rng.random() < 0.3:
            name = name.upper() if rng.random() < 0.5 else name.lower()
        domain = f"{name.lower().replace(' ', '')}{i}.com"
        out.append({
            "company_id": _uuid(f"domain:{domain}"),
            "company_name": name,
            "company_domain": domain,
            "company_industries": _maybe(rng, 0.15, rng.sample(INDUSTRIES, rng.randint(0, 3))),
            "company_employees_count": _maybe(rng, 0.2, rng.choice([1, 10, 51, 200, 201, 1000,
                                                                   rng.randint(1, 20000)])),
            "company_annual_revenue": _maybe(rng, 0.3, rng.randint(0, 5 * 10**9)),
            "company_founded_year": _maybe(rng, 0.3, rng.randint(1900, 2024)),
            "company_city": _maybe(rng, 0.2, rng.choice(CITIES)),
            "company_state": _maybe(rng, 0.3, rng.choice(STATES)),
            "company_country": _maybe(rng, 0.1, rng.choice(COUNTRIES)),
        })
    return out


def make_rows(n: int = N_ROWS, seed: int = SEED) -> list[dict[str, Any]]:
    """Contacts-search rows: mixed case, accents, NULLs, empty and missing lists, dates with
    microseconds and many exact ties (to exercise the id tie-breaker)."""
    rng = random.Random(seed)
    companies = make_companies(rng, 150)
    tie_pool = [BASE + timedelta(days=rng.randint(0, 1500)) for _ in range(40)]
    rows = []
    for i in range(n):
        first = _maybe(rng, 0.05, rng.choice(FIRST))
        last = _maybe(rng, 0.05, rng.choice(LAST))
        full = " ".join(p for p in (first, last) if p) or None
        title_words = [rng.choice(TITLE_WORDS) for _ in range(rng.randint(1, 4))]
        title = _maybe(rng, 0.1, " ".join(title_words))
        if rng.random() < 0.4:
            created = rng.choice(tie_pool)
        else:
            created = BASE + timedelta(seconds=rng.randint(0, 10**8),
                                       microseconds=rng.randint(0, 999_999))
        company = rng.choice(companies) if rng.random() < 0.85 else dict.fromkeys(companies[0])
        email = f"{(first or 'x').lower().replace(' ', '.')}.{i}@example.com"
        row = {
            "id": _uuid(f"email:{email}"),
            "first_name": first,
            "last_name": last,
            "full_name": full,
            "title": title,
            "seniority": _maybe(rng, 0.2, rng.choice(SENIORITIES)),
            "departments": _maybe(rng, 0.2, rng.sample(DEPARTMENTS, rng.randint(0, 3))),
            "email": _maybe(rng, 0.05, email),
            "phone": _maybe(rng, 0.5, f"+1 555 {rng.randint(1000, 9999)}"),
            "linkedin_url": None,
            "city": _maybe(rng, 0.15, rng.choice(CITIES)),
            "state": _maybe(rng, 0.3, rng.choice(STATES)),
            "country": _maybe(rng, 0.1, rng.choice(COUNTRIES)),
            "created_at": created,
            "updated_at": _maybe(rng, 0.3, created + timedelta(minutes=rng.randint(0, 10**5))),
            "source_file": ["sample.csv", "more.csv"][: 1 + len(rows) % 2],
            "load_run": "run-1",
            # lineage without drawing from rng (the rows above stay as they were)
            "first_seen": created,
            "last_seen": created + timedelta(days=len(rows) % 97),
            **company,
        }
        rows.append(row)
    return rows


def make_company_rows(n: int = 400, seed: int = SEED) -> list[dict[str, Any]]:
    """Companies rows, for list fields that take text matches (industries, keywords, ...)."""
    rng = random.Random(seed + 1)
    rows = []
    for c in make_companies(rng, n):
        low = c["company_employees_count"]
        rows.append({
            "id": c["company_id"], "name": c["company_name"], "domain": c["company_domain"],
            "website": f"https://www.{c['company_domain']}/about",
            "industries": c["company_industries"],
            "employees_count": low, "employees_count_min": low,
            "employees_count_max": None if low is None else low * 2,
            "annual_revenue": c["company_annual_revenue"],
            "founded_year": c["company_founded_year"], "city": c["company_city"],
            "state": c["company_state"], "country": c["company_country"], "linkedin_url": None,
            "keywords": _maybe(rng, 0.2, rng.sample(TITLE_WORDS, rng.randint(0, 4))),
            "technologies": _maybe(rng, 0.2, rng.sample(["Python", "Go", "Java Script",
                                                          "PostgreSQL", "Open Search"], 2)),
            "created_at": BASE + timedelta(days=rng.randint(0, 900)),
            "updated_at": None, "source_file": ["sample.csv"], "load_run": "run-1",
            "first_seen": BASE, "last_seen": BASE + timedelta(days=len(rows) % 31),
        })
    return rows


def search_table(service: str, metadata: sa.MetaData | None = None) -> sa.Table:
    """A service's search view as SQLAlchemy sees it (naive UTC timestamps)."""
    columns = []
    for f in vql.registry(service):
        kind: Any = {
            "list": sa.ARRAY(sa.String()),
            "date": sa.DateTime(),
            "int": sa.Integer() if f.int_bits == 32 else sa.BigInteger(),
        }.get(f.data_type, sa.String())
        columns.append(sa.Column(f.name, kind, primary_key=f.name == "id"))
    name = "contacts_search" if service == "contacts" else service
    return sa.Table(name, metadata or sa.MetaData(), *columns)


def contacts_table() -> sa.Table:
    return search_table("contacts")


ARROW_TYPES = {"list": pa.list_(pa.string()), "date": pa.timestamp("us"), "text": pa.string(),
               "keyword": pa.string()}


def load_duckdb(
    con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], service: str = "contacts"
) -> None:
    """Create the service's search table from ``rows`` (through Arrow: fast, typed)."""
    fields = list(vql.registry(service))
    schema = pa.schema([
        (f.name, ARROW_TYPES.get(f.data_type, pa.int32() if f.int_bits == 32 else pa.int64()))
        for f in fields
    ])
    data = pa.Table.from_pylist([{f.name: r[f.name] for f in fields} for r in rows], schema)
    con.register("vql_rows", data)
    name = search_table(service).name
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM vql_rows")  # noqa: S608 - our name
    con.unregister("vql_rows")


# ---------------------------------------------------------------- the reference semantics
def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def phrase_in(tokens: list[str], phrase: list[str], slop: int) -> bool:
    """Lucene's sloppy phrase: pick a distinct position for every phrase word (a repeated
    word takes as many value words); the offsets (position - index in the phrase) may
    spread by at most ``slop``."""
    candidates = [[p for p, t in enumerate(tokens) if t == w] for w in phrase]
    for choice in itertools.product(*candidates):
        if len(set(choice)) < len(choice):
            continue
        offsets = [p - i for i, p in enumerate(choice)]
        if max(offsets) - min(offsets) <= slop:
            return True
    return False


def _elements(value: Any) -> list[str]:
    if value is None:
        return []
    return [v for v in value if v is not None] if isinstance(value, list) else [value]


def holds(row: dict[str, Any], node: Condition) -> bool:
    value = row[node.field]
    elements = _elements(value)
    if isinstance(node, KeywordMatch):
        wanted = {v.lower() for v in node.values}
        return any(e.lower() in wanted for e in elements)
    if isinstance(node, RangeMatch):
        if value is None:
            return False
        for op, bound in node.bounds():
            if isinstance(bound, datetime):
                bound = bound.astimezone(UTC).replace(tzinfo=None)
            ok = {"gte": value >= bound, "gt": value > bound, "lte": value <= bound,
                  "lt": value < bound}[op]
            if not ok:
                return False
        return True
    if isinstance(node, SubstringMatch):
        return any(node.text.lower() in e.lower() for e in elements)
    if isinstance(node, ExactMatch):
        return any(phrase_in(words(e), words(node.text), node.slop) for e in elements)
    # shuffle: the words of all elements together
    tokens = set(words(" ".join(elements)))
    results = []
    for w in set(words(node.text)):
        k = auto_fuzziness(w) if node.fuzzy else 0
        results.append(any(levenshtein(w, t) <= k for t in tokens))
    return all(results) if node.operator == "and" else any(results)


def where_holds(row: dict[str, Any], where: Where) -> bool:
    return (
        all(holds(row, c) for c in where.must)
        and not any(holds(row, c) for c in where.must_not)
        and (not where.should or any(holds(row, c) for c in where.should))
    )


def sort_value(row: dict[str, Any], key: SortKey) -> Any:
    value = row[key.field]
    if value is None:
        return None
    if key.kind == "keyword":
        return value.lower()
    if key.kind == "date":
        return epoch_millis(value)
    return value


def _compare(keys: tuple[SortKey, ...], a: dict[str, Any], b: dict[str, Any]) -> int:
    for key in keys:
        va, vb = sort_value(a, key), sort_value(b, key)
        if va == vb:
            continue
        if va is None:
            return 1  # missing values last, whatever the direction
        if vb is None:
            return -1
        smaller = -1 if va < vb else 1
        return -smaller if key.descending else smaller
    return 0


def reference_ids(rows: list[dict[str, Any]], query: Query) -> list[str]:
    """Every matching id in the query's SQL order (paging not applied)."""
    keys = vql.query_sort(query, "sql")
    matching = [r for r in rows if where_holds(r, query.where)]
    matching.sort(key=functools.cmp_to_key(functools.partial(_compare, keys)))
    return [r["id"] for r in matching]


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def design_example() -> str:
    return DESIGN_EXAMPLE


@pytest.fixture(scope="session")
def contact_rows() -> list[dict[str, Any]]:
    return make_rows()


@pytest.fixture(scope="session")
def contacts_source() -> sa.Table:
    return contacts_table()


@pytest.fixture(scope="session")
def company_rows() -> list[dict[str, Any]]:
    return make_company_rows()


@pytest.fixture(scope="session")
def duck(
    contact_rows: list[dict[str, Any]], company_rows: list[dict[str, Any]]
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    load_duckdb(con, contact_rows, "contacts")
    load_duckdb(con, company_rows, "companies")
    yield con
    con.close()


@pytest.fixture(scope="session")
def codec() -> vql.CursorCodec:
    return vql.CursorCodec(b"test-secret-of-at-least-16-bytes")


@pytest.fixture(scope="session")
def reference(
    contact_rows: list[dict[str, Any]], company_rows: list[dict[str, Any]]
) -> Callable[[Query], list[str]]:
    """All matching ids of a query in its SQL order, by the Python reference."""
    rows = {"contacts": contact_rows, "companies": company_rows}
    return lambda query: reference_ids(rows[query.service], query)


@pytest.fixture(scope="session")
def where_holds_fn() -> Callable[[dict[str, Any], Where], bool]:
    """The reference semantics of a where, for one row."""
    return where_holds


@pytest.fixture(scope="session")
def run_sql(duck: duckdb.DuckDBPyConnection) -> Callable[[Query], list[tuple[Any, ...]]]:
    """Execute a query's compiled SQL on the DuckDB tables; returns the rows."""
    sources = {s: search_table(s) for s in ("contacts", "companies")}

    def run(query: Query) -> list[tuple[Any, ...]]:
        sql, params = vql.to_duckdb(vql.compile_sql(query, sources[query.service]))
        return duck.execute(sql, params).fetchall()

    return run


@pytest.fixture(scope="session")
def count_sql(duck: duckdb.DuckDBPyConnection) -> Callable[[vql.Where], int]:
    """Execute a count over compile_sql_where on the DuckDB tables."""
    sources = {s: search_table(s) for s in ("contacts", "companies")}

    def count(where: vql.Where) -> int:
        source = sources[where.service]
        stmt = sa.select(sa.func.count()).select_from(source)
        sql, params = vql.to_duckdb(stmt.where(vql.compile_sql_where(where, source)))
        result = duck.execute(sql, params).fetchone()
        assert result is not None
        return int(result[0])

    return count

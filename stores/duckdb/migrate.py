"""Schema migrations of the embedded database: numbered steps, applied in place, once.

`connectra_schema_version` records every step applied. `apply_migrations` runs the missing
steps, all in the caller's one write transaction, so concurrent callers (the API and a load
starting together) cannot both apply a step: the file lock lets one writer in at a time and
the later one finds nothing to do. Each step is frozen SQL: a later step alters what an
earlier one built, it never edits history. A database newer than this code is refused rather
than guessed at.
"""

from __future__ import annotations

import duckdb

from stores.duckdb.errors import BACKEND
from stores.errors import TerminalStoreError

VERSION_TABLE = "connectra_schema_version"

_STEP_1 = (
    """
    CREATE TABLE companies (
        id VARCHAR PRIMARY KEY,
        name VARCHAR, domain VARCHAR, website VARCHAR, industries VARCHAR[],
        employees_count BIGINT, employees_count_min BIGINT, employees_count_max BIGINT,
        annual_revenue BIGINT, founded_year INTEGER,
        city VARCHAR, state VARCHAR, country VARCHAR, linkedin_url VARCHAR,
        keywords VARCHAR[], technologies VARCHAR[],
        created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        source_file VARCHAR, load_run VARCHAR
    )
    """,
    # No foreign key to companies: both load in parallel batches, in either order; a contact
    # whose company is not there yet shows null company_* columns in the view.
    """
    CREATE TABLE contacts (
        id VARCHAR PRIMARY KEY,
        first_name VARCHAR, last_name VARCHAR, full_name VARCHAR, title VARCHAR,
        seniority VARCHAR, departments VARCHAR[], email VARCHAR, phone VARCHAR,
        linkedin_url VARCHAR, city VARCHAR, state VARCHAR, country VARCHAR,
        company_id VARCHAR,
        created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        source_file VARCHAR, load_run VARCHAR
    )
    """,
    "CREATE SEQUENCE ingest_rejects_id_seq",
    # A retried load run writes the same rejects again; the unique key makes that a no-op.
    """
    CREATE TABLE ingest_rejects (
        id BIGINT PRIMARY KEY DEFAULT nextval('ingest_rejects_id_seq'),
        source_file VARCHAR NOT NULL, load_run VARCHAR NOT NULL, line BIGINT NOT NULL,
        reason VARCHAR NOT NULL, raw VARCHAR,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (source_file, load_run, line, reason)
    )
    """,
    """
    CREATE VIEW contacts_search AS
    SELECT contacts.id, contacts.first_name, contacts.last_name, contacts.full_name,
           contacts.title, contacts.seniority, contacts.departments, contacts.email,
           contacts.phone, contacts.linkedin_url, contacts.city, contacts.state,
           contacts.country, contacts.company_id, contacts.created_at, contacts.updated_at,
           contacts.source_file, contacts.load_run,
           companies.name AS company_name, companies.domain AS company_domain,
           companies.industries AS company_industries,
           companies.employees_count AS company_employees_count,
           companies.annual_revenue AS company_annual_revenue,
           companies.founded_year AS company_founded_year,
           companies.city AS company_city, companies.state AS company_state,
           companies.country AS company_country
    FROM contacts LEFT OUTER JOIN companies ON companies.id = contacts.company_id
    """,
)


def _lineage(table: str) -> tuple[str, ...]:
    """Step 2 for one table: source_file becomes every contributing file (the one file a row
    knew becomes a one-element list), first_seen and last_seen are added, filled from
    created_at and updated_at (the last load that changed the row: the best lower bound
    there is). The fill is an ALTER ... USING rather than an UPDATE because DuckDB refuses
    SET NOT NULL on a column updated in the same transaction."""
    return (
        f"""ALTER TABLE {table} ALTER source_file TYPE VARCHAR[] USING
            CASE WHEN nullif(source_file, '') IS NULL THEN NULL ELSE [source_file] END""",
        f"ALTER TABLE {table} ADD COLUMN first_seen TIMESTAMPTZ",
        f"ALTER TABLE {table} ADD COLUMN last_seen TIMESTAMPTZ",
        f"ALTER TABLE {table} ALTER first_seen TYPE TIMESTAMPTZ USING created_at",
        f"ALTER TABLE {table} ALTER last_seen TYPE TIMESTAMPTZ USING updated_at",
        f"ALTER TABLE {table} ALTER first_seen SET NOT NULL",
        f"ALTER TABLE {table} ALTER last_seen SET NOT NULL",
    )


# contacts_search as step 2 made it (step 6 makes it again, the same).
_SEARCH_VIEW_2 = """
    CREATE VIEW contacts_search AS
    SELECT contacts.id, contacts.first_name, contacts.last_name, contacts.full_name,
           contacts.title, contacts.seniority, contacts.departments, contacts.email,
           contacts.phone, contacts.linkedin_url, contacts.city, contacts.state,
           contacts.country, contacts.company_id, contacts.created_at, contacts.updated_at,
           contacts.source_file, contacts.load_run, contacts.first_seen, contacts.last_seen,
           companies.name AS company_name, companies.domain AS company_domain,
           companies.industries AS company_industries,
           companies.employees_count AS company_employees_count,
           companies.annual_revenue AS company_annual_revenue,
           companies.founded_year AS company_founded_year,
           companies.city AS company_city, companies.state AS company_state,
           companies.country AS company_country
    FROM contacts LEFT OUTER JOIN companies ON companies.id = contacts.company_id
    """

_STEP_2 = (
    "DROP VIEW contacts_search",  # it names contacts.source_file
    *_lineage("companies"),
    *_lineage("contacts"),
    _SEARCH_VIEW_2,
)


# The dataset version: one row per completed load run (stores/versions.py).
_STEP_3 = (
    "CREATE SEQUENCE dataset_versions_seq",
    """
    CREATE TABLE dataset_versions (
        version BIGINT PRIMARY KEY DEFAULT nextval('dataset_versions_seq'),
        load_run VARCHAR NOT NULL UNIQUE,
        completed_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
)

# What every value of a column is (stores/duckdb/schema.py, column_facts), found by one scan
# of each column: "plain", no match of vql.text.CONTEXT (the word fields' columns);
# "lowercase", lowercase ASCII (the columns of text and keyword fields). Frozen copies of
# CONTEXT and of schema.FACT_COLUMNS (tests/stores/test_duckdb.py checks they still agree):
# a change of either is a new step that fills the table again.
_CONTEXT = r"[^\x00-\x7f]|[A-Za-z0-9][',.:;][A-Za-z0-9]|_"
_FACT_COLUMNS = (
    ("plain", "companies", ("city", "country", "domain", "name", "state", "website"),
     ("industries", "keywords", "technologies")),
    ("plain", "contacts", ("city", "country", "email", "first_name", "full_name", "last_name",
                           "state", "title"), ()),
    ("lowercase", "companies", ("city", "country", "domain", "load_run", "name", "state",
                                "website"), ("industries", "keywords", "source_file",
                                             "technologies")),
    ("lowercase", "contacts", ("city", "company_id", "country", "email", "first_name",
                               "full_name", "last_name", "load_run", "seniority", "state",
                               "title"), ("departments", "source_file")),
)
_BREAKS = {
    "plain": "regexp_matches({v}, '" + _CONTEXT.replace("'", "''") + "')",
    "lowercase": "({v} <> lower({v}) OR strlen({v}) <> length({v}))",
}


def _if_kept(fact: str, table: str, column: str, is_list: bool) -> str:
    value = f"array_to_string({column}, ' ')" if is_list else column
    breaks = _BREAKS[fact].format(v=value)
    return (  # our own frozen names and pattern, no input
        f"INSERT INTO column_facts SELECT '{table}', '{column}', '{fact}' WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {table} WHERE {breaks})"
    )


_STEP_4 = (
    """
    CREATE TABLE column_facts (
        table_name VARCHAR, column_name VARCHAR, fact VARCHAR,
        PRIMARY KEY (table_name, column_name, fact)
    )
    """,
    *(_if_kept(fact, table, column, False)
      for fact, table, scalars, _ in _FACT_COLUMNS for column in scalars),
    *(_if_kept(fact, table, column, True)
      for fact, table, _, lists in _FACT_COLUMNS for column in lists),
)

# The write token (stores/duckdb/filters.py): one row, a new random value in every write
# transaction, so a reader that sees the same token sees the same rows at the same row ids.
_STEP_5 = (
    "CREATE TABLE write_token (token VARCHAR NOT NULL)",
    "INSERT INTO write_token SELECT CAST(uuid() AS VARCHAR)",
)


def _rebuilt(table: str, columns: str) -> tuple[str, ...]:
    """Step 6 for one table: the table made anew with `columns` and every row copied in
    (DuckDB has no ALTER for a column's compression); the primary key's index is built anew
    with it."""
    return (
        f"CREATE TABLE {table}_rebuilt ({columns})",
        f"INSERT INTO {table}_rebuilt SELECT * FROM {table}",  # noqa: S608 (our own names)
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_rebuilt RENAME TO {table}",
    )


# Values that are (nearly) all distinct, stored uncompressed: a page's rows are fetched by id
# one at a time, and DuckDB's dictionary + FSST compression (DICT_FSST) pays a decode per
# value fetched (100 contacts by id at 1M: 13.1 -> 6.7 ms; substring scans of e-mails 36 ->
# 17 ms) while it saves little on such columns (+65 MB for 1M contacts, 172 -> 237 MB).
# Columns whose values repeat (names, titles, places, company ids) keep the compression
# DuckDB picks: a condition on them is evaluated once per distinct value.
_STEP_6 = (
    "DROP VIEW contacts_search",  # it names both tables
    *_rebuilt("companies", """
        id VARCHAR PRIMARY KEY USING COMPRESSION uncompressed,
        name VARCHAR, domain VARCHAR USING COMPRESSION uncompressed,
        website VARCHAR USING COMPRESSION uncompressed, industries VARCHAR[],
        employees_count BIGINT, employees_count_min BIGINT, employees_count_max BIGINT,
        annual_revenue BIGINT, founded_year INTEGER,
        city VARCHAR, state VARCHAR, country VARCHAR,
        linkedin_url VARCHAR USING COMPRESSION uncompressed,
        keywords VARCHAR[], technologies VARCHAR[],
        created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        source_file VARCHAR[], load_run VARCHAR,
        first_seen TIMESTAMPTZ NOT NULL, last_seen TIMESTAMPTZ NOT NULL
    """),
    *_rebuilt("contacts", """
        id VARCHAR PRIMARY KEY USING COMPRESSION uncompressed,
        first_name VARCHAR, last_name VARCHAR, full_name VARCHAR, title VARCHAR,
        seniority VARCHAR, departments VARCHAR[],
        email VARCHAR USING COMPRESSION uncompressed,
        phone VARCHAR USING COMPRESSION uncompressed,
        linkedin_url VARCHAR USING COMPRESSION uncompressed,
        city VARCHAR, state VARCHAR, country VARCHAR, company_id VARCHAR,
        created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
        source_file VARCHAR[], load_run VARCHAR,
        first_seen TIMESTAMPTZ NOT NULL, last_seen TIMESTAMPTZ NOT NULL
    """),
    _SEARCH_VIEW_2,
)

# Step n (1-based) is STEPS[n - 1]. Append; never edit a step that has shipped.
STEPS: tuple[tuple[str, ...], ...] = (_STEP_1, _STEP_2, _STEP_3, _STEP_4, _STEP_5, _STEP_6)
TOKEN_STEP = 5
HEAD = len(STEPS)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest step applied (0: an empty database)."""
    # fetchall, not fetchone: duckdb 2 refuses other work (register) on a cursor whose
    # result was not read to the end.
    [(exists,)] = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
        [VERSION_TABLE],
    ).fetchall()
    if not exists:
        return 0
    [(version,)] = con.execute("SELECT max(version) FROM connectra_schema_version").fetchall()
    return int(version) if version is not None else 0


def apply_migrations(
    con: duckdb.DuckDBPyConnection, steps: tuple[tuple[str, ...], ...] = STEPS
) -> list[int]:
    """Applies the missing `steps` inside the caller's transaction; returns their numbers."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS connectra_schema_version ("
        "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    current = current_version(con)
    if current > len(steps):
        raise TerminalStoreError(
            BACKEND,
            f"the database is at schema version {current}, newer than this code knows "
            f"({len(steps)}); upgrade Connectra",
        )
    applied = []
    for version in range(current + 1, len(steps) + 1):
        for statement in steps[version - 1]:
            con.execute(statement)
        con.execute("INSERT INTO connectra_schema_version (version) VALUES (?)", [version])
        applied.append(version)
    return applied

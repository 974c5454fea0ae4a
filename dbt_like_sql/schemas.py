"""The Arrow shapes the normalizer takes and gives, exactly the contracts' data model.

The stores COPY / bulk-index these tables as they are, so names, order and types here are
the contract: ids and text as string, counts as int64, founded_year as int32, times as
timestamp[us, UTC], list columns as list<string>.

Lineage: `source_file` is a list (a batch names its one file; the stores keep the union of
every file that contributed), `load_run` the run, `first_seen` and `last_seen` the load time
(the stores keep the first and the latest).
"""

from __future__ import annotations

import pyarrow as pa

# The reader's canonical columns (stores.csvfile.CANONICAL_COLUMNS; a test keeps them equal).
INPUT_COLUMNS: tuple[str, ...] = (
    "first_name", "last_name", "full_name", "title", "seniority", "departments", "email",
    "phone", "linkedin_url", "city", "state", "country", "created_at",
    "company_name", "company_website", "company_domain", "company_industries",
    "company_employees_count", "company_annual_revenue", "company_founded_year",
    "company_city", "company_state", "company_country", "company_linkedin_url",
    "company_keywords", "company_technologies",
)  # fmt: skip

TEXT = pa.string()
TEXT_LIST = pa.list_(pa.string())
TIME = pa.timestamp("us", tz="UTC")

COMPANIES_SCHEMA = pa.schema(
    [
        ("id", TEXT), ("name", TEXT), ("domain", TEXT), ("website", TEXT),
        ("industries", TEXT_LIST), ("employees_count", pa.int64()),
        ("employees_count_min", pa.int64()), ("employees_count_max", pa.int64()),
        ("annual_revenue", pa.int64()), ("founded_year", pa.int32()), ("city", TEXT),
        ("state", TEXT), ("country", TEXT), ("linkedin_url", TEXT), ("keywords", TEXT_LIST),
        ("technologies", TEXT_LIST), ("created_at", TIME), ("updated_at", TIME),
        ("source_file", TEXT_LIST), ("load_run", TEXT), ("first_seen", TIME),
        ("last_seen", TIME),
    ]
)  # fmt: skip

CONTACTS_SCHEMA = pa.schema(
    [
        ("id", TEXT), ("first_name", TEXT), ("last_name", TEXT), ("full_name", TEXT),
        ("title", TEXT), ("seniority", TEXT), ("departments", TEXT_LIST), ("email", TEXT),
        ("phone", TEXT), ("linkedin_url", TEXT), ("city", TEXT), ("state", TEXT),
        ("country", TEXT), ("company_id", TEXT), ("created_at", TIME), ("updated_at", TIME),
        ("source_file", TEXT_LIST), ("load_run", TEXT), ("first_seen", TIME),
        ("last_seen", TIME),
    ]
)  # fmt: skip

# The contacts search view: contacts plus their company's filterable fields.
COMPANY_DOCUMENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("company_name", "name"), ("company_domain", "domain"),
    ("company_industries", "industries"), ("company_employees_count", "employees_count"),
    ("company_annual_revenue", "annual_revenue"), ("company_founded_year", "founded_year"),
    ("company_city", "city"), ("company_state", "state"), ("company_country", "country"),
)  # fmt: skip

CONTACT_DOCUMENTS_SCHEMA = pa.schema(
    list(CONTACTS_SCHEMA)
    + [pa.field(doc, COMPANIES_SCHEMA.field(col).type) for doc, col in COMPANY_DOCUMENT_FIELDS]
)

# The stores' ingest_rejects columns (its id and created_at are the store's own).
REJECTS_SCHEMA = pa.schema(
    [
        ("source_file", TEXT),
        ("load_run", TEXT),
        ("line", pa.int64()),
        ("reason", TEXT),
        ("raw", TEXT),
    ]
)

# Why a row was not loaded (the `reason` column of rejects).
REJECT_REASONS: dict[str, str] = {
    "wrong_cell_count": "the row has more or fewer cells than the header",
    "malformed_row": "the csv module could not read the row (a quoted field spanning lines "
    "and over 128 KiB, as an unterminated quote makes)",
    "undecodable": "the row holds bytes that are not valid in the file's encoding",
    "invalid_email": "the email is not a valid address",
    "invalid_number": "a count, revenue or founded year is not a number or range",
    "invalid_date": "created_at is not an ISO-8601 date or time",
    "no_identity": "no email, LinkedIn URL or name + company (companies: no domain or name)",
}

"""The facets and explain SQL compilers on a real PostgreSQL, against the plain-Python oracle.

The API's production profile asks OpenSearch, but the SQL compilers are written for both SQL
engines (the embedded DuckDB store runs them): here they run on PostgreSQL over a search
table holding the API data set's contact documents, so the PostgreSQL renderings
(``timezone``/``date_trunc``, ``ARRAY(SELECT DISTINCT ...)``, ``levenshtein_less_equal``,
``FILTER``) are checked by execution, not only by reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import vql
from tests.api import oracle
from tests.api.dataset import DATASET
from tests.conftest import Services, fresh_database
from vql.explain import count_plan, explain_payload, parse_explain_request, probes
from vql.explain_sql import compile_sql_counts, compile_sql_probes, read_sql_counts, read_sql_probes
from vql.facets import facets_payload, parse_facets_request
from vql.facets_sql import compile_sql_facets, read_sql_facets

pytestmark = pytest.mark.services


def _table(metadata: sa.MetaData) -> sa.Table:
    columns = []
    for f in vql.registry("contacts"):
        kind: Any = {
            "list": sa.ARRAY(sa.String()),
            "date": sa.DateTime(timezone=True),
            "int": sa.Integer() if f.int_bits == 32 else sa.BigInteger(),
        }.get(f.data_type, sa.String())
        columns.append(sa.Column(f.name, kind, primary_key=f.name == "id"))
    return sa.Table("contacts_search", metadata, *columns)


@pytest.fixture(scope="module")
def postgres(services: Services) -> Iterator[tuple[sa.Engine, sa.Table]]:
    with fresh_database(services) as url:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        table = _table(sa.MetaData())
        names = [c.name for c in table.c]
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
            table.create(connection)
            rows = [{n: doc.get(n) for n in names} for doc in DATASET.contact_documents()]
            connection.execute(table.insert(), rows)
        yield engine, table
        engine.dispose()


FACETS = {
    "where": {"keyword_match": {"must": {"seniority": ["senior", "lead"],
                                         "departments": "engineering"}},
              "text_matches": {"must": [{"filter_key": "title", "text_value": "engineer",
                                         "search_type": "shuffle", "fuzzy": True}]}},
    "facets": [{"field": "seniority", "size": 2}, {"field": "departments"},
               {"field": "company_employees_count", "ranges": [{"lt": 200}, {"gte": 200}]},
               {"field": "created_at", "interval": "week"}],
}


def test_facets_on_postgres_match_the_oracle(postgres: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = postgres
    request = parse_facets_request("contacts", FACETS)
    with engine.connect() as connection:
        connection.exec_driver_sql("SET TIME ZONE 'America/New_York'")  # buckets stay UTC
        results = [[tuple(r) for r in connection.execute(s)]
                   for s in compile_sql_facets(request, table)]
    total, counts = read_sql_facets(request, results)
    assert facets_payload(request, total, counts) == oracle.facets("contacts", FACETS)


@pytest.mark.parametrize("where", [
    {"keyword_match": {"must": {"country": "germny", "seniority": "senior"}}},
    {"text_matches": {"must": [{"filter_key": "title", "text_value": "sofwar engineer",
                                "search_type": "shuffle"}]},
     "range_query": {"must_not": {"created_at": {"lt": "2024-01-20"}}}},
    {"range_query": {"must": {"company_employees_count": {"gt": 5000}}},
     "keyword_match": {"should": {"country": ["germany", "france"]}}},
])
def test_explain_on_postgres_matches_the_oracle(
    postgres: tuple[sa.Engine, sa.Table], where: dict[str, Any]
) -> None:
    engine, table = postgres
    body = {"where": where}
    request = parse_explain_request("contacts", body)
    with engine.connect() as connection:
        [row] = connection.execute(compile_sql_counts(request, table)).all()
        counts = read_sql_counts(count_plan(request), tuple(row))
        asked = probes(request, counts)
        rows = {name: [tuple(r) for r in connection.execute(s)]
                for name, s in compile_sql_probes("contacts", asked, table).items()}
    got = explain_payload(request, counts, asked, read_sql_probes(asked, rows))
    total, per = oracle.explain_counts("contacts", body)
    assert got["total"] == total
    assert sorted((c["matches"], c["total_without"]) for c in got["clauses"]) == sorted(per)
    if total == 0:
        assert got["suggestions"], "each where above has a condition to fix"

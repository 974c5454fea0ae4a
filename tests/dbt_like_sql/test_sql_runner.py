"""The dbt-like runner: refs, order, materializations, incremental merges, the package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from dbt_like_sql.runner import Model, SqlProject, SqlProjectError, topological_order


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def test_refs_sources_and_config_are_parsed() -> None:
    model = Model.parse(
        "people",
        "{{ config(materialized='incremental', unique_key='id') }}\n"
        "SELECT * FROM {{ ref('a') }} JOIN {{ref( 'b' )}} USING (id), {{ source('raw') }}",
    )
    assert model.refs == {"a", "b"} and model.sources == {"raw"}
    assert (model.materialized, model.unique_key) == ("incremental", "id")
    rendered = model.render({"raw": "source__raw"})
    assert rendered == 'SELECT * FROM "a" JOIN "b" USING (id), "source__raw"'


def test_models_run_after_what_they_ref() -> None:
    models = {
        "c": Model.parse("c", "SELECT * FROM {{ ref('b') }}"),
        "b": Model.parse("b", "SELECT * FROM {{ ref('a') }} JOIN {{ ref('seed') }} ON true"),
        "a": Model.parse("a", "SELECT 1 AS x"),
        "d": Model.parse("d", "SELECT * FROM {{ ref('a') }}"),
    }
    assert topological_order(models, seeds=["seed"]) == ["a", "b", "c", "d"]


def test_a_cycle_is_an_error_naming_it() -> None:
    models = {
        "a": Model.parse("a", "SELECT * FROM {{ ref('c') }}"),
        "b": Model.parse("b", "SELECT * FROM {{ ref('a') }}"),
        "c": Model.parse("c", "SELECT * FROM {{ ref('b') }}"),
    }
    with pytest.raises(SqlProjectError, match=r"cycle: a -> c -> b -> a"):
        topological_order(models)
    with pytest.raises(SqlProjectError, match="cycle"):
        SqlProject.from_sql({"x": "SELECT * FROM {{ ref('x') }}"})


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM {{ ref('nowhere') }}", "refs unknown nowhere"),
        ("{{ config(materialized='ephemeral') }} SELECT 1", "materialized must be"),
        ("{{ config(materialized='incremental') }} SELECT 1", "needs a unique_key"),
        ("{{ config(colour='red') }} SELECT 1", "unknown config"),
        ("SELECT {{ var('x') }}", "unsupported tag"),
    ],
)
def test_project_mistakes_are_reported(sql: str, message: str) -> None:
    with pytest.raises(SqlProjectError, match=message):
        SqlProject.from_sql({"m": sql})


def test_views_tables_sources_and_variables(con: duckdb.DuckDBPyConnection) -> None:
    project = SqlProject.from_sql(
        {
            "doubled": "{{ config(materialized='view') }} "
            "SELECT n * 2 AS n FROM {{ source('numbers') }}",
            "total": "SELECT sum(n) * getvariable('factor') AS total FROM {{ ref('doubled') }}",
            "constant": "SELECT 42 AS answer",
        }
    )
    session = project.session(con)
    assert con.sql("SELECT answer FROM constant").fetchall() == [(42,)]  # built at setup
    session.run({"numbers": pa.table({"n": [1, 2, 3]})}, {"factor": 10})
    assert con.sql("SELECT total FROM total").fetchall() == [(120,)]
    session.run({"numbers": pa.table({"n": [5]})}, {"factor": 1})
    assert con.sql("SELECT total FROM total").fetchall() == [(10,)]
    with pytest.raises(SqlProjectError, match="needs sources"):
        session.run({}, {})


def test_incremental_models_merge_new_over_old_and_count(con: duckdb.DuckDBPyConnection) -> None:
    project = SqlProject.from_sql(
        {
            "people": "{{ config(materialized='incremental', unique_key='id') }} "
            "SELECT * FROM {{ source('batch') }}",
            "seen": "{{ config(materialized='incremental', unique_key='id') }} "
            "SELECT DISTINCT id FROM {{ source('batch') }}",
        }
    )
    session = project.session(con)
    first = pa.table({"id": [1, 2], "name": ["Ann", "Bob"], "city": ["Oslo", None]})
    result = session.run({"batch": first})
    assert (result.incremental["people"].inserted, result.incremental["people"].updated) == (2, 0)
    second = pa.table({"id": [2, 3], "name": [None, "Cy"], "city": ["Rome", None]})
    result = session.run({"batch": second})
    assert (result.incremental["people"].inserted, result.incremental["people"].updated) == (1, 1)
    assert (result.incremental["seen"].inserted, result.incremental["seen"].updated) == (1, 1)
    rows = con.sql("SELECT id, name, city FROM people ORDER BY id").fetchall()
    assert rows == [(1, "Ann", "Oslo"), (2, "Bob", "Rome"), (3, "Cy", None)]


def test_seeds_and_macros_of_a_project_folder(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "seeds").mkdir()
    (tmp_path / "macros").mkdir()
    (tmp_path / "seeds" / "colours.csv").write_text("name,code\nred,01\nblue,02\n")
    (tmp_path / "macros" / "shout.sql").write_text("CREATE OR REPLACE MACRO shout(x) AS upper(x);")
    (tmp_path / "models" / "loud.sql").write_text(
        "SELECT shout(name) AS name, code FROM {{ ref('colours') }} ORDER BY code"
    )
    SqlProject.load(tmp_path).session(con)
    assert con.sql("SELECT * FROM loud").fetchall() == [("RED", "01"), ("BLUE", "02")]


def test_the_package_project_loads_in_a_sound_order() -> None:
    project = SqlProject.load()
    order = list(project.order)
    for name in order:
        for dependency in project.models[name].refs - set(project.seeds):
            assert order.index(dependency) < order.index(name)
    assert {"countries", "header_aliases", "seniorities"} <= set(project.seeds)
    # Lookups derived from seeds are built once per session, not per batch.
    assert "country_aliases" not in project.depends_on_source()
    assert "parsed_rows" in project.depends_on_source()


def test_a_macro_may_read_a_static_model(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    for folder in ("models", "seeds", "macros"):
        (tmp_path / folder).mkdir()
    (tmp_path / "seeds" / "colours.csv").write_text("name,code\nRed,01\nBlue,02\n")
    (tmp_path / "models" / "codes.sql").write_text(
        "SELECT lower(name) AS name, code FROM {{ ref('colours') }}"
    )
    (tmp_path / "models" / "used.sql").write_text(
        "SELECT v, colour_code(v) AS code FROM {{ source('rows') }}"
    )
    (tmp_path / "macros" / "codes.sql").write_text(
        "CREATE OR REPLACE MACRO colour_code(v) AS "
        "(SELECT c.code FROM {{ ref('codes') }} c WHERE c.name = lower(v));"
    )
    project = SqlProject.load(tmp_path)
    session = project.session(con)
    session.run({"rows": pa.table({"v": ["RED", "green"]})})
    assert con.sql("SELECT * FROM used ORDER BY v").fetchall() == [("RED", "01"), ("green", None)]
    # a subset keeps what its macros read, and runs nothing else
    small = project.subset([])
    assert set(small.models) == {"codes"}
    assert set(project.subset(["used"]).models) == {"codes", "used"}
    with pytest.raises(SqlProjectError, match="no model named"):
        project.subset(["nope"])


def test_a_macro_reading_a_per_run_model_is_refused(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    project = SqlProject.from_sql(
        {"batch_rows": "SELECT * FROM {{ source('rows') }}"},
        ["CREATE OR REPLACE MACRO n() AS (SELECT count(*) FROM {{ ref('batch_rows') }});"],
    )
    with pytest.raises(SqlProjectError, match="batch_rows"):
        project.session(con)

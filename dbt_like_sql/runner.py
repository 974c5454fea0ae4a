"""A small dbt-like runner: SQL models with refs, seeds and macros, run on DuckDB.

A project is a folder with `models/*.sql` (one SELECT per file, named after the file),
`seeds/*.csv` (lookup tables, loaded as all-text tables) and `macros/*.sql` (DuckDB
`CREATE MACRO` statements; a macro may read a model that depends on no source through
`{{ ref('name') }}`, and is then created once that model is built). Inside a model,
`{{ ref('name') }}` names another model or a seed, `{{ source('name') }}` an input the
caller registers for each run, `{{ this }}` the model itself, and
`{{ config(materialized='...', unique_key='...') }}` says how to keep it:

- `view` / `table`: replaced on every run;
- `incremental` (needs `unique_key`, unique in each run's rows): kept across runs on the
  same connection; each run's rows are merged in by key, a new non-null value winning over
  the kept one per column (the same COALESCE(new, old) rule the stores apply), and the run
  reports how many keys were inserted and how many updated.

Models that depend on no source (lookups derived from seeds) are built once per session;
the others are rebuilt on every run, in dependency order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

PROJECT_DIR = Path(__file__).resolve().parent
_TAG = re.compile(r"\{\{\s*(\w+)\s*\((.*?)\)\s*\}\}|\{\{\s*this\s*\}\}", re.S)
_ARG = re.compile(r"\s*(?:(\w+)\s*=\s*)?'([^']*)'\s*(?:,|$)")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_MATERIALIZATIONS = ("view", "table", "incremental")


# Every identifier put into SQL here comes from the project's own files (model, seed and
# column names) and is quoted with quote_ident; values travel as bound parameters.


class SqlProjectError(Exception):
    """The project itself is wrong: an unknown ref, a cycle, a bad config."""


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Model:
    name: str
    template: str
    refs: frozenset[str]
    sources: frozenset[str]
    materialized: str = "table"
    unique_key: str | None = None

    @classmethod
    def parse(cls, name: str, template: str) -> Model:
        if not _NAME.fullmatch(name):
            raise SqlProjectError(f"model name {name!r} is not a lowercase identifier")
        refs: set[str] = set()
        sources: set[str] = set()
        config: dict[str, str] = {}
        for match in _TAG.finditer(template):
            function, raw_args = match.group(1), match.group(2)
            if function is None:  # {{ this }}
                continue
            positional, keywords = _parse_args(name, raw_args)
            if function == "ref" and len(positional) == 1 and not keywords:
                refs.add(positional[0])
            elif function == "source" and len(positional) == 1 and not keywords:
                sources.add(positional[0])
            elif function == "config" and not positional:
                config.update(keywords)
            else:
                raise SqlProjectError(f"model {name}: unsupported tag {match.group(0)!r}")
        materialized = config.pop("materialized", "table")
        unique_key = config.pop("unique_key", None)
        if config:
            raise SqlProjectError(f"model {name}: unknown config keys {sorted(config)}")
        if materialized not in _MATERIALIZATIONS:
            raise SqlProjectError(f"model {name}: materialized must be one of {_MATERIALIZATIONS}")
        if materialized == "incremental" and not unique_key:
            raise SqlProjectError(f"model {name}: an incremental model needs a unique_key")
        return cls(name, template, frozenset(refs), frozenset(sources), materialized, unique_key)

    def render(self, source_relations: Mapping[str, str]) -> str:
        def replace(match: re.Match[str]) -> str:
            function = match.group(1)
            if function is None:
                return quote_ident(self.name)
            if function == "config":
                return ""
            (argument,), _ = _parse_args(self.name, match.group(2))
            if function == "ref":
                return quote_ident(argument)
            return quote_ident(source_relations[argument])

        return _TAG.sub(replace, self.template).strip().rstrip(";")


def _parse_args(model: str, raw: str) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    keywords: dict[str, str] = {}
    position = 0
    raw = raw.strip()
    while position < len(raw):
        match = _ARG.match(raw, position)
        if match is None:
            raise SqlProjectError(f"model {model}: cannot read arguments {raw!r}")
        if match.group(1):
            keywords[match.group(1)] = match.group(2)
        else:
            positional.append(match.group(2))
        position = match.end()
    return positional, keywords


def macro_refs(sql: str) -> frozenset[str]:
    """The models a macro file reads; refs are the only tag a macro may use."""
    refs = set()
    for match in _TAG.finditer(sql):
        positional, keywords = _parse_args("macro", match.group(2) or "")
        if match.group(1) != "ref" or len(positional) != 1 or keywords:
            raise SqlProjectError(f"a macro may only use ref tags, got {match.group(0)!r}")
        refs.add(positional[0])
    return frozenset(refs)


def render_macro(sql: str) -> str:
    return _TAG.sub(lambda m: quote_ident(_parse_args("macro", m.group(2))[0][0]), sql)


def topological_order(models: Mapping[str, Model], seeds: Iterable[str] = ()) -> list[str]:
    """Models after everything they ref; ties broken by name so the order is stable."""
    known = set(models) | set(seeds)
    for model in models.values():
        missing = sorted(model.refs - known)
        if missing:
            raise SqlProjectError(f"model {model.name} refs unknown {', '.join(missing)}")
    order: list[str] = []
    done: set[str] = set(seeds)
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name) :] + [name]
            raise SqlProjectError("models ref each other in a cycle: " + " -> ".join(cycle))
        visiting.append(name)
        for dependency in sorted(models[name].refs):
            visit(dependency)
        visiting.pop()
        done.add(name)
        order.append(name)

    for name in sorted(models):
        visit(name)
    return order


@dataclass(frozen=True)
class SqlProject:
    models: dict[str, Model]
    seeds: dict[str, Path]
    macros: tuple[str, ...]
    order: tuple[str, ...]

    @classmethod
    def load(cls, path: Path = PROJECT_DIR) -> SqlProject:
        models = {
            p.stem: Model.parse(p.stem, p.read_text(encoding="utf-8"))
            for p in sorted((path / "models").glob("*.sql"))
        }
        seeds = {p.stem: p for p in sorted((path / "seeds").glob("*.csv"))}
        clash = sorted(set(models) & set(seeds))
        if clash:
            raise SqlProjectError(f"names used by both a model and a seed: {clash}")
        macros = tuple(
            p.read_text(encoding="utf-8") for p in sorted((path / "macros").glob("*.sql"))
        )
        return cls(models, seeds, macros, tuple(topological_order(models, seeds)))

    @classmethod
    def from_sql(cls, models: Mapping[str, str], macros: Iterable[str] = ()) -> SqlProject:
        """A project held in memory (for tests and one-off transforms)."""
        parsed = {name: Model.parse(name, sql) for name, sql in models.items()}
        return cls(parsed, {}, tuple(macros), tuple(topological_order(parsed)))

    def subset(self, targets: Iterable[str]) -> SqlProject:
        """The project cut down to ``targets`` and the models they ref, directly or not
        (seeds and macros kept): a session of it runs only what those models need."""
        wanted: set[str] = set()
        pending = [*targets, *(r for sql in self.macros for r in macro_refs(sql))]
        while pending:
            name = pending.pop()
            if name in wanted or name in self.seeds:
                continue
            if name not in self.models:
                raise SqlProjectError(f"no model named {name!r}")
            wanted.add(name)
            pending.extend(self.models[name].refs)
        models = {n: m for n, m in self.models.items() if n in wanted}
        order = tuple(n for n in self.order if n in wanted)
        return SqlProject(models, self.seeds, self.macros, order)

    def depends_on_source(self) -> set[str]:
        """Models that read a source, directly or through refs: rebuilt on every run."""
        result: set[str] = set()
        for name in self.order:
            model = self.models[name]
            if model.sources or model.refs & result or model.materialized == "incremental":
                result.add(name)
        return result

    def session(self, con: duckdb.DuckDBPyConnection) -> SqlSession:
        return SqlSession(self, con)


@dataclass
class IncrementalStats:
    inserted: int = 0
    updated: int = 0


@dataclass
class RunResult:
    incremental: dict[str, IncrementalStats] = field(default_factory=dict)


class SqlSession:
    """One project on one DuckDB connection: macros, seeds and static models set up once."""

    def __init__(self, project: SqlProject, con: duckdb.DuckDBPyConnection) -> None:
        self.project = project
        self.con = con
        self._per_run = project.depends_on_source()
        self._columns: dict[str, list[str]] = {}  # incremental models' columns, once known
        waiting: list[tuple[str, frozenset[str]]] = []
        for sql in project.macros:
            refs = macro_refs(sql)
            if refs:
                waiting.append((render_macro(sql), refs))
            else:
                _execute(con, sql)
        for name, path in project.seeds.items():
            _execute(
                con,
                f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS "  # noqa: S608 - quoted name
                "SELECT * FROM read_csv(?, header = true, all_varchar = true)",
                [str(path)],
            )
        built = set(project.seeds)
        waiting = self._create_macros(waiting, built)
        for name in project.order:
            if name not in self._per_run:
                self._build(project.models[name], {}, RunResult())
                built.add(name)
                waiting = self._create_macros(waiting, built)
        if waiting:
            missing = sorted(set().union(*(refs for _, refs in waiting)) - built)
            raise SqlProjectError(f"macros ref {missing}: not models built before runs")

    def _create_macros(
        self, waiting: list[tuple[str, frozenset[str]]], built: set[str]
    ) -> list[tuple[str, frozenset[str]]]:
        """Creates the waiting macros whose refs are built; returns the others."""
        for sql, refs in waiting:
            if refs <= built:
                _execute(self.con, sql)
        return [(sql, refs) for sql, refs in waiting if not refs <= built]

    def run(
        self, sources: Mapping[str, Any], variables: Mapping[str, Any] | None = None
    ) -> RunResult:
        """Registers the sources (Arrow tables), sets the variables, runs the models."""
        for name, value in (variables or {}).items():
            if not _NAME.fullmatch(name):
                raise SqlProjectError(f"variable name {name!r} is not an identifier")
            _execute(self.con, f"SET VARIABLE {name} = ?", [value])
        relations = {}
        for name, data in sources.items():
            relation = f"source__{name}"
            self.con.register(relation, data)
            relations[name] = relation
        result = RunResult()
        try:
            for name in self.project.order:
                if name in self._per_run:
                    self._build(self.project.models[name], relations, result)
        finally:
            for relation in relations.values():
                self.con.unregister(relation)
        return result

    def _build(self, model: Model, sources: Mapping[str, str], result: RunResult) -> None:
        missing = sorted(model.sources - set(sources))
        if missing:
            raise SqlProjectError(f"model {model.name} needs sources {missing}")
        sql = model.render(sources)
        target = quote_ident(model.name)
        if model.materialized == "view":
            _execute(self.con, f"CREATE OR REPLACE TEMP VIEW {target} AS {sql}")
        elif model.materialized == "table":
            _execute(self.con, f"CREATE OR REPLACE TEMP TABLE {target} AS {sql}")
        else:
            result.incremental[model.name] = self._merge(model, sql)

    def _merge(self, model: Model, sql: str) -> IncrementalStats:
        """Merges the run's rows into the kept table by key, with hash joins only: an index
        on the key would make each run's inserts slower as the table grows."""
        assert model.unique_key is not None
        con, target = self.con, quote_ident(model.name)
        incoming = quote_ident(f"{model.name}__incoming")
        matched = quote_ident(f"{model.name}__matched")
        _execute(con, f"CREATE OR REPLACE TEMP TABLE {incoming} AS {sql}")
        if model.name not in self._columns:
            names = [row[0] for row in con.execute(f"DESCRIBE {incoming}").fetchall()]
            if model.unique_key not in names:
                raise SqlProjectError(f"model {model.name} has no column {model.unique_key}")
            _execute(con, f"CREATE TEMP TABLE IF NOT EXISTS {target} AS FROM {incoming} LIMIT 0")
            self._columns[model.name] = names
        key = quote_ident(model.unique_key)
        others = [quote_ident(n) for n in self._columns[model.name] if n != model.unique_key]
        updated = 0
        if others:
            merged = ", ".join(f"coalesce(i.{c}, t.{c}) AS {c}" for c in others)
            _execute(
                con,
                f"CREATE OR REPLACE TEMP TABLE {matched} AS SELECT i.{key}, {merged} "  # noqa: S608
                f"FROM {incoming} i JOIN {target} t ON t.{key} = i.{key}",
            )
            updated = _count(con, matched)
            if updated:
                stale = f"{key} IN (FROM {matched} SELECT {key})"
                _execute(con, f"DELETE FROM {target} WHERE {stale}")  # noqa: S608 - quoted names
                _execute(con, f"INSERT INTO {target} BY NAME FROM {matched}")
        inserted = _execute(
            con,
            f"INSERT INTO {target} BY NAME SELECT i.* FROM {incoming} i "  # noqa: S608
            f"ANTI JOIN {target} t ON t.{key} = i.{key}",
        )
        if not others:
            updated = _count(con, incoming) - inserted
        _execute(con, f"DROP TABLE {incoming}")
        return IncrementalStats(inserted=inserted, updated=updated)


def _execute(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    """Runs a statement to completion (DuckDB 2 refuses new work while a result is open);
    returns the affected row count when the statement reports one."""
    rows = con.execute(sql, params or []).fetchall()
    return int(rows[0][0]) if rows and rows[0] and isinstance(rows[0][0], int) else 0


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    rows = con.execute(f"FROM {relation} SELECT count(*)").fetchall()
    return int(rows[0][0]) if rows else 0

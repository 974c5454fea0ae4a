"""Environment (and .env) -> one validated Settings object.

The variable names are those of Connectra's Go version (DESIGN.md section 3), so an existing
.env works unchanged; DATABASE_URL and SEARCH_URL are accepted as alternatives. Secrets are
wrapped in Secret, whose repr and str are masked, so printing or logging Settings (or an
exception that carries it) never shows a password or an API key.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from dotenv import dotenv_values

Profile = Literal["embedded", "production"]
SearchEngine = Literal["elasticsearch", "opensearch", "duckdb"]
EMBEDDED_API_KEY_FILE = "api_key"
_TRUE = {"1", "true", "yes", "on", "require"}
_FALSE = {"0", "false", "no", "off", "", "disable"}


class ConfigError(ValueError):
    """Every configuration problem found, each naming the variable and what it accepts."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))
        self.problems = problems


class Secret:
    """A string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    database: str
    username: str
    password: Secret
    ssl: bool = False

    def url(self, driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL; hand it to create_engine, never to a log line."""
        auth = f"{quote(self.username, safe='')}:{quote(self.password.get(), safe='')}"
        query = "?sslmode=require" if self.ssl else ""
        return f"{driver}://{auth}@{self.host}:{self.port}/{quote(self.database)}{query}"

    def libpq_url(self) -> str:
        return self.url("postgresql")


@dataclass(frozen=True)
class SearchSettings:
    host: str
    port: int
    username: str | None = None
    password: Secret | None = None
    ssl: bool = False
    engine: SearchEngine | None = None  # None: detect from the server
    # More nodes of the same cluster: the clients spread requests over all of them and
    # retry a request on another node when one does not answer.
    more_hosts: tuple[tuple[str, int], ...] = ()

    @property
    def url(self) -> str:
        return self.urls[0]

    @property
    def urls(self) -> list[str]:
        scheme = "https" if self.ssl else "http"
        return [f"{scheme}://{h}:{p}" for h, p in ((self.host, self.port), *self.more_hosts)]

    @property
    def where(self) -> str:
        """The nodes, for messages (never credentials)."""
        return ",".join(f"{h}:{p}" for h, p in ((self.host, self.port), *self.more_hosts))


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    prefix: str
    region: str
    access_key: Secret | None = None
    secret_key: Secret | None = None
    endpoint: str | None = None
    # The landing sensor's listing: each S3 request gets this long to connect and to answer,
    # 2 attempts, so a hung endpoint skips a tick in about twice this (Dagster gives a sensor
    # tick 60 s). The loader's reads keep their own, longer timeouts.
    list_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Settings:
    home: Path
    api_keys: tuple[Secret, ...] = ()
    max_requests_per_minute: int = 1000
    postgres: PostgresSettings | None = None
    search: SearchSettings | None = None
    s3: S3Settings | None = None
    parallel_jobs: int = 4
    batch_size_for_insertion: int = 500
    ticker_interval_minutes: float = 5.0
    job_in_queue_size: int = 100
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    dagster_port: int = 3000
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    cursor_secret: Secret | None = None
    search_index_prefix: str = ""
    # Exports (stores/exports): how long a finished export's file is kept, and how long a
    # download link stays valid (at most until the file is removed).
    export_retention_hours: float = 24.0
    export_link_seconds: int = 3600
    # The embedded store's filter cache (stores/duckdb/filters.py), per API process; 0: off.
    filter_cache_mb: int = 64

    @property
    def profile(self) -> Profile:
        return "production" if self.postgres is not None else "embedded"

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.home / "connectra.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def __repr__(self) -> str:
        parts = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"Settings({parts})"


def services_env_path(repo_root: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Where tools/services.sh writes (and the tests and bench read) the local services'
    variables; one rule for all three: CONNECTRA_SERVICES_ENV if set, else services.env in
    CONNECTRA_HOME (default: the repository's .connectra)."""
    env = os.environ if environ is None else environ
    if env.get("CONNECTRA_SERVICES_ENV"):
        return Path(env["CONNECTRA_SERVICES_ENV"]).expanduser().resolve()
    home = Path(env.get("CONNECTRA_HOME") or repo_root / ".connectra").expanduser().resolve()
    return home / "services.env"


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Reads the process environment (and .env, which the environment overrides)."""
    values: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return settings_from_mapping(values)


def settings_from_mapping(env: Mapping[str, str]) -> Settings:
    """Builds Settings from a plain mapping; raises ConfigError listing every problem."""
    reader = _Reader(env)
    postgres = _postgres(reader)
    search = _search(reader)
    if (postgres is None) != (search is None):
        missing = "a search engine (ELASTICSEARCH_HOST or SEARCH_URL)" if search is None else (
            "PostgreSQL (PG_DB_HOST or DATABASE_URL)"
        )
        reader.problems.append(
            f"the production profile needs PostgreSQL and a search engine together; {missing}"
            " is not set (unset both for the embedded DuckDB profile)"
        )
    embedded = postgres is None
    home = Path(env.get("CONNECTRA_HOME") or ".connectra").expanduser().resolve()
    keys = tuple(Secret(k.strip()) for k in env.get("API_KEY", "").split(",") if k.strip())
    if not keys and embedded and (home / EMBEDDED_API_KEY_FILE).is_file():
        # The key `connectra up` generated on the first embedded start.
        keys = (Secret((home / EMBEDDED_API_KEY_FILE).read_text().strip()),)
    if not keys and not embedded:
        reader.problems.append("API_KEY is required outside the embedded profile")
    settings = Settings(
        home=home,
        api_keys=keys,
        max_requests_per_minute=reader.integer("MAX_REQUESTS_PER_MINUTE", 1000, minimum=1),
        postgres=postgres,
        search=search,
        s3=_s3(reader),
        parallel_jobs=reader.integer("PARALLEL_JOBS", 4, minimum=1),
        batch_size_for_insertion=reader.integer("BATCH_SIZE_FOR_INSERTION", 500, minimum=1),
        ticker_interval_minutes=reader.number(
            "TICKER_INTERVAL_MINUTES", 0.5 if embedded else 5.0, minimum=0.05
        ),
        job_in_queue_size=reader.integer("JOB_IN_QUEUE_SIZE", 100, minimum=1),
        api_host=env.get("API_HOST") or "127.0.0.1",
        api_port=reader.integer("API_PORT", 8000, minimum=1, maximum=65535),
        dagster_port=reader.integer("DAGSTER_PORT", 3000, minimum=1, maximum=65535),
        cors_origins=tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()),
        cursor_secret=Secret(env["CURSOR_SECRET"]) if env.get("CURSOR_SECRET") else None,
        search_index_prefix=reader.get("SEARCH_INDEX_PREFIX") or "",
        export_retention_hours=reader.number("EXPORT_RETENTION_HOURS", 24.0, minimum=0.01),
        export_link_seconds=reader.integer(
            "EXPORT_LINK_SECONDS", 3600, minimum=60, maximum=7 * 24 * 3600
        ),
        filter_cache_mb=reader.integer("FILTER_CACHE_MB", 64, minimum=0),
    )
    if reader.problems:
        raise ConfigError(reader.problems)
    return settings


class _Reader:
    """Reads typed values, collecting problems instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.env.get(name)
        return value.strip() if value and value.strip() else None

    def integer(self, name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name} must be a whole number, got {raw!r}")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            self.problems.append(f"{name} must be at least {minimum}{upper}, got {value}")
        return value

    def number(self, name: str, default: float, minimum: float) -> float:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name} must be a number, got {raw!r}")
            return default
        if value < minimum:
            self.problems.append(f"{name} must be at least {minimum}, got {value}")
        return value

    def flag(self, name: str) -> bool:
        raw = (self.get(name) or "").lower()
        if raw in _TRUE:
            return True
        if raw not in _FALSE:
            self.problems.append(f"{name} must be true or false, got {raw!r}")
        return False


def _postgres(r: _Reader) -> PostgresSettings | None:
    url = r.get("DATABASE_URL")
    if url:
        parts = urlsplit(url)
        if parts.scheme.split("+")[0] not in {"postgres", "postgresql"} or not parts.hostname:
            r.problems.append("DATABASE_URL must look like postgresql://user:password@host:5432/db")
            return None
        return PostgresSettings(
            host=parts.hostname,
            port=parts.port or 5432,
            database=unquote(parts.path.lstrip("/")) or "postgres",
            username=unquote(parts.username or "postgres"),
            password=Secret(unquote(parts.password or "")),
            ssl="sslmode=require" in parts.query or "sslmode=verify" in parts.query,
        )
    host = r.get("PG_DB_HOST")
    if host is None:
        return None
    return PostgresSettings(
        host=host,
        port=r.integer("PG_DB_PORT", 5432, minimum=1, maximum=65535),
        database=r.get("PG_DB_DATABASE") or "postgres",
        username=r.get("PG_DB_USERNAME") or "postgres",
        password=Secret(r.env.get("PG_DB_PASSWORD", "")),
        ssl=r.flag("PG_DB_SSL"),
    )


def _search(r: _Reader) -> SearchSettings | None:
    engine_raw = (r.get("SEARCH_ENGINE") or "").lower()
    engine: SearchEngine | None = None
    if engine_raw in {"elasticsearch", "opensearch"}:
        engine = engine_raw  # type: ignore[assignment]
    elif engine_raw == "duckdb":
        return None
    elif engine_raw:
        r.problems.append(
            f"SEARCH_ENGINE must be elasticsearch, opensearch or duckdb, got {engine_raw!r}"
        )
    url = r.get("SEARCH_URL")
    if url:
        first, *others = [u.strip() for u in url.split(",") if u.strip()] or [""]
        parts = urlsplit(first)
        nodes = [urlsplit(u) for u in others]
        if any(p.scheme not in {"http", "https"} or not p.hostname for p in (parts, *nodes)):
            r.problems.append(
                "SEARCH_URL must look like http://user:password@host:9200 (more nodes of the "
                "cluster after commas: ,http://host2:9200)"
            )
            return None
        return SearchSettings(
            host=parts.hostname or "",
            port=parts.port or 9200,
            username=unquote(parts.username) if parts.username else None,
            password=Secret(unquote(parts.password)) if parts.password else None,
            ssl=parts.scheme == "https",
            engine=engine,
            more_hosts=tuple((p.hostname or "", p.port or 9200) for p in nodes),
        )
    host = r.get("ELASTICSEARCH_HOST")
    if host is None:
        return None
    auth = (r.get("ELASTICSEARCH_AUTH") or "").lower()
    username = r.get("ELASTICSEARCH_USERNAME")
    password = r.env.get("ELASTICSEARCH_PASSWORD")
    if auth in {"none", "false", "0"}:
        username, password = None, None
    port = r.integer("ELASTICSEARCH_PORT", 9200, minimum=1, maximum=65535)
    # One host, or the nodes of a cluster separated by commas, each maybe with its :port.
    hosts: list[tuple[str, int]] = []
    for item in (h.strip() for h in host.split(",") if h.strip()):
        node = urlsplit("//" + item.removeprefix("http://").removeprefix("https://"))
        try:
            hosts.append((node.hostname or "", node.port or port))
        except ValueError:
            r.problems.append(f"ELASTICSEARCH_HOST has a bad port in {item!r}")
            return None
    if not hosts or not all(h for h, _ in hosts):
        r.problems.append("ELASTICSEARCH_HOST must name a host (or hosts, comma-separated)")
        return None
    (first_host, first_port), *more_hosts = hosts
    return SearchSettings(
        host=first_host,
        port=first_port,
        username=username,
        password=Secret(password) if password else None,
        ssl=r.flag("ELASTICSEARCH_SSL") or host.startswith("https://"),
        engine=engine,
        more_hosts=tuple(more_hosts),
    )


def _s3(r: _Reader) -> S3Settings | None:
    bucket = r.get("S3_BUCKET")
    if bucket is None:
        return None
    prefix = r.get("S3_PREFIX") or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    access, secret = r.get("S3_ACCESS_KEY"), r.env.get("S3_SECRET_KEY")
    return S3Settings(
        bucket=bucket,
        prefix=prefix.lstrip("/"),
        region=r.get("S3_REGION") or "us-east-1",
        access_key=Secret(access) if access else None,
        secret_key=Secret(secret) if secret else None,
        endpoint=r.get("S3_ENDPOINT"),
        list_timeout_seconds=_list_timeout(r),
    )


S3_LIST_TIMEOUT_MAX = 25.0  # 2 attempts must end inside Dagster's 60 s sensor timeout


def _list_timeout(r: _Reader) -> float:
    value = r.number("S3_LIST_TIMEOUT_SECONDS", 10.0, minimum=0.5)
    if value > S3_LIST_TIMEOUT_MAX:
        r.problems.append(
            f"S3_LIST_TIMEOUT_SECONDS must be at most {S3_LIST_TIMEOUT_MAX:g} (2 attempts must "
            f"end inside Dagster's 60 s sensor tick timeout), got {value:g}"
        )
    return value


def ensure_api_key(settings: Settings) -> Settings:
    """The embedded profile without API_KEY: a generated key kept in CONNECTRA_HOME/api_key
    (created once, mode 0600, printed when created), so the API is never open."""
    if settings.api_keys or settings.profile != "embedded":
        return settings
    path = settings.home / EMBEDDED_API_KEY_FILE
    if path.is_file():
        key = path.read_text().strip()
    else:
        key = secrets.token_urlsafe(24)
        settings.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
        print(f"Generated an API key (kept in {path}): {key}", file=sys.stderr)
    return replace(settings, api_keys=(Secret(key),))

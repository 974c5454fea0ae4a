from __future__ import annotations

import logging
from pathlib import Path

import pytest

from stores.settings import ConfigError, load_settings, settings_from_mapping

GO_ENV = {
    "API_KEY": "k-one, k-two",
    "PG_DB_HOST": "db.internal",
    "PG_DB_PORT": "5433",
    "PG_DB_DATABASE": "contacts",
    "PG_DB_USERNAME": "app",
    "PG_DB_PASSWORD": "pg-s3cret!",
    "PG_DB_SSL": "true",
    "ELASTICSEARCH_HOST": "search.internal",
    "ELASTICSEARCH_PORT": "9243",
    "ELASTICSEARCH_USERNAME": "elastic",
    "ELASTICSEARCH_PASSWORD": "es-s3cret!",
    "ELASTICSEARCH_SSL": "true",
    "S3_ACCESS_KEY": "AKIAEXAMPLE",
    "S3_SECRET_KEY": "s3-s3cret!",
    "S3_REGION": "eu-west-1",
    "S3_BUCKET": "landing",
    "S3_PREFIX": "incoming",
    "PARALLEL_JOBS": "2",
    "BATCH_SIZE_FOR_INSERTION": "1000",
    "TICKER_INTERVAL_MINUTES": "1",
}
SECRETS = ["k-one", "k-two", "pg-s3cret!", "es-s3cret!", "s3-s3cret!", "AKIAEXAMPLE"]


def test_the_go_versions_env_gives_the_production_profile() -> None:
    s = settings_from_mapping(GO_ENV)
    assert s.profile == "production"
    assert [k.get() for k in s.api_keys] == ["k-one", "k-two"]
    assert s.postgres is not None and s.postgres.port == 5433 and s.postgres.ssl
    assert "sslmode=require" in s.postgres.url()
    assert s.search is not None and s.search.url == "https://search.internal:9243"
    assert s.s3 is not None and s.s3.prefix == "incoming/" and s.s3.region == "eu-west-1"
    assert (s.parallel_jobs, s.batch_size_for_insertion, s.ticker_interval_minutes) == (2, 1000, 1)


def test_nothing_configured_is_the_embedded_profile(tmp_path: Path) -> None:
    s = settings_from_mapping({"CONNECTRA_HOME": str(tmp_path)})
    assert s.profile == "embedded"
    assert s.landing_dir == tmp_path / "landing"
    assert s.ticker_interval_minutes == 0.5
    assert s.api_keys == ()


def test_the_filter_cache_is_sized_or_turned_off_by_filter_cache_mb(tmp_path: Path) -> None:
    from stores.factory import open_stores

    home = {"CONNECTRA_HOME": str(tmp_path), "CURSOR_SECRET": "s" * 32}
    default = open_stores(settings_from_mapping(home)).search
    sized = open_stores(settings_from_mapping({**home, "FILTER_CACHE_MB": "8"})).search
    off = open_stores(settings_from_mapping({**home, "FILTER_CACHE_MB": "0"})).search
    assert default.filter_cache.max_bytes == 64 << 20  # type: ignore[attr-defined]
    assert sized.filter_cache.max_bytes == 8 << 20  # type: ignore[attr-defined]
    assert off.filter_cache is None  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="FILTER_CACHE_MB"):
        settings_from_mapping({**home, "FILTER_CACHE_MB": "-1"})


def test_urls_are_alternatives() -> None:
    s = settings_from_mapping(
        {
            "API_KEY": "k",
            "DATABASE_URL": "postgresql://u:p%40ss@h:6543/db",
            "SEARCH_URL": "http://es:9200",
            "SEARCH_ENGINE": "opensearch",
        }
    )
    assert s.postgres is not None and s.postgres.password.get() == "p@ss"
    assert s.postgres.port == 6543 and s.postgres.database == "db"
    assert s.search is not None and s.search.engine == "opensearch"


def test_every_problem_is_reported_with_the_variable_name() -> None:
    with pytest.raises(ConfigError) as err:
        settings_from_mapping(
            {"PG_DB_HOST": "h", "PG_DB_PORT": "x", "PARALLEL_JOBS": "0", "SEARCH_ENGINE": "solr"}
        )
    text = str(err.value)
    for name in ["PG_DB_PORT", "PARALLEL_JOBS", "SEARCH_ENGINE", "API_KEY", "search engine"]:
        assert name in text


def test_secrets_never_print(caplog: pytest.LogCaptureFixture) -> None:
    s = settings_from_mapping(GO_ENV)
    logging.getLogger("test").warning("settings: %r / %s", s, s)
    for shown in (repr(s), str(s), caplog.text):
        for secret in SECRETS:
            assert secret not in shown


def test_environment_overrides_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("MAX_REQUESTS_PER_MINUTE=10\nPARALLEL_JOBS=3\n")
    s = load_settings({"PARALLEL_JOBS": "7", "CONNECTRA_HOME": str(tmp_path)}, dotenv=dotenv)
    assert (s.max_requests_per_minute, s.parallel_jobs) == (10, 7)


def test_a_search_cluster_is_given_as_a_list_of_nodes() -> None:
    base = {"API_KEY": "k", "DATABASE_URL": "postgresql://u:p@h/db"}
    s = settings_from_mapping({**base, "ELASTICSEARCH_HOST": "n1, n2:9201,https://n3",
                               "ELASTICSEARCH_PORT": "9243"})
    assert s.search is not None
    assert s.search.urls == ["http://n1:9243", "http://n2:9201", "http://n3:9243"]
    assert s.search.where == "n1:9243,n2:9201,n3:9243"
    s = settings_from_mapping({**base, "SEARCH_URL": "https://u:pw@a:9200,https://b:9300"})
    assert s.search is not None and s.search.urls == ["https://a:9200", "https://b:9300"]
    assert s.search.username == "u" and s.search.password is not None
    assert "pw" not in repr(s.search)
    for bad in ({"SEARCH_URL": "http://a:9200,b"}, {"SEARCH_URL": ","},
                {"ELASTICSEARCH_HOST": "a:port"}, {"ELASTICSEARCH_HOST": ","}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            settings_from_mapping({**base, **bad})

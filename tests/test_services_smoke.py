"""The three loopback services answer for real: the foundation every other test stands on."""

from __future__ import annotations

from typing import Any

import psycopg
import pyarrow.csv as pacsv
import pyarrow.fs as pafs

from tests.conftest import Services


def test_postgres_round_trips_a_table(pg_database: str) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE smoke (id int PRIMARY KEY, tags text[], at timestamptz)")
        conn.execute(
            "INSERT INTO smoke VALUES (%s, %s, now()), (%s, %s, now())",
            (1, ["a", "b"], 2, []),
        )
        rows = conn.execute("SELECT id, tags FROM smoke ORDER BY id").fetchall()
    assert rows == [(1, ["a", "b"]), (2, [])]


def test_postgres_has_levenshtein_for_fuzzy_sql(pg_database: str) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
        assert conn.execute("SELECT levenshtein('engineer', 'enginer')").fetchone() == (1,)


def test_opensearch_ngram_substring_and_lowercase_keyword(
    opensearch: Any, unique_name: str
) -> None:
    body = {
        "settings": {
            "number_of_shards": 1,
            "number_of_replicas": 0,
            "analysis": {
                "tokenizer": {"tri": {"type": "ngram", "min_gram": 3, "max_gram": 3}},
                "analyzer": {"tri": {"tokenizer": "tri", "filter": ["lowercase"]}},
                "normalizer": {"lower": {"type": "custom", "filter": ["lowercase"]}},
            },
        },
        "mappings": {
            "properties": {
                "title": {
                    "type": "text",
                    "fields": {
                        "keyword": {"type": "keyword", "normalizer": "lower"},
                        "ngram": {"type": "text", "analyzer": "tri"},
                    },
                }
            }
        },
    }
    opensearch.indices.create(index=unique_name, body=body)
    try:
        for i, title in enumerate(["Senior Software Engineer", "VP of Sales", "Data Engineer"]):
            opensearch.index(index=unique_name, id=str(i), body={"title": title})
        opensearch.indices.refresh(index=unique_name)

        substring = opensearch.search(
            index=unique_name,
            body={"query": {"match_phrase": {"title.ngram": "ftware eng"}}},
        )
        assert [h["_id"] for h in substring["hits"]["hits"]] == ["0"]

        keyword = opensearch.search(
            index=unique_name, body={"query": {"term": {"title.keyword": "vp of sales"}}}
        )
        assert [h["_id"] for h in keyword["hits"]["hits"]] == ["1"]
    finally:
        opensearch.indices.delete(index=unique_name)


def test_csv_uploaded_to_s3_streams_back_through_pyarrow(
    s3: Any, services: Services, unique_name: str
) -> None:
    bucket = services.env["S3_BUCKET"]
    key = f"{unique_name}/people.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=b"email,city\na@x.io,Paris\nb@y.io,Oslo\n")
    endpoint = services.s3_endpoint.removeprefix("http://")
    fs = pafs.S3FileSystem(
        access_key=services.env["S3_ACCESS_KEY"],
        secret_key=services.env["S3_SECRET_KEY"],
        region=services.env["S3_REGION"],
        endpoint_override=endpoint,
        scheme="http",
    )
    with fs.open_input_stream(f"{bucket}/{key}") as stream:
        table = pacsv.open_csv(stream).read_all()
    assert table.column("email").to_pylist() == ["a@x.io", "b@y.io"]
    assert table.column("city").to_pylist() == ["Paris", "Oslo"]

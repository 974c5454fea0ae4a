"""The word rule (vql.text.WORD) against the engine, and what it costs DuckDB:
`python -m bench.word_rule [--survey]`.

Without options: `regexp_extract_all` with the pattern over 200k synthetic values (non-ASCII,
and ASCII with joiners), best of three, and the pattern's compile (one value, less a trivial
pattern's time), in ms.

`--survey`: asks the OpenSearch node of `make services` (`_analyze`, standard analyzer) about
every code point below U+F0000 but the surrogates, as `a?a`, `??`, `1?1` and `?`, 600 code
points a request (~75 s), and prints the ranges where vql.text.words differs, with an example
(README, "How text matching differs": the classes beyond Unicode's categories came from
this).
"""

from __future__ import annotations

import argparse
import bisect
import json
import time
import unicodedata
import urllib.request
from collections.abc import Callable
from functools import partial

import duckdb

from vql.sql_dialects import DUCKDB_WORD
from vql.text import words


def cost() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE non_ascii AS SELECT 'user' || i::VARCHAR || ' exämple.com é' AS v "
                "FROM range(200000) r(i)")
    con.execute("CREATE TABLE ascii AS SELECT 'user' || i::VARCHAR || ' john.doe example.com' "
                "AS v FROM range(200000) r(i)")
    for table in ("non_ascii", "ascii"):
        sql = f"SELECT sum(len(regexp_extract_all(lower(v), {DUCKDB_WORD}))) FROM {table}"  # noqa: S608
        print(f"{table}: {_best(partial(con.execute, sql)):.1f} ms / 200k values")
    word = _best(lambda: con.execute(
        f"SELECT regexp_extract_all('abc' || random()::VARCHAR, {DUCKDB_WORD})").fetchall(), 5)
    plain = _best(lambda: con.execute(
        "SELECT regexp_extract_all('abc' || random()::VARCHAR, 'a')").fetchall(), 5)
    print(f"compile: {word - plain:.1f} ms ({len(DUCKDB_WORD)} characters)")


def _best(call: Callable[[], object], times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def survey(host: str, port: int) -> None:
    def analyze(text: str) -> list[dict[str, object]]:
        request = urllib.request.Request(  # noqa: S310 (the local node of `make services`)
            f"http://{host}:{port}/_analyze",
            data=json.dumps({"analyzer": "standard", "text": text}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:  # noqa: S310
            tokens: list[dict[str, object]] = json.load(response)["tokens"]
            return tokens

    points = [c for c in range(0x21, 0xF0000) if not 0xD800 <= c <= 0xDFFF]
    differ: dict[int, tuple[str, list[str], list[str]]] = {}
    for i in range(0, len(points), 600):
        texts = [(c, t) for c in points[i:i + 600]
                 for t in (f"a{chr(c)}a", chr(c) * 2, f"1{chr(c)}1", chr(c))]
        starts, at = [], 0
        for _, t in texts:
            starts.append(at)
            at += len(t.encode("utf-16-le")) // 2 + 1  # the engine's offsets: UTF-16 units
        got: list[list[str]] = [[] for _ in texts]
        for token in analyze(" ".join(t for _, t in texts)):
            got[bisect.bisect_right(starts, int(str(token["start_offset"]))) - 1].append(
                str(token["token"]))
        for (c, text), engine in zip(texts, got, strict=True):
            if words(text) != engine and c not in differ:
                differ[c] = (text, engine, words(text))
    ranges: list[list[int]] = []
    for c in sorted(differ):
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    for first, last in ranges:
        text, engine, ours = differ[first]
        name = unicodedata.name(chr(first), "?")[:36]
        print(f"{first:05X}-{last:05X} {unicodedata.category(chr(first))} {name:36} "
              f"{text!r}: engine {engine}, here {ours}")
    print(f"{len(differ)} code points differ in {len(ranges)} ranges")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.word_rule", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--survey", action="store_true", help="compare with the engine's words")
    opts = p.parse_args()
    if not opts.survey:
        cost()
        return
    from bench.env import BenchEnv

    services = BenchEnv.load(None).services
    survey(services["ELASTICSEARCH_HOST"], int(services["ELASTICSEARCH_PORT"]))


if __name__ == "__main__":
    main()

"""The word rule (vql.text.WORD) against the engine, and what it costs DuckDB:
`python -m bench.word_rule [--survey]`.

Without options: the words of 200k synthetic values as SQL cuts them (non-ASCII, ASCII with
joiners, with emoji), best of three, and the patterns' compile (one value, less a trivial
pattern's time), in ms.

`--survey`: asks the OpenSearch node of `make services` (`_analyze`, standard analyzer) about
every code point below U+F0000 but the surrogates, as `a?a`, `??`, `1?1` and `?`, 600 code
points a request (~75 s), and prints the ranges where vql.text.words differs, with an example
(README, "How text matching differs": the classes beyond Unicode's categories came from
this). `--nothing`: the code points the engine answers as nothing in every probe while
vql.text.words makes something of them (vql.text._NEWER, as it is written there).
"""

from __future__ import annotations

import argparse
import bisect
import json
import time
import unicodedata
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from functools import partial

import duckdb
import regex

from vql.sql_dialects import DUCKDB_WORD, DUCKDB_WORD_WITH_EMOJI, _words_of_duckdb
from vql.text import _SCRIPTS, words


def cost() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE non_ascii AS SELECT 'user' || i::VARCHAR || ' exämple.com é' AS v "
                "FROM range(200000) r(i)")
    con.execute("CREATE TABLE ascii AS SELECT 'user' || i::VARCHAR || ' john.doe example.com' "
                "AS v FROM range(200000) r(i)")
    con.execute("CREATE TABLE emoji AS SELECT 'user' || i::VARCHAR || ' 🚀 team 👩🏾\u200d💻' "
                "AS v FROM range(200000) r(i)")
    for table in ("non_ascii", "ascii", "emoji"):
        sql = f"SELECT sum(len({_words_of_duckdb('v')})) FROM {table}"  # noqa: S608
        print(f"{table}: {_best(partial(con.execute, sql)):.1f} ms / 200k values")
    one = _words_of_duckdb("'abc' || random()::VARCHAR")
    word = _best(lambda: con.execute(f"SELECT {one}").fetchall(), 5)
    plain = _best(lambda: con.execute(
        "SELECT regexp_extract_all('abc' || random()::VARCHAR, 'a')").fetchall(), 5)
    print(f"compile: {word - plain:.1f} ms ({len(DUCKDB_WORD)} + {len(DUCKDB_WORD_WITH_EMOJI)}"
          " characters)")


def _best(call: Callable[[], object], times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best * 1000


PROBES = ("a{}a", "{}{}", "1{}1", "{}")
NOTHING = [["a", "a"], [], ["1", "1"], []]  # what the engine answers for a separator


def engine_answers(host: str, port: int) -> Iterator[tuple[int, list[str], list[list[str]]]]:
    """Each code point below U+F0000 (but the surrogates), its probes' texts and the
    engine's words of each, asked 600 code points a request."""
    def analyze(text: str) -> list[dict[str, object]]:
        request = urllib.request.Request(  # noqa: S310 (the local node of `make services`)
            f"http://{host}:{port}/_analyze",
            data=json.dumps({"analyzer": "standard", "text": text}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:  # noqa: S310
            tokens: list[dict[str, object]] = json.load(response)["tokens"]
            return tokens

    points = [c for c in range(0x21, 0xF0000) if not 0xD800 <= c <= 0xDFFF]
    for i in range(0, len(points), 600):
        texts = [p.replace("{}", chr(c)) for c in points[i:i + 600] for p in PROBES]
        starts, at = [], 0
        for t in texts:
            starts.append(at)
            at += len(t.encode("utf-16-le")) // 2 + 1  # the engine's offsets: UTF-16 units
        got: list[list[str]] = [[] for _ in texts]
        for token in analyze(" ".join(texts)):
            got[bisect.bisect_right(starts, int(str(token["start_offset"]))) - 1].append(
                str(token["token"]))
        for j, c in enumerate(points[i:i + 600]):
            n = len(PROBES)
            yield c, texts[j * n:(j + 1) * n], got[j * n:(j + 1) * n]


def _ranges(points: Iterable[int], key: Callable[[int], object] = lambda c: None
            ) -> list[list[int]]:
    """Consecutive code points as [first, last] ranges, cut where `key` changes."""
    ranges: list[list[int]] = []
    for c in sorted(points):
        if ranges and ranges[-1][1] == c - 1 and key(c) == key(ranges[-1][0]):
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return ranges


def survey(host: str, port: int) -> None:
    differ: dict[int, tuple[str, list[str], list[str]]] = {}
    for c, texts, engine in engine_answers(host, port):
        for text, want in zip(texts, engine, strict=True):
            if words(text) != want:
                differ[c] = (text, want, words(text))
                break
    ranges = _ranges(differ)
    for first, last in ranges:
        text, want, ours = differ[first]
        name = unicodedata.name(chr(first), "?")[:36]
        print(f"{first:05X}-{last:05X} {unicodedata.category(chr(first))} {name:36} "
              f"{text!r}: engine {want}, here {ours}")
    print(f"{len(differ)} code points differ in {len(ranges)} ranges")


def nothing(host: str, port: int) -> None:
    """vql.text._NEWER anew: the code points the engine answers as nothing in every probe
    while vql.text.words makes something of them, in ranges of one category and script."""
    found = [c for c, texts, engine in engine_answers(host, port)
             if engine == NOTHING and [words(t) for t in texts] != engine]
    props = [regex.compile(p).fullmatch for p in
             (r"\p{L}", r"\p{Nl}", r"\p{Nd}", r"\p{M}", r"\p{Cf}", r"\p{Katakana}", *_SCRIPTS)]
    ranges = _ranges(found, lambda c: tuple(bool(has(chr(c))) for has in props))
    print(", ".join(f"(0x{a:04X}, 0x{b:04X})" for a, b in ranges))
    print(f"{len(found)} code points in {len(ranges)} ranges")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.word_rule", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--survey", action="store_true", help="compare with the engine's words")
    p.add_argument("--nothing", action="store_true", help="print vql.text._NEWER anew")
    opts = p.parse_args()
    if not (opts.survey or opts.nothing):
        cost()
        return
    from bench.env import BenchEnv

    services = BenchEnv.load(None).services
    node = (services["ELASTICSEARCH_HOST"], int(services["ELASTICSEARCH_PORT"]))
    (survey if opts.survey else nothing)(*node)


if __name__ == "__main__":
    main()

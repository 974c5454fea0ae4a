"""Word rules shared by the SQL compiler and anyone checking its results.

The search engine splits text with the ``standard`` tokenizer (Unicode word boundaries,
UAX#29) and lowercases each word. :data:`WORD` is that rule as one regular expression, in
the syntax RE2 (DuckDB) and Python's ``regex`` module share: SQL cuts values with it
(:mod:`vql.sql_dialects`), :func:`words` cuts query text with it, so both sides of a SQL
text match see the words the engine sees:

- letters joined by ``' . : ·`` and their look-alikes (``o'neil``, ``john.doe``,
  ``example.com``), digits by ``. , ; '`` (``3.14``, ``1,000``); letters and digits run
  together (``a1``), connector punctuation (``_``) joins both (``foo_bar``), a word holds at
  least one letter or digit;
- combining marks and format characters (soft hyphen, zero-width joiners) stay with the
  character before them;
- Han ideographs and Hiragana are one word per character; a run of Katakana is one word; a
  run of Thai, Lao, Myanmar or Khmer is one word (no dictionary segmentation, as Lucene);
- everything else (spaces, punctuation, symbols) separates words.

What the expression leaves out (README, "How text matching differs"): emoji (the engine
keeps each as a word), Hebrew's quote rules (``צה"ל`` is one word there), Katakana joined to
Latin letters by ``_``, and the engine's cut of a word at 255 characters.
"""

from __future__ import annotations

import regex


def _set(*parts: str | int) -> str:
    """A character class: properties as written, code points as the characters themselves
    (RE2 and ``regex`` read literal characters alike; their escapes for them differ)."""
    return "[" + "".join(chr(p) if isinstance(p, int) else p for p in parts) + "]"


# Ideographs (Ideographic=Yes: the CJK blocks, 〆 〇 and Hangzhou numerals, not 々 or 〻,
# which are letters) and Hiragana; the scripts written without spaces.
_IDEOGRAPHS = (r"\p{Hiragana}", 0x3006, 0x3007, 0x3021, "-", 0x3029, 0x3038, "-", 0x303A,
               0x3400, "-", 0x4DBF, 0x4E00, "-", 0x9FFF, 0xF900, "-", 0xFAFF, 0x20000, "-",
               0x3FFFF)
_SOUTHEAST_ASIAN = (r"\p{Thai}", r"\p{Lao}", r"\p{Myanmar}", r"\p{Khmer}")
# Katakana (and its prolonged sound mark) but the halfwidth sound marks, which extend.
_KATAKANA = "(?:" + _set("^", r"\P{Katakana}", 0xFF9E, 0xFF9F) + "|" + chr(0x30FC) + ")"
_EXTEND = _set(r"\p{M}", 0x00AD, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xFF9E, 0xFF9F) + "*"
_IDEOGRAPH = _set(*_IDEOGRAPHS)
# Their letters but digits (a Thai digit is a digit).
_SPACELESS = "(?:" + "|".join(_set("^", r"\P{" + s[3:-1] + "}", r"\p{Nd}")
                              for s in _SOUTHEAST_ASIAN) + ")"
# Letters and letter numbers, but those above; the Hebrew geresh.
_NOT_LETTERS = (*_IDEOGRAPHS, r"\p{Katakana}", 0x30FC, 0xFF9E, 0xFF9F, *_SOUTHEAST_ASIAN)
_LETTER = "(?:" + "|".join((_set("^", r"\P{L}", *_NOT_LETTERS),
                            _set("^", r"\P{Nl}", *_IDEOGRAPHS), chr(0x05F3))) + ")"
_DIGIT = r"\p{Nd}"
_CONNECTOR = _set(r"\p{Pc}", 0x202F)
# Between two letters (MidLetter, MidNumLet, Single_Quote); between two digits (MidNum, ...).
_MID_NUM_LET = (ord("."), ord("'"), 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E)
_MID_LETTER = _set(ord(":"), 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A,
                   *_MID_NUM_LET)
_MID_DIGIT = _set(ord(","), ord(";"), 0x037E, 0x0589, 0x060C, 0x060D, 0x066C, 0x07F8, 0x2044,
                  0xFE10, 0xFE14, 0xFE50, 0xFE54, 0xFF0C, 0xFF1B, *_MID_NUM_LET)
_HEBREW = _set(0x05D0, "-", 0x05EA, 0x05EF, "-", 0x05F2, 0xFB1D, 0xFB1F, "-", 0xFB28, 0xFB2A,
               "-", 0xFB4F)
# A letter; a Hebrew letter may join the next by '"' and keeps a "'" after it.
_ATOM = f"(?:{_HEBREW}{_EXTEND}(?:\"{_EXTEND}{_HEBREW}{_EXTEND})*(?:'{_EXTEND})?|{_LETTER}{_EXTEND})"
_LETTERS = f"{_ATOM}(?:{_MID_LETTER}{_EXTEND}{_ATOM})*"
_DIGITS = f"{_DIGIT}{_EXTEND}(?:{_MID_DIGIT}{_EXTEND}{_DIGIT}{_EXTEND})*"
# Letters and digits run together; Katakana joins them only through a connector.
_BLOCK = f"(?:(?:{_LETTERS}|{_DIGITS})+|(?:{_KATAKANA}{_EXTEND})+)"
_JOINERS = f"(?:{_CONNECTOR}{_EXTEND})+"
WORD = (
    f"{_IDEOGRAPH}{_EXTEND}"
    f"|(?:{_JOINERS})?{_BLOCK}(?:{_JOINERS}{_BLOCK})*(?:{_JOINERS})?"
    f"|(?:{_SPACELESS}{_EXTEND})+"
)
"""One word of the engine's ``standard`` tokenizer (RE2 and ``regex`` syntax)."""

_WORD = regex.compile(WORD)
_DOTTED_CAPITAL_I = "\u0130"


def lower(text: str) -> str:
    """Lowercased one character at a time, as the engine's filter and both SQL engines'
    ``lower`` (no context rules: a final capital sigma becomes σ, not ς; İ becomes i)."""
    return "".join("i" if c == _DOTTED_CAPITAL_I else c.lower() for c in text)


def words(text: str) -> list[str]:
    """Lowercased words of ``text``, cut as the engine's standard tokenizer does."""
    return _WORD.findall(lower(text))


def auto_fuzziness(word: str) -> int:
    """The edit distance ``fuzziness: AUTO`` allows for a query word of this length."""
    n = len(word)
    return 0 if n <= 2 else 1 if n <= 5 else 2


def levenshtein(a: str, b: str) -> int:
    """Plain edit distance (insert, delete, substitute), as the engines' fuzzy matching."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]

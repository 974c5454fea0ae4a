"""Word rules shared by the SQL compiler and anyone checking its results.

The search engine splits text with the ``standard`` tokenizer (Unicode word boundaries,
UAX#29) and lowercases each word. :data:`WORD` is that rule as one regular expression, in
the syntax RE2 (DuckDB) and Python's ``regex`` module share: DuckDB cuts values with it
(:mod:`vql.sql_dialects`) and :func:`words` cuts query text with it, so both sides of a SQL
text match see the words the engine sees (checked against the engine's ``_analyze`` on
random strings: tests/stores/test_differential.py):

- letters joined by one of ``' . : ·`` and their look-alikes (``o'neil``, ``john.doe``,
  ``example.com``), digits by one of ``. , ; '`` (``3.14``, ``1,000``); letters and digits
  run together (``a1``, ``v2.0.1``); connector punctuation (``_``) joins them (``foo_bar``);
  a word holds a letter or a digit;
- combining marks and format characters (soft hyphen, zero-width joiners) stay with the
  character before them;
- Han ideographs (and the CJK radicals) and Hiragana are one word per character; a run of
  Katakana is one word, a run of Thai, Lao, Myanmar, Khmer, Tai Le, New Tai Lue, Tai Tham,
  Tai Viet or Ahom letters and marks too (Lucene does not segment them by dictionary); runs
  of Katakana and runs of letters join through a connector (``カ_a``); Hebrew letters also
  join by ``"`` (between two of them) and keep a ``'`` after them;
- everything else (spaces, punctuation, symbols) separates words.

The classes beyond Unicode's general categories (letters that are symbols, such as ``ⓐ``
or ``˂``; which CJK and Hiragana characters are words; which punctuation of the Southeast
Asian scripts runs with their letters) were found by asking the engine's ``_analyze``
about every code point (2026-12-07), as ``a?a``, ``??``, ``1?1`` and ``?``: what differs
is below.

What it leaves out (README, "How text matching differs"): emoji and pictographic symbols
such as ``©`` (the engine keeps each, or a sequence of them joined by zero-width joiners,
as a word; here they separate words: RE2's automaton for the pattern with them ran out of
its memory and fell back to a 10-25x slower matcher); letters Unicode assigned after
version 12.1, the engine's tables (new scripts such as Vithkuqi or Toto, CJK extension G):
words here, separators there; and the engine's cut of a word at 255 characters.
:data:`POSTGRES_WORD` is the same rule in PostgreSQL's regex dialect, which has no Unicode
properties (see there).
"""

from __future__ import annotations

import regex


def _set(*parts: str | int) -> str:
    """A character class: properties as written, code points as the characters themselves
    (RE2, ``regex`` and PostgreSQL read literal characters alike; their escapes differ)."""
    return "[" + "".join(chr(p) if isinstance(p, int) else p for p in parts) + "]"


# What extends a word beyond the marks (\p{M}) and the format characters (\p{Cf} but the
# zero-width space): the halfwidth sound marks and the skin tone modifiers. PostgreSQL has
# no \p{Cf}: it lists the format characters text holds (soft hyphen, zero-width (non-)joiner,
# word joiner, BOM, the tags).
_EXTEND_MORE = (0xFF9E, 0xFF9F, 0x1F3FB, "-", 0x1F3FF)
_POSTGRES_FORMAT = (0x00AD, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xE0020, "-", 0xE007F)
# Han (a word each): the CJK radicals and ideographs the engine's tables (Unicode 12.1)
# assign, 〇 and the Hangzhou numerals; not 々 or 〻, which are letters. What those blocks
# assign later, and 〆, are neither words nor letters to the engine, nor are Tangut, Khitan
# and Nushu.
_IDEOGRAPHS = (0x2E80, "-", 0x2E99, 0x2E9B, "-", 0x2EF3, 0x2F00, "-", 0x2FD5, 0x3007, 0x3021,
               "-", 0x3029, 0x3038, "-", 0x303A, 0x3400, "-", 0x4DB5, 0x4E00, "-", 0x9FEF,
               0xF900, "-", 0xFA6D, 0xFA70, "-", 0xFAD9, 0x20000, "-", 0x2A6D6, 0x2A700, "-",
               0x2B734, 0x2B740, "-", 0x2B81D, 0x2B820, "-", 0x2CEA1, 0x2CEB0, "-", 0x2EBE0,
               0x2F800, "-", 0x2FA1D)
_HIRAGANA = (0x3041, "-", 0x3096, 0x309D, "-", 0x309F, 0x1B001, "-", 0x1B11E, 0x1B150, "-",
             0x1B152, 0x1F200)
_NOT_WORDS = (0x2E80, "-", 0x2FDF, 0x3006, 0x3400, "-", 0x4DBF, 0x4E00, "-", 0x9FFF, 0xF900, "-",
              0xFAFF, 0x17000, "-", 0x18DFF, 0x1B170, "-", 0x1B2FF, 0x20000, "-", 0x3FFFF)
# What the engine's letters hold beyond \p{L} (Word_Break=ALetter: modifier letters that
# are symbols, circled and squared Latin letters, Armenian marks) and its digits beyond
# \p{Nd} (the Arabic decimal separator): found by asking the engine about every code point.
_MORE_LETTERS = (0x02C2, "-", 0x02C5, 0x02D2, "-", 0x02D7, 0x02DE, "-", 0x02DF, 0x02ED,
                 0x02EF, "-", 0x02FF, 0x055B, "-", 0x055C, 0x055E, 0x24B6, "-", 0x24E9, 0xA720,
                 "-", 0xA721, 0xA789, "-", 0xA78A, 0xAB5B, 0x1F130, "-", 0x1F149, 0x1F150, "-",
                 0x1F169, 0x1F170, "-", 0x1F189)
_MORE_DIGITS = (0x066B,)
_NOT_DIGITS = (0x1FBF0, "-", 0x1FBF9)  # segmented digits: pictographs to the engine
_HEBREW = (0x05D0, "-", 0x05EA, 0x05EF, "-", 0x05F2, 0xFB1D, 0xFB1F, "-", 0xFB28, 0xFB2A, "-",
           0xFB4F)
_HEBREW_POINTS = _set(0x0591, "-", 0x05BD, 0x05BF, 0x05C1, 0x05C2, 0x05C4, 0x05C5, 0x05C7)
_CONNECTORS = (0x202F,)  # beside \p{Pc}: the narrow no-break space joins too
# Between two letters (MidLetter, MidNumLet, Single_Quote); between two digits (MidNum, ...).
_MID_NUM_LET = (ord("."), ord("'"), 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E)
_MID_LETTER = _set(ord(":"), 0x00B7, 0x0387, 0x05F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A,
                   *_MID_NUM_LET)
_MID_DIGIT = _set(ord(","), ord(";"), 0x037E, 0x0589, 0x060C, 0x060D, 0x066C, 0x07F8, 0x2044,
                  0xFE10, 0xFE14, 0xFE50, 0xFE54, 0xFF0C, 0xFF1B, *_MID_NUM_LET)


def _word(
    *, extend: str, ideograph: str, katakana: str, spaceless: str, letter: str, digit: str,
    connector: str,
) -> str:
    """One word of the standard tokenizer, from the classes of characters its rules name.
    Written compact (each class once or twice): RE2's cost grows with the pattern's size."""
    e = f"{extend}*"
    hebrew = _set(*_HEBREW)
    # A letter (a Hebrew one keeps a "'" after it, or joins one more Hebrew letter by '"'),
    # then letters, marks, a letter after one joining character. (Any mark between the
    # Hebrew letter and the quote, not only the Hebrew points, made RE2 25x slower.)
    atom = f"(?:{hebrew}{_HEBREW_POINTS}*(?:'|\"{e}{hebrew})|{letter})"
    letters = f"{atom}(?:{extend}|(?:{_MID_LETTER}{e})?{atom})*"
    digits = f"{digit}(?:{extend}|(?:{_MID_DIGIT}{e})?{digit})*"
    # Runs of Katakana, and runs of letters and digits, join each other through connectors
    # ("_"), not directly.
    run = f"(?:{katakana}(?:{katakana}|{extend})*|(?:{letters}|{digits})+)"
    joiner = f"{connector}{e}"
    return (
        f"{ideograph}{e}"
        f"|(?:{joiner})*{run}(?:(?:{joiner})+{run})*(?:{joiner})*"
        f"|{spaceless}(?:{spaceless}|{extend})*"
    )


# The scripts of Line_Break=SA, whose letters the engine keeps as runs (no dictionary), and
# the few of their punctuation and symbols that run with them.
_SCRIPTS = (r"\p{Thai}", r"\p{Lao}", r"\p{Myanmar}", r"\p{Khmer}", r"\p{Tai_Le}",
            r"\p{New_Tai_Lue}", r"\p{Tai_Tham}", r"\p{Tai_Viet}", r"\p{Ahom}")
_SPACELESS_MORE = (0x109E, 0x109F, 0x19DA, 0x19DE, 0x19DF, 0x1AA0, "-", 0x1AA6, 0x1AA8, "-",
                   0x1AAD, 0xAA77, "-", 0xAA79, 0xAADE, "-", 0xAADF, 0x1173A, "-", 0x1173B,
                   0x1173F)
# Katakana to the engine beyond the script: the sound marks, the double hyphen, the
# prolonged sound marks, the vertical repeat marks.
_KATAKANA_MORE = (0x309B, 0x309C, 0x30A0, 0x30FC, 0xFF70, 0x3031, "-", 0x3035)
_NOT_LETTERS = (r"\p{Hiragana}", r"\p{Katakana}", *_NOT_WORDS, *_KATAKANA_MORE, 0xFF9E, 0xFF9F,
                *_SCRIPTS)
WORD = _word(
    # Marks, format characters (but the zero-width space), the halfwidth sound marks, the
    # skin tone modifiers.
    extend="(?:" + _set(r"\p{M}", *_EXTEND_MORE) + "|"
           + _set("^", r"\P{Cf}", 0x200B) + ")",
    ideograph=_set(*_HIRAGANA, *_IDEOGRAPHS),
    # Katakana and its marks, but the halfwidth sound marks (they extend) and the letters
    # Unicode added after the engine's tables.
    katakana="(?:" + _set("^", r"\P{Katakana}", 0xFF9E, 0xFF9F, 0x1AFF0, "-", 0x1AFFF,
                          0x1B120, "-", 0x1B122) + "|" + _set(*_KATAKANA_MORE) + ")",
    # Their letters and marks, not their digits (a Thai digit is a digit) or most of their
    # punctuation and symbols.
    spaceless="(?:" + "|".join(_set("^", r"\P" + s[2:], r"\P" + c, 0x1A7F) for s in _SCRIPTS
                               for c in ("{L}", "{M}"))
              + "|" + _set(*_SPACELESS_MORE) + ")",
    # Letters and letter numbers but those above; the Hebrew geresh; the letters that are
    # symbols.
    letter="(?:" + "|".join((_set("^", r"\P{L}", *_NOT_LETTERS),
                             _set("^", r"\P{Nl}", *_NOT_WORDS, *_IDEOGRAPHS),
                             _set(0x05F3, *_MORE_LETTERS))) + ")",
    digit="(?:" + _set("^", r"\P{Nd}", *_NOT_DIGITS) + "|" + _set(*_MORE_DIGITS) + ")",
    connector=_set(r"\p{Pc}", *_CONNECTORS),
)
"""One word of the engine's ``standard`` tokenizer (RE2 and ``regex`` syntax)."""

# A value with no match of CONTEXT is ASCII without a joining character between two letters
# or digits and without a connector ("_"): its words are exactly its runs of letters and
# digits (RUN), the quick split SQL uses where it can (a scalar regexp_replace, which DuckDB
# runs once per distinct value). Any other value may need WORD. Deliberately coarse: a
# small pattern, which DuckDB compiles in well under a millisecond (WORD takes 13-20 ms),
# cheap enough to test every value a load writes (stores/duckdb/upsert.py) and every row a
# query cuts.
_ASCII_JOINERS = "".join(sorted({c for c in _MID_LETTER[1:-1] + _MID_DIGIT[1:-1] if c < "\x80"}))
CONTEXT = r"[^\x00-\x7f]|[A-Za-z0-9][" + _ASCII_JOINERS + r"][A-Za-z0-9]|_"
"""What may make a value need :data:`WORD` (RE2 and ``regex`` syntax); a value without a
match has as words the runs of :data:`RUN`."""
RUN = r"[\p{L}\p{Nd}]+"

_POSTGRES_NOT_LETTERS = (0x3040, "-", 0x30FF, 0x31F0, "-", 0x31FF, 0xFF66, "-", 0xFF9F,
                         *_IDEOGRAPHS, 0x0E00, "-", 0x0EFF, 0x1000, "-", 0x109F, 0x1780, "-",
                         0x17FF)
POSTGRES_WORD = _word(
    extend=_set(0x0300, "-", 0x036F, 0x1AB0, "-", 0x1AFF, 0x1DC0, "-", 0x1DFF, 0x20D0, "-",
                0x20FF, 0xFE20, "-", 0xFE2F, *_POSTGRES_FORMAT, *_EXTEND_MORE),
    ideograph=_set(0x3040, "-", 0x309F, *_IDEOGRAPHS),
    katakana=_set(0x30A0, "-", 0x30FF, 0x31F0, "-", 0x31FF, 0xFF66, "-", 0xFF9D),
    spaceless=_set(0x0E01, "-", 0x0E4F, 0x0E80, "-", 0x0ECF, 0x1000, "-", 0x103F, 0x1050, "-",
                   0x108F, 0x1780, "-", 0x17DF),
    letter=f"(?:(?!{_set(*_POSTGRES_NOT_LETTERS)})[[:alpha:]]|{chr(0x05F3)})",
    digit="(?:[[:digit:]]|" + _set(0x0E50, "-", 0x0E59, 0x0ED0, "-", 0x0ED9, 0x1040, "-",
                                   0x1049, 0x17E0, "-", 0x17E9) + ")",
    connector=_set("_", 0x203F, 0x2040, 0x2054, 0xFE33, 0xFE34, 0xFE4D, "-", 0xFE4F, 0xFF3F,
                   *_CONNECTORS),
)
"""The rule in PostgreSQL's regex dialect (ARE), which has no Unicode properties: letters
and digits are ``[[:alpha:]]`` and ``[[:digit:]]`` of the database's locale (ASCII only
under the C locale), combining marks those of the combining blocks (Latin, Greek, Cyrillic
diacritics; other scripts' marks count if the locale calls them letters), the scripts by
their Unicode blocks."""

_WORD = regex.compile(WORD)
_DOTTED_CAPITAL_I = "\u0130"


def lower(text: str) -> str:
    """Lowercased one character at a time, as the engine's filter and DuckDB's ``lower``
    (no context rules: a final capital sigma becomes σ, not ς; İ becomes i)."""
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

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

Letters, marks and digits Unicode assigned after version 12.1, the engine's tables (new
scripts such as Vithkuqi or Yezidi, CJK extension G), are left out of every class, so they
separate words as they do there (``_NEWER``, from the same survey).

Emoji are words of their own (a pictograph with its selector and skin tone, a sequence of
them joined by zero-width joiners, a flag, a keycap): :data:`WORD_WITH_EMOJI`, which SQL
applies only to values that hold one (:data:`EMOJI_CHARS`), as RE2 runs it ~30x slower.

What it leaves out (README, "How text matching differs"): the engine's cut of a word at 255
characters.
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
# Letters, marks, digits and format characters Unicode assigned after 12.1, the version of
# the engine's tables: nothing to the engine (a separator, as unassigned code points are),
# while RE2's and regex's newer tables call them letters (Vithkuqi, Toto, Yezidi, letters
# added to Latin, Arabic and the Indic scripts, CJK extension G and the like). Found by asking
# the engine about every code point: `python -m bench.word_rule --nothing` prints it anew.
_NEWER = ((0x0558, 0x0558), (0x058B, 0x058C), (0x05C8, 0x05C9), (0x0870, 0x0887),
          (0x0889, 0x088F), (0x0890, 0x0891), (0x0897, 0x089F), (0x08B5, 0x08B5),
          (0x08BE, 0x08C9), (0x08CA, 0x08D2), (0x0B53, 0x0B55), (0x0C3C, 0x0C3C),
          (0x0C5C, 0x0C5D), (0x0CDC, 0x0CDD), (0x0CF3, 0x0CF3), (0x0D04, 0x0D04),
          (0x0D81, 0x0D81), (0x0ECE, 0x0ECE), (0x170D, 0x170D), (0x1715, 0x1715),
          (0x171F, 0x171F), (0x180F, 0x180F), (0x1ABF, 0x1AF0), (0x1B4C, 0x1B4C),
          (0x1C89, 0x1C8A), (0x1DFA, 0x1DFA), (0x208F, 0x208F), (0x209D, 0x209F),
          (0x2C2F, 0x2C2F), (0x2C5F, 0x2C5F), (0x31BB, 0x31BF), (0xA7C0, 0xA7C1),
          (0xA7C7, 0xA7DD), (0xA7E2, 0xA7E2), (0xA7F1, 0xA7F6), (0xA82C, 0xA82C),
          (0xAB68, 0xAB69), (0xAB6C, 0xAB6D), (0x10570, 0x1057A), (0x1057C, 0x1058A),
          (0x1058C, 0x10592), (0x10594, 0x10595), (0x10597, 0x105A1), (0x105A3, 0x105B1),
          (0x105B3, 0x105B9), (0x105BB, 0x105BC), (0x105C0, 0x105F3), (0x10780, 0x10785),
          (0x10787, 0x107B0), (0x107B2, 0x107BF), (0x10940, 0x10959), (0x10D40, 0x10D49),
          (0x10D4A, 0x10D65), (0x10D69, 0x10D6D), (0x10D6F, 0x10D85), (0x10E80, 0x10EA9),
          (0x10EAB, 0x10EAC), (0x10EB0, 0x10EB1), (0x10EC2, 0x10EC7), (0x10ECB, 0x10ECF),
          (0x10ED9, 0x10EEE), (0x10EF0, 0x10EFF), (0x10F70, 0x10F81), (0x10F82, 0x10F85),
          (0x10FB0, 0x10FC4), (0x11070, 0x11070), (0x11071, 0x11072), (0x11073, 0x11074),
          (0x11075, 0x11075), (0x110C2, 0x110C2), (0x11147, 0x11147), (0x111CE, 0x111CF),
          (0x1123F, 0x11240), (0x11241, 0x11241), (0x11380, 0x11389), (0x1138B, 0x1138B),
          (0x1138E, 0x1138E), (0x11390, 0x113B5), (0x113B7, 0x113B7), (0x113B8, 0x113C0),
          (0x113C2, 0x113C2), (0x113C5, 0x113C5), (0x113C7, 0x113CA), (0x113CC, 0x113D0),
          (0x113D1, 0x113D1), (0x113D2, 0x113D2), (0x113D3, 0x113D3), (0x113E1, 0x113E2),
          (0x11460, 0x11461), (0x116D0, 0x116E3), (0x11740, 0x11746), (0x11900, 0x11906),
          (0x11909, 0x11909), (0x1190C, 0x11913), (0x11915, 0x11916), (0x11918, 0x1192F),
          (0x11930, 0x11935), (0x11937, 0x11938), (0x1193B, 0x1193E), (0x1193F, 0x1193F),
          (0x11940, 0x11940), (0x11941, 0x11941), (0x11942, 0x11943), (0x11950, 0x11959),
          (0x11AB0, 0x11ABF), (0x11B0A, 0x11B0A), (0x11B60, 0x11B67), (0x11BC0, 0x11BE0),
          (0x11BF0, 0x11BF9), (0x11DB0, 0x11DDB), (0x11DE0, 0x11DE9), (0x11DF0, 0x11DF0),
          (0x11DF1, 0x11DF1), (0x11F00, 0x11F01), (0x11F02, 0x11F02), (0x11F03, 0x11F03),
          (0x11F04, 0x11F10), (0x11F12, 0x11F33), (0x11F34, 0x11F3A), (0x11F3E, 0x11F42),
          (0x11F50, 0x11F59), (0x11F5A, 0x11F5A), (0x11FB0, 0x11FB0), (0x1246F, 0x1246F),
          (0x12475, 0x1247F), (0x12550, 0x12686), (0x12F90, 0x12FF0), (0x1342F, 0x1342F),
          (0x13439, 0x1343F), (0x13440, 0x13440), (0x13441, 0x13446), (0x13447, 0x13455),
          (0x13460, 0x143FA), (0x16100, 0x1611D), (0x1611E, 0x1612F), (0x16130, 0x16139),
          (0x16A70, 0x16ABE), (0x16AC0, 0x16AC9), (0x16D40, 0x16D6C), (0x16D70, 0x16D79),
          (0x16EA0, 0x16EB8), (0x16EBB, 0x16ED3), (0x16FE4, 0x16FE4), (0x16FF0, 0x16FF1),
          (0x16FF2, 0x16FF3), (0x16FF4, 0x16FF6), (0x18E00, 0x19191), (0x191A0, 0x191D2),
          (0x1AFF0, 0x1AFF3), (0x1AFF5, 0x1AFFB), (0x1AFFD, 0x1AFFE), (0x1B120, 0x1B122),
          (0x1B124, 0x1B128), (0x1B155, 0x1B155), (0x1B168, 0x1B168), (0x1CCF0, 0x1CCF9),
          (0x1CF00, 0x1CF2D), (0x1CF30, 0x1CF46), (0x1D127, 0x1D128), (0x1D250, 0x1D252),
          (0x1D25B, 0x1D25C), (0x1D25F, 0x1D25F), (0x1D280, 0x1D281), (0x1D6A6, 0x1D6A6),
          (0x1DF00, 0x1DF81), (0x1DF90, 0x1DF96), (0x1DFCD, 0x1DFFF), (0x1E030, 0x1E06D),
          (0x1E08F, 0x1E08F), (0x1E290, 0x1E2AD), (0x1E2AE, 0x1E2AE), (0x1E4D0, 0x1E4EB),
          (0x1E4EC, 0x1E4EF), (0x1E4F0, 0x1E4F9), (0x1E5D0, 0x1E5ED), (0x1E5EE, 0x1E5EF),
          (0x1E5F0, 0x1E5F0), (0x1E5F1, 0x1E5FA), (0x1E6C0, 0x1E6DE), (0x1E6E0, 0x1E6E2),
          (0x1E6E3, 0x1E6E3), (0x1E6E4, 0x1E6E5), (0x1E6E6, 0x1E6E6), (0x1E6E7, 0x1E6ED),
          (0x1E6EE, 0x1E6EF), (0x1E6F0, 0x1E6F4), (0x1E6F5, 0x1E6F5), (0x1E6FE, 0x1E6FF),
          (0x1E7E0, 0x1E7E6), (0x1E7E8, 0x1E7EB), (0x1E7ED, 0x1E7EE), (0x1E7F0, 0x1E7FE))


def _newer(prop: str) -> tuple[str | int, ...]:
    """The ranges of _NEWER that have the ``regex`` property `prop` (``\\p{L}``), as
    :func:`_set` takes them: each class leaves out only what it would hold (a pattern that
    left all of them out of every class was 11x the size). Each range is of one category
    and script, so its first code point tells."""
    has = regex.compile(prop).fullmatch
    return tuple(x for first, last in _NEWER if has(chr(first)) for x in (first, "-", last))


def _extend(*but: str | int) -> str:
    """What extends a word (stays with the character before it): marks, format characters
    but the zero-width space, the halfwidth sound marks, the skin tones; not `but`."""
    return "(?:" + "|".join((_set("^", r"\P{M}", *but, *_newer(r"\p{M}")), _set(*_EXTEND_MORE),
                             _set("^", r"\P{Cf}", 0x200B, *_newer(r"\p{Cf}")))) + ")"


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
    extend=_extend(),
    ideograph=_set(*_HIRAGANA, *_IDEOGRAPHS),
    # Katakana and its marks, but the halfwidth sound marks (they extend) and the letters
    # Unicode added after the engine's tables.
    katakana="(?:" + _set("^", r"\P{Katakana}", 0xFF9E, 0xFF9F, *_newer(r"\p{Katakana}"))
             + "|" + _set(*_KATAKANA_MORE) + ")",
    # Their letters and marks, not their digits (a Thai digit is a digit) or most of their
    # punctuation and symbols.
    spaceless="(?:" + "|".join(_set("^", r"\P" + s[2:], r"\P" + c, 0x1A7F, *_newer(s))
                               for s in _SCRIPTS for c in ("{L}", "{M}"))
              + "|" + _set(*_SPACELESS_MORE) + ")",
    # Letters and letter numbers but those above; the Hebrew geresh; the letters that are
    # symbols.
    letter="(?:" + "|".join((_set("^", r"\P{L}", *_NOT_LETTERS, *_newer(r"\p{L}")),
                             _set("^", r"\P{Nl}", *_NOT_WORDS, *_IDEOGRAPHS,
                                  *_newer(r"\p{Nl}")),
                             _set(0x05F3, *_MORE_LETTERS))) + ")",
    digit="(?:" + _set("^", r"\P{Nd}", *_NOT_DIGITS, *_newer(r"\p{Nd}")) + "|"
          + _set(*_MORE_DIGITS) + ")",
    connector=_set(r"\p{Pc}", *_CONNECTORS),
)
"""One word of the engine's ``standard`` tokenizer (RE2 and ``regex`` syntax)."""

# Emoji: what the engine keeps as a word of its own (Extended_Pictographic of Unicode 12.1:
# pictographs and symbols such as © and ‼, from the survey: each alone is a word there).
_EMOJI = ((0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049),
          (0x2122, 0x2122), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B),
          (0x2328, 0x2328), (0x2388, 0x2388), (0x23CF, 0x23CF), (0x23E9, 0x23F3),
          (0x23F8, 0x23FA), (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0),
          (0x25FB, 0x25FE), (0x2600, 0x2605), (0x2607, 0x2612), (0x2614, 0x2685),
          (0x2690, 0x2705), (0x2708, 0x2712), (0x2714, 0x2714), (0x2716, 0x2716),
          (0x271D, 0x271D), (0x2721, 0x2721), (0x2728, 0x2728), (0x2733, 0x2734),
          (0x2744, 0x2744), (0x2747, 0x2747), (0x274C, 0x274C), (0x274E, 0x274E),
          (0x2753, 0x2755), (0x2757, 0x2757), (0x2763, 0x2767), (0x2795, 0x2797),
          (0x27A1, 0x27A1), (0x27B0, 0x27B0), (0x27BF, 0x27BF), (0x2934, 0x2935),
          (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
          (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
          (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F), (0x1F12F, 0x1F12F), (0x1F16C, 0x1F16F),
          (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F1AD, 0x1F1E5), (0x1F201, 0x1F20F),
          (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F), (0x1F232, 0x1F23A), (0x1F23C, 0x1F23F),
          (0x1F249, 0x1F3FA), (0x1F400, 0x1F53D), (0x1F546, 0x1F64F), (0x1F680, 0x1F6FF),
          (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF), (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F),
          (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8FF), (0x1F90C, 0x1F93A),
          (0x1F93C, 0x1F945), (0x1F947, 0x1FFFD))
_PICTOGRAPHS = tuple(x for first, last in _EMOJI for x in (first, "-", last))
_MODIFIERS = (0x1F3FB, "-", 0x1F3FF)  # skin tones: a word alone, else they extend
_REGIONAL = (0x1F1E6, "-", 0x1F1FF)  # two make a flag; one alone is nothing
_TAGS = _set(0xE0020, "-", 0xE007E) + "+\U000E007F"  # a tag sequence's spec and its end


def _emoji() -> str:
    """One emoji word of the engine: a pictograph with what extends it (not the text
    presentation selector U+FE0E, which ends it; after the emoji one U+FE0F ends it too, but
    for a tag sequence or a zero-width joiner and the next pictograph), zero-width joiners
    before it; a skin tone; a pair of regional indicators; a keycap. Matched against the
    engine on 3,600 random strings of pictographs, joiners, selectors, tones, flags, tags,
    keycaps, marks and letters (0 differ)."""
    pictograph, regional = _set(*_PICTOGRAPHS), _set(*_REGIONAL)
    extend, any_extend = _extend(0xFE0E, 0xFE0F), _extend()
    element = f"{pictograph}(?:\u200d{pictograph}|{extend})*(?:\ufe0f(?:{_TAGS})?)?"
    return "|".join((
        f"\u200d*{element}(?:\u200d{element})*",
        f"{_set(*_MODIFIERS)}(?:\u200d{pictograph}|{extend})*",
        f"{regional}{any_extend}*{regional}{any_extend}*",
        f"[#*](?:{extend}|\ufe0f)*\u20e3{extend}*",
    ))


WORD_WITH_EMOJI = _emoji() + "|" + WORD
""":data:`WORD` with the engine's emoji words: what a value holding one of
:data:`EMOJI_CHARS` is cut by. RE2's automaton for it outgrows its memory and falls back to a
~30x slower matcher, so SQL cuts only such values with it."""
EMOJI_CHARS = _set(*_PICTOGRAPHS, *_MODIFIERS, *_REGIONAL, 0x20E3)
"""A character without which :data:`WORD_WITH_EMOJI` cuts a value as :data:`WORD` does."""

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

_WORD = regex.compile(WORD_WITH_EMOJI)
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

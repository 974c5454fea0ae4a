"""Word rules shared by the SQL compiler and anyone checking its results.

The search engine splits text with its standard analyzer (Unicode word boundaries); SQL
cannot, so SQL splits lowercased text on runs of characters that are not letters or digits.
The query side of SQL matching is split here, in Python, by the same rule.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Lowercased words of ``text``: maximal runs of letters and digits."""
    return _WORD.findall(text.lower())


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

"""Similar titles, for the overlap hint. Chinese has no spaces between words, so titles are
compared as sets of character bigrams (Dice coefficient), which needs no segmenter."""

from __future__ import annotations

import re
import unicodedata

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def bigrams(text: str) -> set[str]:
    text = _NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())
    if len(text) < 2:
        return {text} if text else set()
    return {text[i:i + 2] for i in range(len(text) - 1)}


def similarity(a: str, b: str) -> float:
    """0 for nothing in common, 1 for the same characters in the same pairs."""
    return dice(bigrams(a), bigrams(b))


def dice(x: set[str], y: set[str]) -> float:
    """`similarity` of two titles' bigrams, for comparing many titles bigrammed once."""
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))

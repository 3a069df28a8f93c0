"""The matched parts of a text marked for reading: everything escaped first, then each match
wrapped in <mark>. Built here from the record's own text, never from HTML a database made."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

SNIPPET_BEFORE = 30  # characters shown before the first match
SNIPPET_LENGTH = 120


def spans(text: str, words) -> list[tuple[int, int]]:
    """Where the words occur in the text (any case), overlapping matches joined."""
    found = sorted((m.start(), m.end()) for word in words if word
                   for m in re.finditer(re.escape(word), text, re.IGNORECASE))
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _marked(text: str, found, start: int, end: int) -> Markup:
    parts, at = [], start
    for s, e in found:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        parts.append(escape(text[at:s]))
        parts.append(Markup("<mark>%s</mark>") % text[s:e])
        at = e
    parts.append(escape(text[at:end]))
    return Markup("").join(parts)


def highlight(text: str, words) -> Markup:
    """The whole text, escaped, its matches marked."""
    text = text or ""
    return _marked(text, spans(text, words), 0, len(text))


def snippet(text: str, words) -> Markup | None:
    """A passage of the text around its first match, escaped, matches marked; None when the
    text does not contain any word."""
    text = text or ""
    found = spans(text, words)
    if not found:
        return None
    start = max(0, found[0][0] - SNIPPET_BEFORE)
    end = min(len(text), start + SNIPPET_LENGTH)
    body = _marked(text, found, start, end)
    return Markup("").join([Markup("…") if start else Markup(""), body,
                            Markup("…") if end < len(text) else Markup("")])


def contains_any(text: str, words) -> bool:
    return bool(spans(text or "", words))

"""One vocabulary: the enums of the domain carry their translated labels, and documents that are
always written in Chinese (the ledgers, the public announcement) take the same words as the
Chinese screens."""

from __future__ import annotations

from enum import StrEnum

from flask import g
from flask_babel import force_locale
from wtforms.fields.choices import SelectChoice

# The language of the ledgers and of the public announcement, whatever the reader chose.
DOCUMENT_LOCALE = "zh_CN"


class LabelledEnum(StrEnum):
    """A string enum whose members name their label: `DRAFT = "draft", _l("Draft")`. The value
    is what is stored and sent; `label` is the word a person reads, in the current language."""

    def __new__(cls, value: str, label=None):
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label if label is not None else value
        return member

    @property
    def label(self) -> str:
        return str(self._label)

    @classmethod
    def choices(cls) -> list[SelectChoice]:
        """The choices of a form's select, in declaration order; the labels stay lazy, so a form
        declared at import time speaks the language of each request."""
        return [SelectChoice(m.value, m._label) for m in cls]


def chinese(value) -> str:
    """The word of a labelled value as the Chinese screens show it (empty for None). A ledger
    asks for the same few words many thousand times: each is looked up once a request."""
    if value is None:
        return ""
    words = g.setdefault("chinese_words", {})
    key = (type(value), value)  # Plan.LONG_TERM == RectificationState.LONG_TERM as strings
    if key not in words:
        with force_locale(DOCUMENT_LOCALE):
            words[key] = str(getattr(value, "label", value))
    return words[key]

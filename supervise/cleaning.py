"""Raw input from a form or a JSON body into model values, the same way for every record."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from typing import Any

from flask_babel import gettext as _

from supervise.errors import InvalidInput

# Spaces and invisible characters someone might put between the characters of a name.
_GAPS = re.compile(r"[\s\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]+")


def name_key(text: str) -> str:
    """The form names are compared in: full-width letters and digits as ASCII ones (NFKC), no
    spaces or invisible characters, case folded. 张 三 and 张三 are one name."""
    return _GAPS.sub("", unicodedata.normalize("NFKC", text or "")).casefold()


# clean(field, raw, values, errors): put the field's model value(s) in `values`, or its problem
# in `errors`.
Cleaner = Callable[[str, Any, dict, dict], None]


def clean_input(data: Mapping, *, fields: Collection[str], required: Collection[str],
                text_limits: Mapping[str, int], partial: bool, clean: Cleaner) -> dict:
    """Model values for `data`, or InvalidInput naming every field that does not pass; the
    messages never repeat what was entered. Unknown names are refused; with `partial` (an
    edit) absent fields are left alone. Texts are checked here (text, present when required,
    within their limit, stripped); `clean` turns every other field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for field in sorted(set(data) - set(fields)):
        errors[field] = _("Unknown field.")
    for field in fields:
        if field not in data:
            if not partial and field in required:
                errors[field] = _("This field is required.")
            continue
        raw = data[field]
        if field not in text_limits:
            if field in required and raw in (None, ""):
                errors[field] = _("Please choose.")  # a choice (a unit, a receiver...) not made
            else:
                clean(field, raw, values, errors)
            continue
        value = "" if raw is None else raw
        if not isinstance(value, str):
            errors[field] = _("Must be text.")
        elif field in required and not value.strip():
            errors[field] = _("This field is required.")
        elif len(value.strip()) > text_limits[field]:
            errors[field] = _("Too long: at most %(n)d characters.", n=text_limits[field])
        else:
            values[field] = value.strip()
    if errors:
        raise InvalidInput(errors)
    return values

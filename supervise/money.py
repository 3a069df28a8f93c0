r"""Numbers people type: amounts in yuan (exact decimals, never floats) and whole numbers.

Only ASCII digits count as digits. Python's `int()` and the regular expression `\d` also accept
full-width digits (１２３) and the digits of other scripts; taking those silently would let
input that looks like one number be read as another, so they are refused with a message that
says how to write the number."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import gettext as _

MAX_AMOUNT = Decimal("9999999999999999.99")  # Numeric(18, 2)
# Plain digits, or digits grouped by thousands with commas; a point and decimals; no exponent.
AMOUNT_TEXT = re.compile(r"^(?P<sign>-)?(?P<number>(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d+)?)$",
                         re.ASCII)
MAX_WHOLE_DIGITS = 18  # fits a 64-bit integer column
CENT = Decimal("0.01")


class AmountError(ValueError):
    pass


def has_wide_digits(text: str) -> bool:
    """Digits other than 0-9: full-width ones typed with a Chinese input method, mostly."""
    return any(ch.isdigit() and not ch.isascii() for ch in text)


def whole_number(value) -> int:
    """A whole number from a form or JSON: an int, or ASCII digits with an optional minus.
    ValueError for anything else, full-width digits and absurdly long numbers included."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, int):
        return value
    text = str(value if value is not None else "").strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_WHOLE_DIGITS:
        raise ValueError("not a whole number")
    return int(text)


def parse_amount(value) -> Decimal | None:
    """A non-negative amount in yuan with at most two decimals; '' or None means none given."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float | bool):
        raise AmountError(_("Give the amount as a string such as '1234.56'."))
    text = str(value).strip()
    match = AMOUNT_TEXT.match(text)
    if match is None:
        if has_wide_digits(text):
            raise AmountError(_("Write the amount with half-width digits 0-9, such as "
                                "'1234.56'."))
        raise AmountError(_("The amount is not a number."))
    if match.group("sign"):
        raise AmountError(_("The amount cannot be negative."))
    try:
        amount = Decimal(match.group("number").replace(",", ""))
    except InvalidOperation:
        raise AmountError(_("The amount is not a number.")) from None
    if amount.as_tuple().exponent < -2:
        raise AmountError(_("The amount has more than two decimals."))
    if amount > MAX_AMOUNT:
        raise AmountError(_("The amount is too large."))
    return amount.quantize(CENT)


def format_yuan(amount: Decimal | None) -> str:
    """1234567.8 -> '1,234,567.80 元'."""
    if amount is None:
        return "—"
    return _("%(amount)s yuan", amount=f"{amount:,.2f}")


def format_wan(amount: Decimal | None) -> str:
    """A total in 万元 (ten thousand yuan), two decimals."""
    amount = (amount or Decimal(0)) / Decimal(10000)
    return _("%(amount)s ten-thousand yuan",
             amount=f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}")

from decimal import Decimal

import pytest

from supervise.money import AmountError, format_wan, format_yuan, parse_amount


@pytest.mark.parametrize("text, value", [
    ("0", "0.00"), ("1234.5", "1234.50"), ("1,234,567.89", "1234567.89"), (" 12 ", "12.00"),
    ("", None), (None, None),
])
def test_amounts_that_parse(text, value):
    result = parse_amount(text)
    assert result == (None if value is None else Decimal(value))


@pytest.mark.parametrize("text", ["-1", "abc", "1.234", "1e3", "1,2,3", "NaN", "Infinity",
                                  "12,34", "1..2", "99999999999999999"])
def test_amounts_that_do_not(text):
    with pytest.raises(AmountError):
        parse_amount(text)


def test_floats_are_refused_however_exact_they_look():
    with pytest.raises(AmountError):
        parse_amount(12.5)


def test_formats(app):
    with app.test_request_context():
        assert format_yuan(Decimal("1234567.8")) == "1,234,567.80 元"
        assert format_wan(Decimal("3658900.50")) == "365.89 万元"
        assert format_yuan(None) == "—"

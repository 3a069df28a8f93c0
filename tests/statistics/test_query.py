"""StatisticsQuery.from_args: every input gives a query, and the reasons for what it left out."""

from __future__ import annotations

from datetime import date

import pytest

from supervise.statistics.figures import StatisticsQuery

TODAY = date(2026, 7, 15)


def parse(**args):
    return StatisticsQuery.from_args(args, TODAY)


def test_the_default_is_the_current_year():
    q = parse()
    assert (q.start, q.end, q.year, q.quarter, dict(q.errors)) == (
        date(2026, 1, 1), date(2026, 12, 31), 2026, None, {})
    assert q.to_args() == {"year": "2026"}


@pytest.mark.parametrize(("args", "start", "end", "canonical"), [
    ({"year": "2025"}, date(2025, 1, 1), date(2025, 12, 31), {"year": "2025"}),
    ({"year": " 2025 "}, date(2025, 1, 1), date(2025, 12, 31), {"year": "2025"}),
    ({"year": "2026", "quarter": "1"}, date(2026, 1, 1), date(2026, 3, 31),
     {"year": "2026", "quarter": "1"}),
    ({"year": "2024", "quarter": "4"}, date(2024, 10, 1), date(2024, 12, 31),
     {"year": "2024", "quarter": "4"}),
    ({"quarter": "2"}, date(2026, 4, 1), date(2026, 6, 30), {"year": "2026", "quarter": "2"}),
    ({"start": "2026-02-29".replace("29", "28"), "end": "2026-03-01"}, date(2026, 2, 28),
     date(2026, 3, 1), {"start": "2026-02-28", "end": "2026-03-01"}),
    ({"start": "2024-02-29", "end": "2034-02-27"}, date(2024, 2, 29), date(2034, 2, 27),
     {"start": "2024-02-29", "end": "2034-02-27"}),
])
def test_periods(app, args, start, end, canonical):
    q = parse(**args)
    assert not q.errors
    assert (q.start, q.end) == (start, end)
    assert q.to_args() == canonical
    assert StatisticsQuery.from_args(q.to_args(), TODAY) == q


@pytest.mark.parametrize(("args", "field"), [
    ({"year": "1999"}, "year"), ({"year": "2101"}, "year"), ({"year": "abc"}, "year"),
    ({"year": "２０２６"}, "year"), ({"year": "-2026"}, "year"), ({"year": "2026.0"}, "year"),
    ({"quarter": "0"}, "quarter"), ({"quarter": "Q1"}, "quarter"),
    ({"start": "2026-01-01"}, "end"), ({"end": "2026-01-01"}, "start"),
    ({"start": "2026-02-30", "end": "2026-03-01"}, "start"),
    ({"start": "20260101", "end": "2026-03-01"}, "start"),
    ({"start": "1999-12-31", "end": "2000-01-01"}, "start"),
    ({"start": "2026-03-02", "end": "2026-03-01"}, "end"),
    ({"start": "2016-03-01", "end": "2026-03-01"}, "end"),
    ({"year": "2026", "start": "2026-03-01", "end": "2026-03-02"}, "start"),
    ({"year": "\ud800"}, "year"), ({"unit": "\ud800"}, "unit"), ({"start": "x" * 1000}, "start"),
    ({"unit": "x" * 41}, "unit"), ({"unit": "nobody"}, "unit"),
    ({"category": "nothing"}, "category"), ({"receiver": "nobody"}, "receiver"),
    ({"project": "short"}, "project"),
])
def test_bad_input_is_said_and_left_out(app, args, field):
    q = parse(**args)
    assert field in q.errors
    assert all(isinstance(m, str) and m for m in q.messages)
    # A safe default: the current year (a bad quarter or filter only leaves that out).
    assert q.start.year == 2026 and q.end >= q.start
    for name in ("unit", "category", "receiver", "project"):
        if name == field:
            assert getattr(q, name) == ""


def test_a_range_of_ten_years_at_most(app):
    assert not parse(start="2016-03-02", end="2026-03-01").errors
    assert "end" in parse(start="2016-03-01", end="2026-03-01").errors


def test_filters_that_exist_are_kept(world):
    q = parse(year="2026", unit="edu", category="allowances", receiver="discipline",
              project="A" * 16)
    assert not q.errors
    assert q.to_args() == {"year": "2026", "unit": "edu", "category": "allowances",
                           "receiver": "discipline", "project": "A" * 16}
    # An audited unit is no receiver; a receiver no audited unit.
    assert set(parse(unit="discipline", receiver="edu").errors) == {"unit", "receiver"}


def test_months_and_narrowing(app):
    q = parse(start="2025-11-20", end="2026-02-10", category="other") \
        if False else StatisticsQuery(date(2025, 11, 20), date(2026, 2, 10), category="other")
    assert q.months() == [(2025, 11), (2025, 12), (2026, 1), (2026, 2)]
    first = q.for_month(2025, 11)
    assert (first.start, first.end, first.category) == (date(2025, 11, 20),
                                                        date(2025, 11, 30), "other")
    assert q.for_month(2026, 2).end == date(2026, 2, 10)
    assert q.narrowed(unit="edu").to_args() == {"start": "2025-11-20", "end": "2026-02-10",
                                                "category": "other", "unit": "edu"}
    with pytest.raises(TypeError):
        q.narrowed(year="2026")


def test_labels(app):
    from flask_babel import force_locale

    with force_locale("zh_CN"):
        assert parse(year="2026", quarter="1").label == "2026年第1季度"
        assert parse(year="2026").label == "2026年"
        assert parse(start="2026-01-01", end="2026-02-01").label == "2026-01-01至2026-02-01"




def test_the_database_counts_a_moment_s_day_and_month_in_beijing(app):
    """beijing_day and beijing_month, as SQLite and PostgreSQL compute them, give the day and
    the month the time zone gives, on either side of midnight in Beijing."""
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from supervise.calendar.deadlines import local_date
    from supervise.database import DAY_ZERO, UTCDateTime, beijing_day, beijing_month
    from supervise.extensions import db

    for moment in [datetime(2000, 1, 1, 0, 0, tzinfo=UTC), datetime(2026, 2, 28, 15, 59, 59,
                   999999, tzinfo=UTC), datetime(2026, 2, 28, 16, 0, tzinfo=UTC),
                   datetime(2026, 12, 31, 16, 0, 0, 1, tzinfo=UTC),
                   datetime(2024, 2, 29, 15, 30, tzinfo=UTC)]:
        value = sa.literal(moment, UTCDateTime())
        day, month = db.session.execute(sa.select(beijing_day(value), beijing_month(value))).one()
        local = local_date(moment)
        assert DAY_ZERO + timedelta(days=day) == local, moment
        assert divmod(month, 100) == (local.year, local.month), moment

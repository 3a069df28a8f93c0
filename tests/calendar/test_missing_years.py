"""The security administrator is warned of years in which running deadlines fall without the
official holiday arrangement: on the calendar page and the home page, each year named with how
many deadlines fall in it and a link to enter it."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from supervise.calendar import operations
from supervise.database import BEIJING_TIME
from supervise.extensions import db
from supervise.rectifications.models import RectificationState as R
from tests.calendar.test_calendar_pages import ARRANGEMENT_2027
from tests.factories import UserFactory
from tests.rectifications import factories as rectifications
from tests.rectifications.conftest import as_, world  # noqa: F401  (the same district)
from tests.referrals import factories as referrals
from tests.referrals.factories import S


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING_TIME)


def running_into_2027_and_2028(world):  # noqa: F811
    """Three running deadlines in 2027, one in 2028, and others that do not count."""
    # Sent on 30 December 2026: acknowledge by 4 January, answer by 30 March 2027.
    referrals.referral_in(world, S.SENT, sent_at=beijing(2026, 12, 30, 10))
    # Acknowledged: its answer is due on 10 February 2027; the acknowledgement no longer runs.
    referrals.referral_in(world, S.ACKNOWLEDGED, sent_at=beijing(2026, 11, 10, 10))
    # Closed, or due in a year that is known: nothing to warn of.
    referrals.referral_in(world, S.CLOSED, sent_at=beijing(2026, 12, 30, 10))
    referrals.referral_in(world, S.SENT, sent_at=beijing(2026, 6, 1, 10))
    rectifications.rectification_in(world, R.IN_PROGRESS, due_at=beijing(2028, 3, 1, 23, 59, 59))
    rectifications.rectification_in(world, R.SIGNED_OFF, due_at=beijing(2028, 5, 1, 23, 59, 59))


@pytest.fixture
def secadmin(app, world):  # noqa: F811
    user = UserFactory(username="sec", roles=["secadmin"])
    client = app.test_client()
    client.sign_in("sec")
    client.user = user
    return client


def _warning(response) -> str:
    html = response.get_data(as_text=True)
    found = re.search(r'<section class="flash flash-warn"[^>]*id="missing-years">(.*?)</section>',
                      html, re.S)
    return page_text_of(found.group(1)) if found else ""


def page_text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_years_are_counted_from_the_running_deadlines(world):  # noqa: F811
    assert operations.years_without_calendar() == []
    running_into_2027_and_2028(world)
    assert operations.years_without_calendar() == [(2027, 3), (2028, 1)]


def test_the_calendar_page_names_each_year_with_its_deadlines_and_a_link(world, secadmin):  # noqa: F811
    running_into_2027_and_2028(world)
    response = secadmin.get("/settings/calendar", query_string={"year": 2026})
    warning = _warning(response)
    assert "2027年：3个期限" in warning and "2028年：1个期限" in warning
    assert "只按周末计算" in warning
    html = response.get_data(as_text=True)
    assert 'href="/settings/calendar?year=2027#import"' in html
    assert 'href="/settings/calendar?year=2028#import"' in html
    # The same on the security administrator's home page.
    home = _warning(secadmin.get("/"))
    assert "2027年：3个期限" in home and "2028年：1个期限" in home


def test_the_warning_speaks_english_too(world, secadmin):  # noqa: F811
    running_into_2027_and_2028(world)
    secadmin.post_form("/language", {"locale": "en"})
    warning = _warning(secadmin.get("/settings/calendar"))
    assert "2027: 3 deadlines" in warning and "2028: 1 deadline" in warning
    assert "Enter the arrangement for 2027" in warning


def test_a_year_entered_is_no_longer_named(world, secadmin):  # noqa: F811
    running_into_2027_and_2028(world)
    operations.import_year(secadmin.user, 2027, ARRANGEMENT_2027)
    db.session.commit()
    warning = _warning(secadmin.get("/settings/calendar"))
    assert "2027" not in warning and "2028年：1个期限" in warning


def test_no_warning_without_such_deadlines_and_none_for_others(world, secadmin, app):  # noqa: F811
    assert _warning(secadmin.get("/settings/calendar")) == ""
    assert 'id="missing-years"' not in secadmin.get("/").get_data(as_text=True)
    running_into_2027_and_2028(world)
    for username in (world.audit_staff.username, "auditor"):
        if username == "auditor":
            UserFactory(username="auditor", roles=["auditadmin"])
        client = app.test_client()
        client.sign_in(username)
        assert 'id="missing-years"' not in client.get("/").get_data(as_text=True)


def test_the_count_takes_as_many_statements_for_many_deadlines(world, count_queries):  # noqa: F811
    running_into_2027_and_2028(world)
    with count_queries() as few:
        operations.years_without_calendar()
    for _ in range(5):
        referrals.referral_in(world, S.IN_HANDLING, sent_at=beijing(2026, 12, 1, 10))
        rectifications.rectification_in(world, R.NOT_STARTED,
                                        due_at=beijing(2029, 1, 5, 23, 59, 59))
    with count_queries() as many:
        assert operations.years_without_calendar() == [(2027, 8), (2028, 1), (2029, 5)]
    assert len(many) == len(few)

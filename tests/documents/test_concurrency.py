"""Document numbers under concurrent requests: referral letters made at the same moment, each
by a request of its own, get a number each, and together the numbers are consecutive, without
a gap or a duplicate. The counter's row is taken with an atomic upsert, which PostgreSQL's row
lock serialises (SQLite serialises every writer on the whole file), so the property is proven
on PostgreSQL, where CI runs the suite too."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from supervise.documents import templates
from supervise.documents.models import Document
from supervise.extensions import db
from tests.conftest import ON_POSTGRES
from tests.documents.test_documents import year
from tests.factories import UserFactory
from tests.referrals.factories import S, referral_in
from tests.support.races import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="the counter's row lock is proven on PostgreSQL: "
                                               "set TEST_DATABASE_URL to run it"),
]

REQUESTS = 6


def test_concurrent_letters_get_distinct_consecutive_numbers(app, world, monkeypatch):
    staff = [UserFactory(agency=world.audit) for _ in range(REQUESTS)]
    referrals = [referral_in(world, S.SENT) for _ in range(REQUESTS)]
    real = templates.render

    def slow(*args, **kwargs):  # after the number is taken: the requests overlap holding it
        time.sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(templates, "render", slow)
    answers = race(app, [(user, f"/referrals/{r.public_id}/documents/referral_letter", None)
                         for user, r in zip(staff, referrals, strict=True)])
    assert sorted(status for status, _ in answers.values()) == [201] * REQUESTS, answers
    assert sorted(body["number"] for _, body in answers.values()) == sorted(
        f"〔{year()}〕{n}号" for n in range(1, REQUESTS + 1))
    assert db.session.scalars(sa.select(Document.sequence).order_by(Document.sequence)).all() \
        == list(range(1, REQUESTS + 1))

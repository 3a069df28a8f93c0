"""Of two simultaneous steps on a referral exactly one succeeds; the other gets a clear 409.

A transition loads the referral with SELECT … FOR UPDATE, so the second request waits for the
first to commit and then finds the state it left. SQLite has no row locks (it serialises writers
on the whole database file), so the property is proven on PostgreSQL, where CI runs the suite
too.
"""

from __future__ import annotations

import threading
import time

import pytest

from supervise.referrals import operations
from tests.conftest import ON_POSTGRES
from tests.factories import UserFactory
from tests.helpers import events
from tests.referrals.factories import S, entries, label, make_world, referral_in, reload
from tests.support.races import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="the row lock (SELECT … FOR UPDATE) is proven on "
                                               "PostgreSQL: set TEST_DATABASE_URL to run it"),
]

DWELL = 0.3  # seconds each step lingers once it holds the referral


@pytest.fixture
def dwell(monkeypatch):
    """Each step lingers after loading the referral, before acting on it, so that the two
    requests surely overlap; and counts how many steps are past the loading at once. With the
    row lock that is never more than one."""
    real = operations.take_action
    guard = threading.Lock()
    seen = {"inside": 0, "most": 0}

    def lingering(*args, **kwargs):
        with guard:
            seen["inside"] += 1
            seen["most"] = max(seen["most"], seen["inside"])
        try:
            time.sleep(DWELL)
            return real(*args, **kwargs)
        finally:
            with guard:
                seen["inside"] -= 1

    monkeypatch.setattr(operations, "take_action", lingering)
    return seen


@pytest.fixture
def world(client):
    """The district, and a second staff member of the commission to race the first."""
    w = make_world(client)
    w.disc_staff2 = UserFactory(username="disc.staff2", display_name="纪检员丙",
                                agency=w.discipline)
    return w


def test_two_simultaneous_acknowledgements(app, world, dwell):
    referral = referral_in(world, S.SENT)
    rid, version = referral.public_id, referral.version
    url = f"/referrals/{rid}/acknowledge"
    results = race(app, [(world.disc_staff, url, {"comment": "签收"}),
                         (world.disc_staff2, url, {"comment": "签收"})])

    assert sorted(status for status, _ in results.values()) == [200, 409], results
    assert dwell["most"] == 1  # the second waited for the first to commit
    [(winner, won)] = [(user, body) for user, (status, body) in results.items()
                       if status == 200]
    [lost] = [body for status, body in results.values() if status == 409]
    assert won["state"] == "acknowledged"
    assert lost["status"] == 409
    assert label(S.ACKNOWLEDGED) in lost["message"]  # it names the state it found

    row = reload(rid)
    assert row.state == S.ACKNOWLEDGED and row.version == version + 1
    [entry] = entries(row, "acknowledge")
    assert entry.actor.username == winner
    assert [e.actor_username for e in events("referral.acknowledge")] == [winner]


def test_an_acknowledgement_racing_a_withdrawal(app, world, dwell):
    referral = referral_in(world, S.SENT)
    rid = referral.public_id
    results = race(app, [(world.disc_staff, f"/referrals/{rid}/acknowledge", {}),
                         (world.audit_staff, f"/referrals/{rid}/withdraw", {})])

    assert sorted(status for status, _ in results.values()) == [200, 409], results
    assert dwell["most"] == 1
    acknowledged = results["disc.staff"][0] == 200
    row = reload(rid)
    assert row.state == (S.ACKNOWLEDGED if acknowledged else S.WITHDRAWN)
    assert [e.action for e in entries(row)] == ["acknowledge" if acknowledged else "withdraw"]
    loser = results["audit.staff" if acknowledged else "disc.staff"][1]
    assert label(row.state) in loser["message"]

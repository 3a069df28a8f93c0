"""Stale and simultaneous requests, on SQLite and on PostgreSQL alike: a step carrying a version
that is not the record's is a 409 in every workflow; two edits from the same version give one 200
and one 409 (never a 500), and simultaneous wrong passwords cannot outrun the lock-out.

Each request runs through its own client, and so its own application context, session and
database connection, as it would on another worker.
"""

from __future__ import annotations

import time

import pytest

from supervise.findings import operations as finding_operations
from supervise.referrals import operations as referral_operations
from tests.factories import FindingFactory
from tests.helpers import events, race
from tests.rectifications import factories as rectifications
from tests.referrals import factories as referrals
from tests.referrals.factories import S, referral_in, reload
from tests.support.api import Caller
from tests.support.records import unchanged

DWELL = 0.3  # seconds an edit lingers once it has read the record, so that the two overlap


# One step of each workflow: (factories, the record's state, who takes the step, its URL).
STEPS = {
    "referral": (referrals, referrals.referral_in, S.SENT, "disc_staff",
                 "/referrals/{}/acknowledge"),
    "rectification": (rectifications, rectifications.rectification_in,
                      rectifications.S.PENDING_VERIFICATION, "audit_staff",
                      "/rectifications/{}/verify"),
}


@pytest.mark.parametrize("workflow", STEPS)
def test_a_stale_version_is_a_409(world, as_, workflow):
    factories, record_in, state, username, url = STEPS[workflow]
    record = record_in(world, state)
    url = url.format(record.public_id)
    with unchanged(factories.snapshot, record):
        assert as_(username).post(url, json={"version": record.version + 1}).status_code == 409
    response = as_(username).post(url, json={"version": record.version})
    assert response.status_code == 200
    assert response.get_json()["version"] == record.version + 1


def test_a_step_from_the_wrong_state_is_refused_before_its_version_is_read(world, as_):
    rectification = rectifications.rectification_in(world, rectifications.S.VERIFIED)
    body = {"measures": "再报", "version": rectification.version + 1}
    stale = as_("unit_contact").post(f"/rectifications/{rectification.public_id}/reports",
                                     json=body, headers={"Accept-Language": "en"})
    assert stale.status_code == 409
    assert "changed by someone else" not in stale.get_json()["message"], stale.get_json()


def lingering(monkeypatch, module, name):
    real = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(DWELL)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def _patch_twice(app, user, url, bodies):
    callers = [Caller(app.test_client(), user) for _ in bodies]
    for caller in callers:  # the token lookups out of the way
        assert caller.get("/me").status_code == 200

    def patch(caller, body):
        return lambda: caller.patch(url, json=body, headers={"Accept-Language": "en"})

    responses = race([patch(c, b) for c, b in zip(callers, bodies, strict=True)])
    return [(r.status_code, r.get_json()) for r in responses]


def test_two_simultaneous_edits_of_a_finding(app, world, monkeypatch):
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff, title="原标题")
    fid, version, key = finding.public_id, finding.version, finding.id
    lingering(monkeypatch, finding_operations, "clean_finding_input")
    results = _patch_twice(app, world.audit_staff, f"/findings/{fid}",
                           [{"version": version, "title": "甲的标题"},
                            {"version": version, "title": "乙的标题"}])
    assert sorted(status for status, _ in results) == [200, 409], results
    [lost] = [body for status, body in results if status == 409]
    assert lost == {"status": 409, "message": "This record was changed by someone else. "
                                              "Reload it and try again."}
    [won] = [body for status, body in results if status == 200]
    assert [e.action for e in events("finding.update")] == ["finding.update"]
    from supervise.extensions import db
    from supervise.findings.models import Finding

    db.session.expire_all()
    row = db.session.get(Finding, key)
    assert row.title == won["title"] and row.version == version + 1


def test_two_simultaneous_edits_of_a_referral(app, world, monkeypatch):
    referral = referral_in(world, S.DRAFT)
    rid, version = referral.public_id, referral.version
    lingering(monkeypatch, referral_operations, "clean_referral_input")
    results = _patch_twice(app, world.audit_staff, f"/referrals/{rid}",
                           [{"version": version, "facts": "甲补充的事实"},
                            {"version": version, "facts": "乙补充的事实"}])
    assert sorted(status for status, _ in results) == [200, 409], results
    [lost] = [body for status, body in results if status == 409]
    assert lost["status"] == 409 and "changed by someone else" in lost["message"]
    [won] = [body for status, body in results if status == 200]
    row = reload(rid)
    assert row.facts == won["facts"] and row.version == version + 1
    assert len(events("referral.update")) == 1

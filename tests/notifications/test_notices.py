"""Every step of every workflow tells exactly the right people, in the transaction of the step.

The expectations are written out here by hand, person by person, from domain.md: who is in
charge on each side (the drafter, the handler once there is one, the issuing auditor), the
leaders for what waits for a leader, every account of the other agency where nobody is in charge
yet; never the person acting, never anyone outside the record.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from supervise.extensions import db
from supervise.findings.models import FindingStatus
from supervise.notifications.models import Kind as N
from supervise.notifications.models import Notification
from supervise.rectifications.workflow import TRANSITIONS as R_TRANSITIONS
from supervise.rectifications.workflow import Action as RAction
from supervise.referrals.workflow import TRANSITIONS
from supervise.referrals.workflow import Action as A
from tests.factories import FindingFactory
from tests.rectifications import factories as rectifications
from tests.referrals import factories as referrals
from tests.referrals.factories import S

EVERYONE = ("audit_staff", "audit_leader", "disc_staff", "disc_leader", "insp_staff",
            "org_staff", "unit_contact", "unit2_contact", "audit2_staff")


def told(world) -> set[tuple[str, N]]:
    """Who has been told what: (person, kind) for every notification written."""
    db.session.expire_all()
    names = {getattr(world, n).id: n for n in EVERYONE}
    return {(names[n.recipient_id], n.kind)
            for n in db.session.scalars(sa.select(Notification))}


# action, the state it starts from, and who is told what.
REFERRAL_STEPS = [
    (A.SUBMIT, S.DRAFT, {("audit_leader", N.REFERRAL_PENDING)}),
    (A.APPROVE, S.PENDING_APPROVAL, {("disc_staff", N.REFERRAL_RECEIVED),
                                      ("disc_leader", N.REFERRAL_RECEIVED)}),
    (A.SEND_BACK, S.PENDING_APPROVAL, {("audit_staff", N.SENT_BACK)}),
    (A.WITHDRAW, S.SENT, {("disc_staff", N.REFERRAL_WITHDRAWN),
                          ("disc_leader", N.REFERRAL_WITHDRAWN)}),
    (A.ACKNOWLEDGE, S.SENT, {("audit_staff", N.ACKNOWLEDGED)}),
    (A.RETURN, S.SENT, {("audit_staff", N.RETURNED)}),
    (A.ASSIGN, S.ACKNOWLEDGED, {("disc_staff", N.ASSIGNED)}),
    (A.NOTE, S.IN_HANDLING, set()),
    (A.ANSWER, S.IN_HANDLING, {("audit_staff", N.ANSWERED)}),
    (A.CLOSE, S.ANSWERED, {("disc_staff", N.CLOSED)}),
    (A.REOPEN, S.ANSWERED, {("disc_staff", N.REOPENED)}),
    (A.CHASE, S.SENT, {("disc_staff", N.CHASED), ("disc_leader", N.CHASED)}),
    (A.CHASE, S.IN_HANDLING, {("disc_staff", N.CHASED)}),  # the handler, once there is one
    (A.REQUEST_EXTENSION, S.IN_HANDLING, {("audit_staff", N.EXTENSION_REQUESTED)}),
    (A.DECIDE_EXTENSION, S.IN_HANDLING, {("disc_staff", N.EXTENSION_DECIDED)}),
    (A.REVISE, S.RETURNED, set()),
]


@pytest.mark.parametrize(("action", "state", "expected"), REFERRAL_STEPS,
                         ids=[f"{a.value}-from-{s.value}" for a, s, _ in REFERRAL_STEPS])
def test_each_referral_step_tells_the_right_people(world, as_, action, state, expected):
    referral = referrals.referral_in(world, state,
                                     pending_extension=action == A.DECIDE_EXTENSION)
    url, body, success = referrals.api_step(action, referral)
    party = TRANSITIONS[action].party
    response = as_(referrals.ACTOR[party]).post(url, json=body)
    assert response.status_code == success, response.get_json()
    assert told(world) == expected


def test_the_person_acting_is_never_told(world, as_):
    """A leader who drafts and submits a referral is the only leader: nobody else to tell."""
    referral = referrals.referral_in(world, S.DRAFT, created_by=world.audit_leader)
    assert as_("audit_leader").post(f"/referrals/{referral.public_id}/submit",
                                    json={}).status_code == 200
    assert told(world) == set()


def test_a_disabled_account_is_not_told(world, as_):
    world.disc_leader.active = False
    db.session.commit()
    referral = referrals.referral_in(world, S.PENDING_APPROVAL)
    assert as_("audit_leader").post(f"/referrals/{referral.public_id}/approve",
                                    json={}).status_code == 200
    assert told(world) == {("disc_staff", N.REFERRAL_RECEIVED)}


def test_the_drafter_gone_the_sending_agency_is_told(world, as_):
    referral = referrals.referral_in(world, S.SENT)
    world.audit_staff.active = False
    db.session.commit()
    assert as_("disc_staff").post(f"/referrals/{referral.public_id}/acknowledge",
                                  json={}).status_code == 200
    assert told(world) == {("audit_leader", N.ACKNOWLEDGED)}


def test_a_refused_step_tells_nobody(world, as_):
    referral = referrals.referral_in(world, S.SENT)
    response = as_("disc_staff").post(f"/referrals/{referral.public_id}/return", json={})
    assert response.status_code == 422
    assert told(world) == set()


RECTIFICATION_STEPS = [
    ("report-interim", rectifications.S.NOT_STARTED, {("audit_staff", N.REPORT_SUBMITTED)}),
    ("report-final", rectifications.S.IN_PROGRESS, {("audit_staff", N.REPORT_SUBMITTED)}),
    (RAction.VERIFY.value, rectifications.S.PENDING_VERIFICATION, set()),
    (RAction.SIGN_OFF.value, rectifications.S.VERIFIED, {("audit_leader", N.SIGN_OFF_PENDING)}),
    (RAction.APPROVE_SIGN_OFF.value, rectifications.S.SIGN_OFF_PENDING,
     {("audit_staff", N.SIGNED_OFF), ("unit_contact", N.SIGNED_OFF)}),
    (RAction.SEND_BACK.value, rectifications.S.PENDING_VERIFICATION,
     {("unit_contact", N.REWORK)}),
    (RAction.CHASE.value, rectifications.S.NOT_STARTED, {("unit_contact", N.CHASED)}),
]


@pytest.mark.parametrize(("case", "state", "expected"), RECTIFICATION_STEPS,
                         ids=[c for c, _, _ in RECTIFICATION_STEPS])
def test_each_rectification_step_tells_the_right_people(world, as_, case, state, expected):
    rectification = rectifications.rectification_in(world, state)
    url, body, success = rectifications.api_step(case, rectification)
    action = RAction.REPORT if case.startswith("report") else RAction(case)
    party = R_TRANSITIONS[action].party
    response = as_(rectifications.ACTOR[party]).post(url, json=body)
    assert response.status_code == success, response.get_json()
    assert told(world) == expected


def test_issuing_for_rectification_tells_the_unit_and_only_it(world, as_):
    finding = rectifications.finding_for(world)
    response = as_("audit_staff").post(f"/findings/{finding.public_id}/rectification",
                                       json={"plan": "staged"})
    assert response.status_code == 201, response.get_json()
    assert told(world) == {("unit_contact", N.RECTIFICATION_ISSUED)}


def draft(world):
    return FindingFactory(owner_agency=world.audit, unit=world.edu,
                          created_by=world.audit_staff, status=FindingStatus.DRAFT)


def test_a_finding_submitted_for_issue_tells_the_leaders_and_sent_back_the_drafter(world, as_):
    finding = draft(world)
    assert as_("audit_staff").post(f"/findings/{finding.public_id}/submit",
                                   json={}).status_code == 200
    assert told(world) == {("audit_leader", N.SUBMITTED_FOR_ISSUE)}
    response = as_("audit_leader").post(f"/findings/{finding.public_id}/send-back",
                                        json={"reason": "金额需复核"})
    assert response.status_code == 200, response.get_json()
    assert told(world) == {("audit_leader", N.SUBMITTED_FOR_ISSUE),
                           ("audit_staff", N.SENT_BACK)}


def test_sharing_tells_the_agency_it_is_shared_with_and_no_other(world, as_):
    finding = draft(world)
    assert as_("audit_leader").post(f"/findings/{finding.public_id}/issue",
                                    json={}).status_code == 200
    for agency in ("discipline", "inspection"):
        response = as_("audit_staff").post(f"/findings/{finding.public_id}/shares",
                                           json={"agency": agency, "handling": "read_only"})
        assert response.status_code == 201, response.get_json()
        if agency == "discipline":
            assert told(world) == {("disc_staff", N.FINDING_SHARED),
                                   ("disc_leader", N.FINDING_SHARED)}
    assert told(world) == {("disc_staff", N.FINDING_SHARED), ("disc_leader", N.FINDING_SHARED),
                           ("insp_staff", N.FINDING_SHARED)}

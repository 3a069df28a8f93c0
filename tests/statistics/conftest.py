"""A district's half-year of work, driven through the operations under frozen time, whose every
figure is known: the referrals of the audit bureau to the commission (acknowledged on time and
late, returned and revised, extended with an approved and a refused extension, answered on
time and late, overdue and open at every age, chased, withdrawn), one to the finance bureau,
one of the inspection office's; rectification items signed off, sent back, overdue; findings
shared, referred and issued for rectification.

"Now" is 2026-07-15 10:00 in Shanghai (`NOW`); the period is the year 2026. The calendar is the
official one the migrations seed (Qingming 4-6 April, Labour Day 1-5 May 2026).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine

from supervise.accounts.models import AgencyKind
from supervise.extensions import db
from supervise.findings.models import FindingStatus
from supervise.rectifications import operations as rectification_operations
from supervise.rectifications.models import Plan
from supervise.referrals import operations
from supervise.referrals.models import Extension, ReferralKind, ReferralState
from supervise.referrals.operations import ActionInput
from supervise.referrals.workflow import Action
from tests.factories import AgencyFactory, FindingFactory, ProjectFactory, ShareFactory, UserFactory
from tests.rectifications.factories import make_world as make_rectification_world
from tests.referrals.factories import referral_in, shanghai

S = ReferralState
NOW = shanghai(date(2026, 7, 15), 10)


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return shanghai(date(year, month, day), hour)


@pytest.fixture
def world(client):
    """The rectification district (two audited units), with a finance bureau's staff and an
    inspection leader who approves what the inspection office sends."""
    world = make_rectification_world(client)
    world.finance_staff = UserFactory(username="finance.staff", agency=world.finance)
    world.insp_leader = UserFactory(username="insp.leader", agency=world.inspection,
                                    roles=["leader"])
    return world


class Driver:
    """Steps taken as the people of the district would take them, each at its moment."""

    def __init__(self, world):
        self.w = world

    def step(self, when: datetime, user, record, action, **data):
        with time_machine.travel(when, tick=False):
            result = operations.take_action(user, record, action, ActionInput(**data))
            db.session.commit()
        return result

    def sent(self, when: datetime, *, sender=None, leader=None, receiver=None, findings=(),
             kind=None, draft=None):
        """A new referral (or `draft`) submitted and approved at `when`."""
        w = self.w
        sender, leader = sender or w.audit_staff, leader or w.audit_leader
        if draft is None:
            fields = {"sender_agency": sender.agency, "created_by": sender,
                      "receiver_agency": receiver or w.discipline}
            if kind is not None:
                fields["kind"] = kind
            draft = referral_in(w, S.DRAFT, findings=list(findings), **fields)
        self.step(when, sender, draft, Action.SUBMIT)
        self.step(when, leader, draft, Action.APPROVE)
        return draft

    def acknowledged(self, when, referral, user=None):
        self.step(when, user or self.w.disc_staff, referral, Action.ACKNOWLEDGE)

    def answered(self, when, referral, disposition, user=None):
        self.step(when, user or self.w.disc_staff, referral, Action.ANSWER,
                  disposition=disposition, result="已办结。")

    def extension(self, asked: datetime, decided: datetime, referral, until: str, decision):
        self.step(asked, self.w.disc_staff, referral, Action.REQUEST_EXTENSION, until=until,
                  reason="案情复杂")
        pending = next(e for e in referral.extensions if e.decision is None)
        assert isinstance(pending, Extension)
        self.step(decided, self.w.audit_staff, referral, Action.DECIDE_EXTENSION,
                  extension=pending.public_id, decision=decision)

    # rectification

    def finding(self, when, **fields):
        with time_machine.travel(when, tick=False):
            values = {"owner_agency": self.w.audit, "unit": self.w.edu,
                      "created_by": self.w.audit_staff, "category_code": "allowances"}
            return FindingFactory(**{**values, **fields})

    def issued(self, when, finding, plan=Plan.STAGED):
        with time_machine.travel(when, tick=False):
            item = rectification_operations.issue_rectification(self.w.audit_leader, finding,
                                                                plan.value)
            db.session.commit()
        return item

    def rect_step(self, when, user, item, action, **data):
        with time_machine.travel(when, tick=False):
            rectification_operations.take_action(
                user, item, action, rectification_operations.ActionInput(**data))
            db.session.commit()

    def signed_off(self, when, item, contact=None, amount=None, rules=""):
        w = self.w
        self.rect_step(when, contact or w.unit_contact, item, "report", measures="已整改",
                       amount_recovered=amount, rules=rules, final=True)
        self.rect_step(when, w.audit_staff, item, "verify")
        self.rect_step(when, w.audit_staff, item, "sign-off")
        self.rect_step(when, w.audit_leader, item, "approve-sign-off")


@pytest.fixture
def district(world):
    """Builds the half-year; answers the records by the names the tests use."""
    w, d = world, Driver(world)
    r = SimpleNamespace()

    # --- findings (before they are referred or issued) ------------------------------------
    project_2025 = ProjectFactory(year=2025, lead_agency=w.audit,
                                  created_by_id=w.audit_staff.id)
    ProjectFactory(year=2026, lead_agency=w.audit, created_by_id=w.audit_staff.id)
    ProjectFactory(year=2026, lead_agency=w.inspection, created_by_id=w.insp_staff.id)
    r.project_2025 = project_2025
    r.f6 = d.finding(at(2, 10), amount=Decimal("7000.00"), project=project_2025)
    with time_machine.travel(at(2, 11), tick=False):
        ShareFactory(finding=r.f6, agency=w.inspection, shared_by=w.audit_staff)
    r.f7 = d.finding(at(2, 11), amount=Decimal("500.00"), category_code="other",
                     status=FindingStatus.DRAFT, issued_at=None)
    r.f1 = d.finding(at(3, 1), amount=Decimal("100000.00"))
    r.f2 = d.finding(at(3, 1), amount=Decimal("50000.00"), category_code="procurement")
    r.f4 = d.finding(at(3, 1), unit=w.health, amount=None, category_code="other")
    r.f3 = d.finding(at(5, 30), unit=w.health, amount=Decimal("30000.50"))
    r.f5 = d.finding(at(11, 1, year=2025), amount=Decimal("999.00"))
    # The inspection office's own finding, shared with the audit bureau.
    r.f8 = d.finding(at(4, 1), owner_agency=w.inspection, created_by=w.insp_staff,
                     amount=Decimal("1.00"))
    with time_machine.travel(at(4, 1), tick=False):
        ShareFactory(finding=r.f8, agency=w.audit, shared_by=w.insp_staff)

    # --- referrals of the audit bureau to the commission ---------------------------------
    # K: sent in 2025, outside the period.
    r.k = d.sent(at(12, 15, year=2025))
    d.acknowledged(at(12, 16, year=2025), r.k)
    # H: open more than 180 days, answer overdue (answer by 7 April, after Qingming).
    r.h = d.sent(at(1, 5))
    d.acknowledged(at(1, 7), r.h)
    # A: acknowledged and answered on time; cites F6.
    r.a = d.sent(at(3, 2), findings=[r.f6])
    d.acknowledged(at(3, 4), r.a)
    d.answered(at(4, 20), r.a, "talk_or_inquiry")
    # B: acknowledged late; answered after the first answer-by, within the approved extension.
    r.b = d.sent(at(3, 2))
    d.acknowledged(at(3, 9), r.b)
    d.extension(at(5, 20), at(5, 21), r.b, "2026-07-31", "approve")
    d.answered(at(7, 10), r.b, "preliminary_verification")
    # C: returned in time, revised as C2 and sent again; C2's extension refused, overdue.
    r.c = d.sent(at(3, 3))
    d.step(at(3, 4), w.disc_staff, r.c, Action.RETURN, reason="材料不全")
    revision = d.step(at(3, 5), w.audit_staff, r.c, Action.REVISE).result
    r.c2 = d.sent(at(3, 16), draft=revision)
    d.acknowledged(at(3, 17), r.c2)
    d.extension(at(6, 1), at(6, 2), r.c2, "2026-07-10", "refuse")
    # D: never acknowledged, chased twice.
    r.d = d.sent(at(3, 4))
    d.step(at(3, 12), w.audit_staff, r.d, Action.CHASE, comment="请抓紧签收")
    d.step(at(3, 20), w.audit_staff, r.d, Action.CHASE, comment="请尽快签收")
    # W: withdrawn the day it was sent.
    r.w = d.sent(at(3, 5))
    d.step(at(3, 5, 15), w.audit_staff, r.w, Action.WITHDRAW)
    # E: answered late (answer by 1 July), then closed.
    r.e = d.sent(at(4, 1))
    d.acknowledged(at(4, 2), r.e)
    d.answered(at(7, 8), r.e, "case_opened")
    d.step(at(7, 9), w.audit_staff, r.e, Action.CLOSE)
    # G: in handling, open 56 days.
    r.g = d.sent(at(5, 20))
    d.acknowledged(at(5, 22), r.g)
    d.step(at(5, 25), w.disc_leader, r.g, Action.ASSIGN, handler="disc.staff")
    # F: sent two days ago, not yet due.
    r.f = d.sent(at(7, 13))
    # I: to the finance bureau, for handling, adopted.
    r.i = d.sent(at(3, 10), receiver=w.finance, kind=ReferralKind.HANDLING)
    d.acknowledged(at(3, 11), r.i, w.finance_staff)
    d.answered(at(3, 20), r.i, "adopted", w.finance_staff)
    # J: the inspection office's clue to the commission.
    r.j = d.sent(at(3, 10), sender=w.insp_staff, leader=w.insp_leader)
    d.acknowledged(at(3, 12), r.j)

    # --- rectification --------------------------------------------------------------------
    r.r5 = d.issued(at(11, 2, year=2025), r.f5)
    d.signed_off(at(2, 2), r.r5)
    r.r1 = d.issued(at(3, 2), r.f1)
    r.r2 = d.issued(at(3, 2), r.f2)
    r.r4 = d.issued(at(3, 2), r.f4, Plan.IMMEDIATE)
    r.r3 = d.issued(at(6, 1), r.f3)
    d.signed_off(at(4, 10), r.r1, amount="60000.00", rules="制定了津补贴发放管理办法")
    d.rect_step(at(3, 18), w.unit_contact, r.r2, "report", measures="已退回部分款项",
                amount_recovered="20000.00", final=True)
    d.rect_step(at(3, 20), w.audit_staff, r.r2, "send-back", reason="证据不足")
    d.rect_step(at(3, 25), w.unit_contact, r.r2, "report", measures="继续整改")
    d.signed_off(at(5, 8), r.r4, contact=w.unit2_contact)

    db.session.expire_all()
    return r


@pytest.fixture
def frozen():
    """The moment the figures are read."""
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def new_agency():
    return lambda **kw: AgencyFactory(kind=kw.pop("kind", AgencyKind.AUDIT), **kw)

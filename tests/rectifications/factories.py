"""Rectification items built directly in the database, in any state, with every field that
state implies set consistently; the district with two audited units.

The `world` and `as_` fixtures (tests/rectifications/conftest.py) build this district and its
API callers (tests.support.api).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import force_locale

from supervise.accounts.models import AgencyKind
from supervise.attachments.models import Attachment
from supervise.calendar import deadlines
from supervise.calendar.models import load_calendar
from supervise.database import now_utc
from supervise.events.models import Event
from supervise.extensions import db
from supervise.rectifications.models import (
    Plan,
    Rectification,
    RectificationReport,
    RectificationState,
    RectificationStep,
)
from supervise.rectifications.operations import default_days, default_due
from supervise.rectifications.workflow import Action, Party
from supervise.settings.models import get_setting
from tests.factories import AgencyFactory, FindingFactory, UserFactory
from tests.referrals import factories as referral_factories
from tests.support import records

S = RectificationState

# Who plays which part, by the name of the fixture attribute.
OWNERS = ("audit_staff", "audit_leader")
UNIT = "unit_contact"
# Staff of agencies that are party to no rectification item of the audit bureau's about 区教育局:
# they must not learn that one exists.
OUTSIDERS = ("insp_staff", "org_staff", "disc_staff", "audit2_staff", "unit2_contact")


def make_world(client) -> SimpleNamespace:
    """The referrals' district (audit bureau, commission, inspection office, organisation
    department, 区教育局 as an audited unit with its contact, a neighbouring audit bureau), and a
    second audited unit, 区卫健委, with a contact of its own."""
    world = referral_factories.make_world(client)
    world.health = AgencyFactory(code="health", name="区卫健委", kind=AgencyKind.AUDITED_UNIT)
    world.unit2_contact = UserFactory(username="health.contact", display_name="卫健委联络员",
                                      agency=world.health)
    world.unit_contact.display_name = "教育局联络员"
    db.session.commit()
    return world


def finding_for(world, unit=None, **fields):
    """An issued finding of the audit bureau about 区教育局 (or `unit`)."""
    values = {"owner_agency": world.audit, "unit": unit or world.edu,
              "created_by": world.audit_staff, "title": "违规发放津补贴问题",
              "facts": "2025年区教育局以加班费名义违规发放津补贴123456.00元。",
              "legal_basis": "《财政违法行为处罚处分条例》第六条",
              "recommendation": "责令收回违规发放的津补贴。",
              "amount": Decimal("123456.00")}
    values.update(fields)
    return FindingFactory(**values)


# Who takes each kind of step in the tests: the one holding just that part.
ACTOR = {Party.OWNER: "audit_staff", Party.OWNER_LEADER: "audit_leader",
         Party.UNIT: "unit_contact"}


def api_step(case: str, rectification) -> tuple[str, dict, int]:
    """URL, a valid body and the success status of a step."""
    rid = rectification.public_id
    if case.startswith("report"):
        return f"/rectifications/{rid}/reports", {
            "measures": "已收回违规发放的津补贴。", "amount_recovered": "1000.50",
            "rules": "修订了津补贴发放办法", "final": case == "report-final"}, 201
    body = {Action.SEND_BACK.value: {"reason": "整改证据不足，请补充银行回单"},
            Action.CHASE.value: {"comment": "请按期报送整改情况"}}.get(case, {"comment": "好"})
    return f"/rectifications/{rid}/{case}", body, 200


# A report of each kind, as the unit writes them.
INTERIM = {"measures": "已召开专题会议，制定整改方案。", "rules": "", "amount": None}
FINAL = {"measures": "已收回全部违规发放的津补贴。", "rules": "修订《津补贴发放管理办法》",
         "amount": Decimal("123456.00")}


def rectification_in(world, state: RectificationState, *, plan: Plan | None = None,
                     unit=None, finding=None, issued_at: datetime | None = None,
                     due_at: datetime | None = None, **fields) -> Rectification:
    """A rectification item of the audit bureau, issued to 区教育局 (or `unit`) in `state`, with
    the reports, steps and times that state implies. The plan is long-term for the long-term
    state and staged otherwise, unless given; the report-by date is the default of the settings
    after `issued_at` (a day ago), unless given."""
    plan = plan or (Plan.LONG_TERM if state == S.LONG_TERM else Plan.STAGED)
    issued_at = issued_at or now_utc() - timedelta(days=1)
    finding = finding or finding_for(world, unit=unit)
    cal = load_calendar()
    due_days = None
    if due_at is None:
        due_days = default_days(plan)
        deadline = default_due(plan, issued_at)
        due_at, complete = deadline.due_at, deadline.complete
    else:
        complete = cal.knows(deadlines.local_date(due_at))
    values = {
        "finding": finding, "unit_id": finding.unit_id, "owner_agency_id": finding.owner_agency_id,
        "plan": plan, "state": state, "title": finding.title, "facts": finding.facts,
        "legal_basis": finding.legal_basis, "recommendation": finding.recommendation,
        "amount": finding.amount, "issued_by": world.audit_staff, "issued_at": issued_at,
        "due_at": due_at, "calendar_complete": complete, "due_days": due_days,
        "warn_at": deadlines.warning_start(due_at, get_setting("due_soon_working_days"), cal),
    }
    values.update(fields)
    rectification = Rectification(**values)
    db.session.add(rectification)
    steps = [("issue", None, S.NOT_STARTED, world.audit_staff)]
    at = issued_at
    if state != S.NOT_STARTED:
        final = state not in (S.IN_PROGRESS, S.LONG_TERM)
        report = FINAL if final else INTERIM
        at = issued_at + timedelta(hours=2)
        db.session.add(RectificationReport(
            rectification=rectification, submitted_by=world.unit_contact, submitted_at=at,
            measures=report["measures"], rules=report["rules"],
            amount_recovered=report["amount"], final=final))
        steps.append(("report", S.NOT_STARTED,
                      S.PENDING_VERIFICATION if final else state, world.unit_contact))
        if final:
            rectification.rectified_at = rectification.rectified_at or at
    later = {S.VERIFIED: 1, S.SIGN_OFF_PENDING: 2, S.SIGNED_OFF: 3}.get(state, 0)
    chain = [("verify", S.PENDING_VERIFICATION, S.VERIFIED, world.audit_staff),
             ("sign-off", S.VERIFIED, S.SIGN_OFF_PENDING, world.audit_staff),
             ("approve-sign-off", S.SIGN_OFF_PENDING, S.SIGNED_OFF, world.audit_leader)]
    steps += chain[:later]
    if state == S.SIGNED_OFF:
        rectification.signed_off_at = at + timedelta(hours=3)
        rectification.signed_off_by = world.audit_leader
    for i, (action, before, after, actor) in enumerate(steps):
        db.session.add(RectificationStep(
            rectification=rectification, action=action, actor=actor, agency_id=actor.agency_id,
            from_state=before.value if before else None, to_state=after.value,
            at=issued_at + timedelta(minutes=i)))
    db.session.commit()
    return rectification


# --- reading the database -------------------------------------------------------------------


def reload(rectification_or_id) -> Rectification:
    return records.reload(Rectification, rectification_or_id)


def steps(rectification) -> list[RectificationStep]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(RectificationStep).where(
        RectificationStep.rectification_id == rectification.id).order_by(RectificationStep.id)))


def reports(rectification) -> list[RectificationReport]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(RectificationReport).where(
        RectificationReport.rectification_id == rectification.id)
        .order_by(RectificationReport.id)))


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def snapshot(rectification) -> dict:
    """Everything a refused request must leave as it was."""
    row, columns = records.stored(Rectification, rectification)
    return {
        "rectification": columns,
        "reports": [(r.id, r.measures, r.amount_recovered, r.final) for r in reports(row)],
        "steps": [(s.id, s.action) for s in steps(row)],
        "attachments": count(Attachment),
        "events": count(Event),
    }


def label(state: RectificationState) -> str:
    """How a state is named to an English reader."""
    with force_locale("en"):
        return str(state.label)

"""Referrals built directly in the database, in any state of their life, with every field that
state implies set consistently; the district's agencies and people.

The `world` and `as_` fixtures (tests/conftest.py) build this district and its API callers
(tests.support.api).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import factory
import sqlalchemy as sa
from flask_babel import force_locale

from supervise.accounts.models import AgencyKind
from supervise.calendar import deadlines
from supervise.database import BEIJING_TIME, now_utc
from supervise.events.models import Event
from supervise.extensions import db
from supervise.referrals import operations
from supervise.referrals.models import (
    Disposition,
    Extension,
    PersonInvolved,
    Referral,
    ReferralKind,
    ReferralState,
    TimelineEntry,
)
from supervise.referrals.workflow import Action, Party
from tests.factories import AgencyFactory, BaseFactory, UserFactory
from tests.support import records

S = ReferralState


# --- the district ---------------------------------------------------------------------------

# Who plays which part, by the name of the fixture attribute.
SENDERS = ("audit_staff", "audit_leader")
RECEIVERS = ("disc_staff", "disc_leader")
# Staff of agencies that are party to no referral here: they must not learn that one exists.
OUTSIDERS = ("insp_staff", "org_staff", "unit_contact", "audit2_staff")

# Who takes each kind of step in the tests: the one holding just that part.
ACTOR = {Party.SENDER: "audit_staff", Party.SENDER_LEADER: "audit_leader",
         Party.RECEIVER: "disc_staff", Party.RECEIVER_LEADER: "disc_leader"}


def make_world(client) -> SimpleNamespace:
    audit = AgencyFactory(code="audit", name="区审计局", kind=AgencyKind.AUDIT)
    discipline = AgencyFactory(code="discipline", name="区纪委监委", kind=AgencyKind.DISCIPLINE)
    inspection = AgencyFactory(code="inspection", name="区委巡察办", kind=AgencyKind.INSPECTION)
    org = AgencyFactory(code="org", name="区委组织部", kind=AgencyKind.ORGANIZATION)
    finance = AgencyFactory(code="finance", name="区财政局", kind=AgencyKind.DEPARTMENT)
    edu = AgencyFactory(code="edu", name="区教育局", kind=AgencyKind.AUDITED_UNIT)
    audit2 = AgencyFactory(code="audit2", name="邻区审计局", kind=AgencyKind.AUDIT)
    users = {
        "audit_staff": UserFactory(username="audit.staff", display_name="审计员甲", agency=audit),
        "audit_leader": UserFactory(username="audit.leader", display_name="审计局长",
                                    agency=audit, roles=["leader"]),
        "disc_staff": UserFactory(username="disc.staff", display_name="纪检员乙",
                                  agency=discipline),
        "disc_leader": UserFactory(username="disc.leader", display_name="纪委室主任",
                                   agency=discipline, roles=["leader"]),
        "insp_staff": UserFactory(username="insp.staff", agency=inspection),
        "org_staff": UserFactory(username="org.staff", agency=org),
        "unit_contact": UserFactory(username="unit.contact", agency=edu),
        "audit2_staff": UserFactory(username="audit2.staff", agency=audit2),
    }
    return SimpleNamespace(audit=audit, discipline=discipline, inspection=inspection, org=org,
                           finance=finance, edu=edu, audit2=audit2, client=client, **users)


# --- referrals ------------------------------------------------------------------------------


class ReferralFactory(BaseFactory):
    class Meta:
        model = Referral

    sender_agency = factory.SubFactory(AgencyFactory, kind=AgencyKind.AUDIT)
    receiver_agency = factory.SubFactory(AgencyFactory, kind=AgencyKind.DISCIPLINE)
    kind = ReferralKind.CLUE
    state = S.DRAFT
    title = factory.Sequence(lambda n: f"关于区教育局违规发放津补贴的问题线索{n}")
    audit_scope = "2025年度区教育局部门预算执行审计"
    facts = "2025年区教育局以加班费名义违规发放津补贴共计123456.00元。"
    classification = "违反中央八项规定精神"
    opinion = "建议依规依纪处理"
    basis = "《审计法》第五十二条"
    feedback_request = "请于办结后将处理结果书面反馈我单位。"
    created_by = factory.LazyAttribute(lambda o: UserFactory(agency=o.sender_agency))


def referral_in(world, state: ReferralState, *, resent: bool = False,
                pending_extension: bool = False, sent_at: datetime | None = None,
                persons=(("张某某", "校长"),), findings=(), **fields) -> Referral:
    """A referral from the audit bureau to the discipline commission, in `state`, with every
    field that state implies. `resent`: a draft or pending approval that was returned after an
    earlier sending (so the receiver already knows it). `pending_extension`: an extension
    request waiting for the sender (only for a referral that has been sent)."""
    now = now_utc()
    sent_at = sent_at or now - timedelta(days=1)
    values = {"sender_agency": world.audit, "receiver_agency": world.discipline,
              "created_by": world.audit_staff, "state": state,
              "created_at": sent_at - timedelta(days=1)}
    was_sent = state not in (S.DRAFT, S.PENDING_APPROVAL) or resent
    if was_sent:
        values.update(sent_at=sent_at, first_sent_at=sent_at)
    if state in (S.ACKNOWLEDGED, S.IN_HANDLING, S.ANSWERED, S.CLOSED):
        values["acknowledged_at"] = sent_at + timedelta(hours=2)
    if state in (S.IN_HANDLING, S.ANSWERED, S.CLOSED):
        values["handler"] = world.disc_staff
    if state in (S.ANSWERED, S.CLOSED):
        values.update(answered_at=sent_at + timedelta(hours=20),
                      disposition=Disposition.PRELIMINARY_VERIFICATION, result="已初步核实。")
    if state == S.CLOSED:
        values["closed_at"] = sent_at + timedelta(hours=22)
    values.update(fields)
    referral = ReferralFactory.build(
        **values, findings=list(findings),
        persons=[PersonInvolved(name=name, title=title, position=i)
                 for i, (name, title) in enumerate(persons)])
    if was_sent:
        # The clocks exactly as sending fixes them, with the settings and calendar of now.
        operations.start_clocks(referral, sent_at)
    db.session.add(referral)
    db.session.commit()
    if pending_extension:
        if referral.answer_by is None:
            raise ValueError("an extension is asked for only after sending")
        db.session.add(Extension(
            referral=referral, requested_by=world.disc_staff, reason="案情复杂，需延期",
            previous_answer_by=referral.answer_by,
            requested_answer_by=deadlines.end_of_day(
                deadlines.local_date(referral.answer_by) + timedelta(days=20))))
        db.session.commit()
    return referral


def api_step(action: Action, referral) -> tuple[str, dict, int]:
    """URL, a valid body and the success status of an action on a referral."""
    rid = referral.public_id
    if action == Action.CHASE:
        return f"/referrals/{rid}/chasers", {"comment": "请抓紧办理并反馈"}, 201
    if action == Action.REVISE:
        return f"/referrals/{rid}/revisions", {}, 201
    if action == Action.REQUEST_EXTENSION:
        base = deadlines.local_date(referral.answer_by) if referral.answer_by else date(2030, 1, 1)
        until = base + timedelta(days=10)
        return f"/referrals/{rid}/extensions", {"until": until.isoformat(),
                                               "reason": "需调取银行流水"}, 201
    if action == Action.DECIDE_EXTENSION:
        pending = [e for e in referral.extensions if e.decision is None]
        eid = pending[0].public_id if pending else "no-such-extension"
        return f"/referrals/{rid}/extensions/{eid}/approve", {"comment": "同意"}, 200
    body = {
        Action.SEND_BACK: {"reason": "事实部分需补充"},
        Action.RETURN: {"reason": "不属于本机关管辖"},
        Action.REOPEN: {"reason": "反馈不充分"},
        Action.ASSIGN: {"handler": "disc.staff", "comment": "请承办"},
        Action.NOTE: {"comment": "已调取相关账册"},
        Action.ANSWER: {"disposition": "talk_or_inquiry", "result": "已对相关人员谈话函询。"},
    }.get(action, {"comment": "好"})
    return f"/referrals/{rid}/{action.value}", body, 200


# --- reading the database -------------------------------------------------------------------


def reload(referral_or_id) -> Referral:
    return records.reload(Referral, referral_or_id)


def entries(referral, action: str | None = None) -> list[TimelineEntry]:
    db.session.expire_all()
    query = sa.select(TimelineEntry).where(TimelineEntry.referral_id == referral.id)
    if action:
        query = query.where(TimelineEntry.action == action)
    return list(db.session.scalars(query.order_by(TimelineEntry.id)))


def snapshot(referral) -> dict:
    """Everything a refused request must leave as it was."""
    row, columns = records.stored(Referral, referral)
    return {
        "referral": columns,
        "persons": [(p.name, p.title) for p in row.persons],
        "findings": sorted(f.id for f in row.findings),
        "timeline": [(e.id, e.action) for e in entries(row)],
        "extensions": [(e.public_id, e.decision, e.requested_answer_by)
                       for e in db.session.scalars(sa.select(Extension).where(
                           Extension.referral_id == referral.id).order_by(Extension.id))],
        "events": db.session.scalar(sa.select(sa.func.count()).select_from(Event)),
    }


def label(state: ReferralState) -> str:
    """How a state is named to an English reader."""
    with force_locale("en"):
        return str(state.label)


def local(moment: str) -> datetime:
    """An ISO time as the API writes it (+08:00), parsed."""
    return datetime.fromisoformat(moment)


def shanghai(day: date, hour=0, minute=0, second=0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second,
                    tzinfo=BEIJING_TIME)


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)

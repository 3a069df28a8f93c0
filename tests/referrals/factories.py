"""Referrals built directly in the database, in any state of their life, with every field that
state implies set consistently; the district's agencies and people; API callers.

Test modules wrap these in fixtures of their own (a test package here has no conftest).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import factory
import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from supervise.accounts import auth
from supervise.accounts.models import AgencyKind, CredentialKind
from supervise.calendar import deadlines
from supervise.database import now_utc
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
from tests.factories import AgencyFactory, BaseFactory, UserFactory

API = "/api/v1"
S = ReferralState

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- callers --------------------------------------------------------------------------------


class Caller:
    """A user calling the API with a bearer token.

    The token is issued directly, as POST /tokens would issue it, but valid until 2100: the clock
    tests travel in time, and a token of twelve hours would expire on the way.
    """

    def __init__(self, client, user):
        self.client = client
        self.user = user
        token, credential = auth.issue_credential(user, CredentialKind.API)
        credential.expires_at = datetime(2100, 1, 1, tzinfo=UTC)
        db.session.commit()
        self.auth = {"Authorization": f"Bearer {token}"}

    def _call(self, method, url, **kwargs):
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.client.open(API + url, method=method, headers=headers, **kwargs)

    def get(self, url, **kwargs):
        return self._call("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self._call("POST", url, **kwargs)

    def patch(self, url, **kwargs):
        return self._call("PATCH", url, **kwargs)

    def delete(self, url, **kwargs):
        return self._call("DELETE", url, **kwargs)

    def upload(self, url, fields):
        """A multipart POST; `fields` maps names (or is a list of name, value pairs, for a name
        given twice) to text, or to (bytes, filename) for files.

        Encoded here, in memory: the test client would spool a large body to a temporary file
        that it never closes."""
        encoded = MultiDict()
        for name, value in fields.items() if isinstance(fields, dict) else fields:
            if isinstance(value, tuple):
                content, filename = value
                value = FileStorage(io.BytesIO(content), filename=filename,
                                    content_type="application/octet-stream")
            encoded.add(name, value)
        boundary, body = encode_multipart(encoded)
        return self.post(url, data=body,
                         content_type=f"multipart/form-data; boundary={boundary}")

    def list(self, **params):
        params.setdefault("per_page", 100)
        response = self.get("/referrals", query_string=params)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def ids(self, **params):
        return {item["id"] for item in self.list(**params)["items"]}


# --- the district ---------------------------------------------------------------------------

# Who plays which part, by the name of the fixture attribute.
SENDERS = ("audit_staff", "audit_leader")
RECEIVERS = ("disc_staff", "disc_leader")
# Staff of agencies that are party to no referral here: they must not learn that one exists.
OUTSIDERS = ("insp_staff", "org_staff", "unit_contact", "audit2_staff")


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


@pytest.fixture(name="world")
def world_fixture(client):
    """The district, for a test module that imports this fixture (with `as_`)."""
    return make_world(client)


@pytest.fixture(name="as_")
def callers_fixture(world):
    return callers(world)


def callers(world):
    """as_("disc_staff") -> a Caller for that user, one token per user per test."""
    made = {}

    def caller(name):
        if name not in made:
            made[name] = Caller(world.client, getattr(world, name))
        return made[name]

    return caller


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


# --- reading the database -------------------------------------------------------------------


def reload(referral_or_id) -> Referral:
    public_id = getattr(referral_or_id, "public_id", referral_or_id)
    db.session.expire_all()
    return db.session.scalar(sa.select(Referral).where(Referral.public_id == public_id))


def entries(referral, action: str | None = None) -> list[TimelineEntry]:
    db.session.expire_all()
    query = sa.select(TimelineEntry).where(TimelineEntry.referral_id == referral.id)
    if action:
        query = query.where(TimelineEntry.action == action)
    return list(db.session.scalars(query.order_by(TimelineEntry.id)))


def snapshot(referral) -> dict:
    """Everything a refused request must leave as it was."""
    db.session.expire_all()
    row = db.session.get(Referral, referral.id)
    columns = {c.key: getattr(row, c.key) for c in sa.inspect(Referral).column_attrs}
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
                    tzinfo=deadlines.SHANGHAI)


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)

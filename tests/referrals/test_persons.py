"""The persons involved (涉及人员) appear nowhere but where domain.md allows them: in full in a
referral's detail read by staff and leaders of the two parties, masked in their lists, and in no
event, log line, error message or answer to anyone else.

One unique name and one unique position are planted, a referral is driven through its whole life
and through bad input, every answer is kept, and then everything is searched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from supervise.calendar import deadlines
from supervise.events.models import Event
from supervise.extensions import db
from supervise.findings.models import Handling
from tests.factories import FindingFactory, ShareFactory, UserFactory
from tests.referrals.factories import OUTSIDERS, make_world, reload
from tests.support.api import Caller
from tests.support.files import PDF

NAME = "测试人员XQ7Z"
POSITION = "绝密职务QK5W"
MASKED = "测" + "*" * (len(NAME) - 1)
SECRETS = (NAME, POSITION, "XQ7Z", "QK5W")

PARTIES = ("audit_staff", "audit_leader", "disc_staff", "disc_leader")
ADMINS = ("sysadmin", "secadmin", "auditadmin")


@dataclass
class Answer:
    caller: str
    method: str
    url: str
    status: int
    text: str


class RecordingCaller(Caller):
    """A caller that keeps every answer it gets."""

    def __init__(self, client, user, name, answers):
        super().__init__(client, user)
        self.name = name
        self.answers = answers

    def _call(self, method, url, **kwargs):
        response = super()._call(method, url, **kwargs)
        self.answers.append(Answer(self.name, method, url, response.status_code,
                                   response.get_data(as_text=True)))
        return response


@pytest.fixture
def world(client):
    """The district, and administrators of the sending agency (who must see no person)."""
    w = make_world(client)
    for role in ADMINS:
        # Administrators of the sending agency itself.
        setattr(w, role, UserFactory(username=f"audit.{role}", agency=w.audit, roles=[role]))
    return w


def test_the_persons_involved_appear_only_where_allowed(world, client, caplog):
    caplog.set_level(logging.DEBUG)
    answers: list[Answer] = []
    made = {}

    def as_(name):
        if name not in made:
            made[name] = RecordingCaller(world.client, getattr(world, name), name, answers)
        return made[name]

    everybody = (*PARTIES, *OUTSIDERS, *ADMINS)
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff, title="违规发放津补贴问题")
    for agency in (world.inspection, world.org):
        ShareFactory(finding=finding, agency=agency, handling=Handling.MAY_REFER,
                     shared_by=world.audit_staff)
    person = {"name": NAME, "position": POSITION}
    body = {"receiver": "discipline", "kind": "clue", "title": "违规发放津补贴问题线索",
            "facts": "以加班费名义违规发放津补贴。", "basis": "《审计法》第五十二条",
            "opinion": "建议依纪依法处理", "findings": [finding.public_id],
            "persons_involved": [person, {"name": "李某某", "position": "科员"}]}
    owner, leader = as_("audit_staff"), as_("audit_leader")
    receiver, chief = as_("disc_staff"), as_("disc_leader")

    # --- bad input carrying the name: refused, and never repeated
    bad_bodies = [
        {**body, "receiver": "edu"},
        {**body, "persons_involved": [{**person, "position": "长" * 101}]},
        {**body, "persons_involved": [{"name": NAME + "甲" * 50, "position": POSITION}]},
        {**body, "persons_involved": [{**person, "id_card": NAME}]},
        {**body, "persons_involved": [{"name": [NAME], "position": POSITION}]},
        {**body, "persons_involved": [person] * 51},
        {**body, "persons_involved": NAME},
        {**body, "findings": [NAME]},
        {**body, "title": ""},
        {**body, "kind": NAME},
        {**body, "colour": NAME},
    ]
    for bad in bad_bodies:
        assert owner.post("/referrals", json=bad).status_code == 422
    assert owner.post("/referrals", data='{"persons_involved": [{"name": "' + NAME + '"',
                      content_type="application/json").status_code == 400
    for name in ("unit_contact", "disc_staff", "org_staff"):
        assert as_(name).post("/referrals", json=body).status_code == 403

    # --- the life of the referral, everybody looking at every step
    created = owner.post("/referrals", json=body)
    assert created.status_code == 201
    rid = created.get_json()["id"]
    version = created.get_json()["version"]

    def everybody_looks():
        for name in everybody:
            caller = as_(name)
            caller.get("/referrals", query_string={"per_page": 100})
            caller.get("/referrals", query_string={"role": "received"})
            caller.get(f"/referrals/{rid}")
            caller.get(f"/findings/{finding.public_id}/uses")
            caller.get(f"/findings/{finding.public_id}")

    everybody_looks()
    # Edits: stale, by another agency, with bad persons; then a good one.
    assert owner.patch(f"/referrals/{rid}", json={
        "version": version + 5, "persons_involved": [person]}).status_code == 409
    assert owner.patch(f"/referrals/{rid}", json={
        "version": version, "persons_involved": [{**person, "position": "长" * 101}]}
    ).status_code == 422
    for name in ("disc_staff", "insp_staff", "unit_contact"):
        assert as_(name).patch(f"/referrals/{rid}", json={
            "version": version, "persons_involved": [person]}).status_code == 404
    assert owner.patch(f"/referrals/{rid}", json={
        "version": version, "opinion": "建议依规依纪依法处理"}).status_code == 200
    assert owner.upload(f"/referrals/{rid}/attachments",
                        {"file": (PDF, "证据.pdf")}).status_code == 201

    assert owner.post(f"/referrals/{rid}/submit").status_code == 200
    assert owner.post(f"/referrals/{rid}/approve").status_code == 403
    assert leader.post(f"/referrals/{rid}/send-back", json={"reason": ""}).status_code == 422
    assert leader.post(f"/referrals/{rid}/approve", json={"comment": "同意"}).status_code == 200
    everybody_looks()
    assert receiver.post(f"/referrals/{rid}/answer", json={
        "disposition": "held", "result": "x"}).status_code == 409
    assert receiver.post(f"/referrals/{rid}/acknowledge").status_code == 200
    assert receiver.post(f"/referrals/{rid}/acknowledge").status_code == 409
    assert chief.post(f"/referrals/{rid}/assign", json={"handler": "audit.staff"}
                      ).status_code == 422
    assert chief.post(f"/referrals/{rid}/assign", json={"handler": "disc.staff"}
                      ).status_code == 200
    assert receiver.post(f"/referrals/{rid}/note", json={"comment": "已调取账册"}
                         ).status_code == 200
    assert owner.post(f"/referrals/{rid}/chasers", json={"comment": "请加快办理"}
                      ).status_code == 201
    assert owner.post(f"/referrals/{rid}/chasers", json={"comment": ""}).status_code == 422
    answer_by = deadlines.local_date(reload(rid).answer_by)
    too_early = (answer_by - timedelta(days=1)).isoformat()
    assert receiver.post(f"/referrals/{rid}/extensions", json={
        "until": too_early, "reason": "需外调"}).status_code == 422
    asked = receiver.post(f"/referrals/{rid}/extensions", json={
        "until": (answer_by + timedelta(days=20)).isoformat(), "reason": "需外调"})
    assert asked.status_code == 201
    eid = asked.get_json()["extensions"][0]["id"]
    assert receiver.post(f"/referrals/{rid}/extensions/{eid}/approve").status_code == 403
    assert owner.post(f"/referrals/{rid}/extensions/{eid}/approve",
                      json={"comment": "同意"}).status_code == 200
    everybody_looks()
    assert receiver.post(f"/referrals/{rid}/answer", json={"result": "已谈话"}).status_code == 422
    assert receiver.upload(f"/referrals/{rid}/answer", {
        "disposition": "talk_or_inquiry", "result": "已谈话函询。",
        "files": (PDF, "谈话记录.pdf")}).status_code == 200
    assert owner.post(f"/referrals/{rid}/close", json={"comment": "办结"}).status_code == 200
    assert owner.post(f"/referrals/{rid}/reopen", json={"reason": "x"}).status_code == 409
    everybody_looks()
    for name in everybody:
        as_(name).post(f"/referrals/{rid}/reopen", json={"reason": NAME})
        as_(name).get(f"/referrals/{rid}/attachments/nothing")
    spec = client.get("/api/v1/openapi.json")
    answers.append(Answer("anonymous", "GET", "/openapi.json", spec.status_code,
                          spec.get_data(as_text=True)))

    # --- where the name is
    detail = f"/referrals/{rid}"
    full = [a for a in answers if NAME in a.text]
    assert full, "the detail shows the name to the parties"
    for a in full:
        assert (a.method, a.url, a.status) == ("GET", detail, 200), (a.caller, a.method, a.url)
        assert a.caller in PARTIES
    assert {a.caller for a in full} == set(PARTIES)
    for a in answers:
        if any(secret in a.text for secret in SECRETS):
            assert (a.method, a.url, a.status, a.caller in PARTIES) == ("GET", detail, 200,
                                                                       True), a
    # Every party's every reading of the detail shows it in full.
    for a in answers:
        if (a.method, a.url, a.status) == ("GET", detail, 200):
            assert NAME in a.text and POSITION in a.text

    # Masked in the parties' lists.
    lists = [a for a in answers if (a.method, a.url, a.status) == ("GET", "/referrals", 200)]
    party_lists = [a for a in lists if a.caller in PARTIES and rid in a.text]
    assert party_lists
    assert all(MASKED in a.text for a in party_lists)

    # Everybody else: nothing, not even that the referral exists.
    for a in answers:
        if a.caller not in PARTIES:
            assert rid not in a.text, a
            assert MASKED not in a.text, a
            if a.url.startswith("/referrals/"):
                assert a.status in (403, 404), a
    # No error message of any kind.
    assert [a for a in answers if a.status >= 400]

    # No event, in any column.
    db.session.expire_all()
    for event in db.session.scalars(sa.select(Event)):
        row = " ".join(str(getattr(event, c.key)) for c in sa.inspect(Event).column_attrs)
        for secret in SECRETS:
            assert secret not in row, event.action
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
        Event.action == "referral.read")) > 0

    # No log line.
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert records, "the log was listened to"
    for record in records:
        text = " ".join([record.getMessage(), repr(record.args), record.exc_text or "",
                         str(getattr(record, "stack_info", "") or "")])
        for secret in SECRETS:
            assert secret not in text, (record.name, record.levelname)

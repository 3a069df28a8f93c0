"""The referral workflow through the API: the whole transition table (every action from every
state, for the right party, a wrong party and outsiders), the rules on input, and the two clocks.

The expectations are read from `supervise.referrals.workflow.TRANSITIONS`, never repeated here:
the table is what the operations, the pages and these tests share.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
import time_machine

from supervise.accounts.models import AgencyKind
from supervise.calendar import deadlines
from supervise.database import now_utc
from supervise.extensions import db
from supervise.findings.models import FindingStatus, Handling
from supervise.referrals.models import ExtensionDecision, ReferralState
from supervise.referrals.workflow import TRANSITIONS, Action, Party
from supervise.settings.models import Setting
from tests.factories import AgencyFactory, FindingFactory, ShareFactory, UserFactory
from tests.helpers import events
from tests.referrals.factories import (
    ACTOR,
    OUTSIDERS,
    S,
    api_step,
    entries,
    label,
    local,
    referral_in,
    reload,
    shanghai,
    snapshot,
)
from tests.support.api import Caller
from tests.support.records import unchanged

# --- the transition table -------------------------------------------------------------------

# The parties each of our four people plays, as domain.md defines them: staff and leaders of the
# sending agency; of the receiving agency once the referral was first sent; leaders also in
# their leader's part.
PARTIES_OF = {
    "audit_staff": ({Party.SENDER}, {Party.SENDER}),
    "audit_leader": ({Party.SENDER, Party.SENDER_LEADER}, {Party.SENDER, Party.SENDER_LEADER}),
    "disc_staff": (set(), {Party.RECEIVER}),
    "disc_leader": (set(), {Party.RECEIVER, Party.RECEIVER_LEADER}),
}
# Every state, and the two a referral sent once could be in again before revisions existed: the
# receiver does not see those until they are sent again.
STATE_CASES = [(state, False) for state in ReferralState] + [
    (S.DRAFT, True), (S.PENDING_APPROVAL, True)]


def delivered(state: ReferralState) -> bool:
    """Has the receiver got it? From the sending on. A draft or a pending approval that was
    sent once before (only in data from before revisions) is not delivered until sent again."""
    return state not in (S.DRAFT, S.PENDING_APPROVAL)


def parties(name: str, sent: bool) -> set[Party]:
    return PARTIES_OF[name][1 if sent else 0]


def case_id(case) -> str:
    state, resent = case
    return f"{state.value}-after-return" if resent else state.value


@pytest.mark.parametrize("case", STATE_CASES, ids=[case_id(c) for c in STATE_CASES])
@pytest.mark.parametrize("action", list(TRANSITIONS), ids=[a.value for a in TRANSITIONS])
def test_the_transition_table(world, as_, action, case):
    state, resent = case
    transition = TRANSITIONS[action]
    sent = delivered(state)
    referral = referral_in(world, state, resent=resent,
                           pending_extension=action == Action.DECIDE_EXTENSION and sent)
    url, body, success = api_step(action, referral)
    headers = {"Accept-Language": "en"}
    for name in (*OUTSIDERS, *PARTIES_OF):
        as_(name)  # tokens first: issuing one is no change to the referral
    before = snapshot(referral)

    # Outsiders, and the receiver before the first sending, do not know the referral exists.
    strangers = [*OUTSIDERS, *(n for n in PARTIES_OF if not parties(n, sent))]
    for name in strangers:
        response = as_(name).post(url, json=body, headers=headers)
        assert response.status_code == 404, (name, response.get_json())
        assert response.get_json() == {"status": 404, "message": "Not found."}
        assert snapshot(referral) == before

    # A party that is not the one the table names may not, whatever the state.
    wrong = [n for n in PARTIES_OF if parties(n, sent) and transition.party not in parties(n, sent)]
    for name in wrong:
        response = as_(name).post(url, json=body, headers=headers)
        assert response.status_code == 403, (name, response.get_json())
        assert snapshot(referral) == before

    if not parties(ACTOR[transition.party], sent):
        # The receiver's steps on a referral never sent: the receiver was among the strangers.
        assert state not in transition.sources
        return
    response = as_(ACTOR[transition.party]).post(url, json=body, headers=headers)
    if state not in transition.sources:
        assert response.status_code == 409, response.get_json()
        assert label(state) in response.get_json()["message"]
        assert snapshot(referral) == before
        return

    assert response.status_code == success, response.get_json()
    answer = response.get_json()
    expected = transition.target or state
    if action == Action.REVISE:  # the answer is the new draft; the returned one stays
        assert answer["state"] == S.DRAFT.value and answer["id"] != referral.public_id
    else:
        assert answer["state"] == expected.value
    assert reload(referral).state == expected
    new_entries = entries(referral)[len(before["timeline"]):]
    assert [e.action for e in new_entries] == [action.value]
    assert new_entries[0].internal == transition.internal
    assert new_entries[0].from_state == state.value
    assert new_entries[0].to_state == (transition.target.value if transition.target else None)
    assert new_entries[0].actor.username == getattr(world, ACTOR[transition.party]).username
    [event] = events(f"referral.{action.value}")
    assert event.object_id == referral.public_id
    assert event.actor_username == getattr(world, ACTOR[transition.party]).username
    assert {"state", "acknowledge_by", "answer_by", "clocks"} <= set(answer)


def test_the_table_covers_every_action_the_issue_names():
    named = {"submit", "approve", "send-back", "withdraw", "acknowledge", "return", "assign",
             "note", "answer", "close", "reopen", "chase", "request-extension",
             "decide-extension", "revise"}
    assert {a.value for a in TRANSITIONS} == named


# --- the rules on input ---------------------------------------------------------------------


@pytest.mark.parametrize(("state", "action", "party"), [
    (S.SENT, Action.RETURN, "disc_staff"),
    (S.PENDING_APPROVAL, Action.SEND_BACK, "audit_leader"),
    (S.ANSWERED, Action.REOPEN, "audit_staff"),
])
@pytest.mark.parametrize("reason", [None, "", "   ", ...], ids=["null", "empty", "blank",
                                                                 "missing"])
def test_a_reason_is_required(world, as_, state, action, party, reason):
    referral = referral_in(world, state)
    caller = as_(party)
    with unchanged(snapshot, referral):
        body = {"comment": "见附件"} if reason is ... else {"reason": reason}
        response = caller.post(f"/referrals/{referral.public_id}/{action.value}", json=body,
                               headers={"Accept-Language": "en"})
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["errors"] == {"reason": "Give a reason."}


@pytest.mark.parametrize("body", [
    {"result": "已处理"},
    {"result": "已处理", "disposition": ""},
    {"result": "已处理", "disposition": "shot_at_dawn"},
    {"result": "已处理", "disposition": None},
], ids=["missing", "empty", "unknown", "null"])
def test_an_answer_needs_a_disposition(world, as_, body):
    referral = referral_in(world, S.IN_HANDLING)
    with unchanged(snapshot, referral):
        response = as_("disc_staff").post(f"/referrals/{referral.public_id}/answer", json=body)
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == {"disposition"}


def test_an_answer_needs_a_result(world, as_):
    referral = referral_in(world, S.ACKNOWLEDGED)
    with unchanged(snapshot, referral):
        response = as_("disc_staff").post(f"/referrals/{referral.public_id}/answer",
                                          json={"disposition": "held"})
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == {"result"}


def test_an_answer_carries_its_disposition_back_to_the_sender(world, as_):
    referral = referral_in(world, S.IN_HANDLING)
    response = as_("disc_staff").post(
        f"/referrals/{referral.public_id}/answer", headers={"Accept-Language": "en"},
        json={"disposition": "case_opened", "result": "已立案审查调查。",
              "comment": "附件为立案决定书"})
    assert response.status_code == 200
    seen = as_("audit_staff").get(f"/referrals/{referral.public_id}",
                                  headers={"Accept-Language": "en"}).get_json()
    assert seen["disposition"] == {"code": "case_opened",
                                   "name": "Case opened for review and investigation"}
    assert seen["result"] == "已立案审查调查。" and seen["state"] == "answered"
    assert seen["answered_at"].endswith("+08:00")
    assert seen["clocks"]["answer"] == "met"
    # Reopened: the answer is taken back, the answer clock runs again.
    reopened = as_("audit_staff").post(f"/referrals/{referral.public_id}/reopen",
                                       json={"reason": "未说明涉案金额的处理"}).get_json()
    assert reopened["state"] == "in_handling" and reopened["disposition"] is None
    assert reopened["result"] == "" and reopened["clocks"]["answer"] == "on_time"


def test_assign_only_to_staff_of_the_receiving_agency(world, as_):
    referral = referral_in(world, S.ACKNOWLEDGED)
    UserFactory(username="disc.admin", agency=world.discipline, roles=["sysadmin"])
    UserFactory(username="disc.gone", agency=world.discipline, active=False)
    leader = as_("disc_leader")
    before = snapshot(referral)
    for handler in ("audit.staff", "insp.staff", "disc.admin", "disc.gone", "nobody", ""):
        response = leader.post(f"/referrals/{referral.public_id}/assign",
                               json={"handler": handler})
        assert response.status_code == 422, handler
        assert set(response.get_json()["errors"]) == {"handler"}
        assert snapshot(referral) == before
    response = leader.post(f"/referrals/{referral.public_id}/assign",
                           json={"handler": "DISC.Leader"})
    assert response.status_code == 200
    assert response.get_json()["handler"] == {"username": "disc.leader",
                                              "display_name": "纪委室主任"}


def test_a_note_needs_a_message(world, as_):
    referral = referral_in(world, S.IN_HANDLING)
    with unchanged(snapshot, referral):
        response = as_("disc_staff").post(f"/referrals/{referral.public_id}/note",
                                          json={"comment": "  "})
        assert response.status_code == 422 and "comment" in response.get_json()["errors"]
        chase = as_("audit_staff").post(f"/referrals/{referral.public_id}/chasers",
                                        json={"comment": ""})
        assert chase.status_code == 422 and "comment" in chase.get_json()["errors"]


@pytest.mark.parametrize("path", ["/chase", "/request-extension", "/decide-extension",
                                  "/create", "/read", "/delete", "/approve/now"])
def test_an_unknown_action_is_a_404(world, as_, path):
    referral = referral_in(world, S.SENT)
    with unchanged(snapshot, referral):
        response = as_("audit_staff").post(f"/referrals/{referral.public_id}{path}", json={})
        assert response.status_code == 404


def test_an_action_on_an_unknown_referral_is_a_404(world, as_):
    assert as_("disc_staff").post("/referrals/no-such-referral/acknowledge",
                                  json={}).status_code == 404


# --- extensions -----------------------------------------------------------------------------


def extension_url(referral):
    return f"/referrals/{referral.public_id}/extensions"


def test_an_extension_approved_moves_answer_by_to_the_end_of_that_day(world, as_):
    referral = referral_in(world, S.IN_HANDLING)
    old = referral.answer_by
    until = deadlines.local_date(old) + timedelta(days=30)
    asked = as_("disc_staff").post(extension_url(referral),
                                   json={"until": until.isoformat(), "reason": "需外调取证"})
    assert asked.status_code == 201, asked.get_json()
    [pending] = asked.get_json()["extensions"]
    assert pending["decision"] is None and pending["reason"] == "需外调取证"
    assert local(pending["requested_answer_by"]) == shanghai(until, 23, 59, 59)
    assert local(asked.get_json()["answer_by"]) == old  # not before the sender decides

    decided = as_("audit_staff").post(f"{extension_url(referral)}/{pending['id']}/approve",
                                      json={"comment": "同意延期"})
    assert decided.status_code == 200, decided.get_json()
    body = decided.get_json()
    assert body["answer_by"] == f"{until.isoformat()}T23:59:59+08:00"
    assert body["extensions"][0]["decision"] == "approved"
    assert body["extensions"][0]["decided_by"] == "审计员甲"
    assert reload(referral).answer_by == shanghai(until, 23, 59, 59)
    assert [json.loads(e.details)["decision"] for e in events("referral.decide-extension")] == [
        "approved"]
    # Decided once: a second decision finds nothing waiting.
    again = as_("audit_staff").post(f"{extension_url(referral)}/{pending['id']}/refuse")
    assert again.status_code == 404


def test_an_extension_refused_leaves_answer_by(world, as_):
    referral = referral_in(world, S.ACKNOWLEDGED)
    old = referral.answer_by
    until = deadlines.local_date(old) + timedelta(days=15)
    eid = as_("disc_staff").post(extension_url(referral), json={
        "until": until.isoformat(), "reason": "需外调取证"}).get_json()["extensions"][0]["id"]
    refused = as_("audit_staff").post(f"{extension_url(referral)}/{eid}/refuse",
                                      json={"comment": "请按期办结"})
    assert refused.status_code == 200
    assert local(refused.get_json()["answer_by"]) == old
    assert refused.get_json()["extensions"][0]["decision"] == "refused"
    row = reload(referral)
    assert row.answer_by == old and row.extensions[0].decision == ExtensionDecision.REFUSED
    # Another request may follow a decision.
    assert as_("disc_staff").post(extension_url(referral), json={
        "until": until.isoformat(), "reason": "补充理由"}).status_code == 201


@pytest.mark.parametrize("offset", [0, -1, -40], ids=["same day", "day before", "long before"])
def test_an_extension_must_go_beyond_the_current_answer_by(world, as_, offset):
    referral = referral_in(world, S.IN_HANDLING)
    until = deadlines.local_date(referral.answer_by) + timedelta(days=offset)
    with unchanged(snapshot, referral):
        response = as_("disc_staff").post(extension_url(referral),
                                          json={"until": until.isoformat(), "reason": "需延期"})
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == {"until"}


def test_an_extension_may_not_go_beyond_the_limit(world, as_):
    referral = referral_in(world, S.IN_HANDLING)
    limit = deadlines.local_date(referral.answer_limit)
    before = snapshot(referral)
    response = as_("disc_staff").post(extension_url(referral), json={
        "until": (limit + timedelta(days=1)).isoformat(), "reason": "需延期"},
        headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert limit.isoformat() in response.get_json()["errors"]["until"]
    assert snapshot(referral) == before
    # The limit itself is allowed.
    assert as_("disc_staff").post(extension_url(referral), json={
        "until": limit.isoformat(), "reason": "需延期"}).status_code == 201


def test_the_limit_is_the_maximum_answer_period_after_sending(world, as_):
    with time_machine.travel(shanghai(date(2026, 3, 2), 9), tick=False):
        referral = referral_in(world, S.PENDING_APPROVAL)
        as_("audit_leader").post(f"/referrals/{referral.public_id}/approve")
        as_("disc_staff").post(f"/referrals/{referral.public_id}/acknowledge")
        # sent 2026-03-02: answer by 2026-06-02, six months at most: 2026-09-02
        row = reload(referral)
        assert row.answer_by == shanghai(date(2026, 6, 2), 23, 59, 59)
        assert row.answer_limit == shanghai(date(2026, 9, 2), 23, 59, 59)
        assert row.calendar_complete is True  # every deadline falls in 2026, which is known
        ok = as_("disc_staff").post(extension_url(referral), json={
            "until": "2026-09-02", "reason": "需延期"})
        assert ok.status_code == 201


@pytest.mark.parametrize("until", ["2026-02-30", "2026-13-01", "next week", "", None])
def test_an_extension_date_must_be_a_date(world, as_, until):
    referral = referral_in(world, S.IN_HANDLING)
    with unchanged(snapshot, referral):
        response = as_("disc_staff").post(extension_url(referral),
                                          json={"until": until, "reason": "需延期"})
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == {"until"}


def test_an_extension_needs_a_reason(world, as_):
    referral = referral_in(world, S.IN_HANDLING)
    until = deadlines.local_date(referral.answer_by) + timedelta(days=5)
    with unchanged(snapshot, referral):
        for body in ({"until": until.isoformat()}, {"until": until.isoformat(), "reason": " "}):
            response = as_("disc_staff").post(extension_url(referral), json=body)
            assert response.status_code == 422
            assert set(response.get_json()["errors"]) == {"reason"}


def test_a_second_extension_request_while_one_is_pending_is_a_409(world, as_):
    referral = referral_in(world, S.IN_HANDLING, pending_extension=True)
    until = deadlines.local_date(referral.answer_by) + timedelta(days=5)
    with unchanged(snapshot, referral):
        response = as_("disc_staff").post(extension_url(referral),
                                          json={"until": until.isoformat(), "reason": "再次申请"})
        assert response.status_code == 409


def test_a_decision_names_an_extension_of_that_referral(world, as_):
    referral = referral_in(world, S.IN_HANDLING, pending_extension=True)
    other = referral_in(world, S.IN_HANDLING, pending_extension=True)
    other_eid = other.extensions[0].public_id
    before = snapshot(referral)
    for eid in (other_eid, "no-such-extension"):
        response = as_("audit_staff").post(f"{extension_url(referral)}/{eid}/approve")
        assert response.status_code == 404
    assert as_("audit_staff").post(
        f"{extension_url(referral)}/{referral.extensions[0].public_id}/postpone"
    ).status_code == 404
    assert snapshot(referral) == before
    # The receiver asked; it may not decide.
    assert as_("disc_leader").post(
        f"{extension_url(referral)}/{referral.extensions[0].public_id}/approve"
    ).status_code == 403
    assert snapshot(referral) == before


# --- creating: the receiver and the findings cited ------------------------------------------


def new_referral(**changes):
    body = {"receiver": "discipline", "kind": "clue", "title": "违规发放津补贴问题线索",
            "audit_scope": "2025年度区教育局部门预算执行审计",
            "facts": "区教育局以加班费名义违规发放津补贴。", "classification": "违规发放津补贴",
            "basis": "《审计法》第五十二条", "opinion": "建议依纪依法处理",
            "feedback_request": "请书面反馈", "persons_involved": [
                {"name": "李某某", "position": "财务科科长"}], "findings": []}
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


@pytest.mark.parametrize("receiver", ["edu", "audit", "nowhere", ""])
def test_a_referral_goes_to_another_agency_that_is_no_audited_unit(world, as_, receiver):
    response = as_("audit_staff").post("/referrals", json=new_referral(receiver=receiver))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"receiver"}
    assert events("referral.create") == []


@pytest.mark.parametrize("receiver", ["discipline", "finance", "org", "inspection"])
def test_any_other_agency_may_receive_one(world, as_, receiver):
    response = as_("audit_staff").post("/referrals", json=new_referral(receiver=receiver))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["receiver"]["code"] == receiver


def citable(world):
    """Findings by how the audit bureau may cite them."""
    own = FindingFactory(owner_agency=world.audit, unit=world.edu, created_by=world.audit_staff)
    draft = FindingFactory(owner_agency=world.audit, unit=world.edu, created_by=world.audit_staff,
                           status=FindingStatus.DRAFT, issued_at=None)

    def inspections(handling=None, withdrawn=False):
        made = FindingFactory(owner_agency=world.inspection, unit=world.edu,
                              created_by=world.insp_staff)
        if handling:
            ShareFactory(finding=made, agency=world.audit, handling=handling,
                         shared_by=world.insp_staff,
                         withdrawn_at=now_utc() if withdrawn else None,
                         withdrawn_by=world.insp_staff if withdrawn else None)
        return made

    return {
        "own issued": (own, True),
        "own draft": (draft, False),
        "shared may_refer": (inspections(Handling.MAY_REFER), True),
        "shared read_only": (inspections(Handling.READ_ONLY), False),
        "shared may_refer, withdrawn": (inspections(Handling.MAY_REFER, withdrawn=True), False),
        "not shared": (inspections(), False),
        "shared with another agency": (_shared_elsewhere(world), False),
    }


def _shared_elsewhere(world):
    made = FindingFactory(owner_agency=world.inspection, unit=world.edu,
                          created_by=world.insp_staff)
    ShareFactory(finding=made, agency=world.discipline, handling=Handling.MAY_REFER,
                 shared_by=world.insp_staff)
    return made


CITABLE_CASES = ["own issued", "own draft", "shared may_refer", "shared read_only",
                 "shared may_refer, withdrawn", "not shared", "shared with another agency"]


@pytest.mark.parametrize("case", CITABLE_CASES)
def test_only_findings_the_sender_may_refer_can_be_cited(world, as_, case):
    finding, allowed = citable(world)[case]
    response = as_("audit_staff").post("/referrals",
                                       json=new_referral(findings=[finding.public_id]))
    if allowed:
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["findings"] == [{"id": finding.public_id,
                                                    "title": finding.title}]
    else:
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == {"findings"}
        assert events("referral.create") == []


@pytest.mark.parametrize("case", [c for c in CITABLE_CASES
                                  if c not in ("own issued", "shared may_refer")])
def test_a_finding_that_may_not_be_cited_cannot_be_added_later(world, as_, case):
    referral = referral_in(world, S.DRAFT)
    finding, _ = citable(world)[case]
    with unchanged(snapshot, referral):
        response = as_("audit_staff").patch(f"/referrals/{referral.public_id}", json={
            "version": referral.version, "findings": [finding.public_id]})
        assert response.status_code == 422


def test_the_audited_unit_and_other_outsiders_send_no_referrals(world, as_):
    for name in ("unit_contact", "disc_staff", "org_staff"):
        assert as_(name).post("/referrals",
                              json=new_referral(receiver="audit")).status_code == 403
    assert events("referral.create") == []


# --- the clocks -----------------------------------------------------------------------------


def send(as_, referral, at: datetime):
    """Submit (if needed) and approve at `at`: the referral is sent then."""
    with time_machine.travel(at, tick=False):
        if reload(referral).state != S.PENDING_APPROVAL:
            assert as_("audit_staff").post(
                f"/referrals/{referral.public_id}/submit").status_code == 200
        response = as_("audit_leader").post(f"/referrals/{referral.public_id}/approve")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def read(as_, referral, at: datetime, name="audit_staff"):
    with time_machine.travel(at, tick=False):
        response = as_(name).get(f"/referrals/{referral.public_id}")
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize(("sent", "acknowledge_by", "answer_by"), [
    # Tuesday before National Day: Sep 30, then the holidays (Oct 1-7), then Oct 8 and 9.
    (date(2026, 9, 29), date(2026, 10, 9), date(2026, 12, 29)),
    # The Saturday Oct 10 is a working day (调休).
    (date(2026, 9, 30), date(2026, 10, 10), date(2026, 12, 30)),
    # Three months after Jul 1 is Oct 1, a holiday: the next working day, Oct 8.
    (date(2026, 7, 1), date(2026, 7, 6), date(2026, 10, 8)),
    # Sent on a Saturday; three months later is a Sunday: Monday.
    (date(2026, 8, 29), date(2026, 9, 2), date(2026, 11, 30)),
], ids=["before National Day", "working Saturday", "answer-by on a holiday",
        "answer-by on a Sunday"])
def test_clocks_start_when_the_referral_is_sent(world, as_, sent, acknowledge_by, answer_by):
    referral = referral_in(world, S.PENDING_APPROVAL)
    body = send(as_, referral, shanghai(sent, 10))
    assert body["state"] == "sent"
    assert body["sent_at"] == f"{sent.isoformat()}T10:00:00+08:00"
    assert body["acknowledge_by"] == f"{acknowledge_by.isoformat()}T23:59:59+08:00"
    assert body["answer_by"] == f"{answer_by.isoformat()}T23:59:59+08:00"
    assert body["calendar_complete"] is True
    # Three working days to acknowledge are fewer than the five of the warning: due soon at once.
    assert body["clocks"] == {"acknowledge": "due_soon", "answer": "on_time"}
    row = reload(referral)
    assert row.first_sent_at == row.sent_at == shanghai(sent, 10)


def test_clock_statuses_over_time(world, as_):
    referral = referral_in(world, S.PENDING_APPROVAL)
    send(as_, referral, shanghai(date(2026, 9, 29), 10))
    ack_by = shanghai(date(2026, 10, 9), 23, 59, 59)

    assert read(as_, referral, ack_by)["clocks"]["acknowledge"] == "due_soon"
    overdue = read(as_, referral, ack_by + timedelta(seconds=1))
    assert overdue["clocks"] == {"acknowledge": "overdue", "answer": "on_time"}

    with time_machine.travel(ack_by + timedelta(hours=10), tick=False):
        assert as_("disc_staff").post(
            f"/referrals/{referral.public_id}/acknowledge").status_code == 200
    # Answer by 2026-12-29 (Tue): the five working days Dec 23-29 are "due soon".
    late = read(as_, referral, shanghai(date(2026, 12, 22), 23, 59, 59))
    assert late["clocks"] == {"acknowledge": "met_late", "answer": "on_time"}
    assert read(as_, referral, shanghai(date(2026, 12, 23)))["clocks"]["answer"] == "due_soon"
    assert read(as_, referral, shanghai(date(2026, 12, 29), 23, 59, 59))["clocks"]["answer"] \
        == "due_soon"
    assert read(as_, referral, shanghai(date(2026, 12, 30)))["clocks"] == {
        "acknowledge": "met_late", "answer": "overdue"}


def test_an_acknowledgement_in_time_is_met(world, as_):
    referral = referral_in(world, S.PENDING_APPROVAL)
    send(as_, referral, shanghai(date(2026, 9, 29), 10))
    with time_machine.travel(shanghai(date(2026, 10, 9), 23, 59, 59), tick=False):
        response = as_("disc_staff").post(f"/referrals/{referral.public_id}/acknowledge")
    assert response.get_json()["clocks"] == {"acknowledge": "met", "answer": "on_time"}
    assert response.get_json()["acknowledged_at"] == "2026-10-09T23:59:59+08:00"


def test_a_return_stops_the_clocks_and_a_resend_starts_new_ones(world, as_):
    referral = referral_in(world, S.PENDING_APPROVAL)
    send(as_, referral, shanghai(date(2026, 9, 29), 10))
    with time_machine.travel(shanghai(date(2026, 9, 30), 9), tick=False):
        returned = as_("disc_staff").post(f"/referrals/{referral.public_id}/return",
                                          json={"reason": "材料不全，请补充证据"})
    assert returned.status_code == 200
    assert returned.get_json()["clocks"] == {"acknowledge": "stopped", "answer": "stopped"}
    # The receiver still sees what it returned. Stopped stays stopped, past the old deadline.
    seen = read(as_, referral, shanghai(date(2026, 10, 12), 8), "disc_staff")
    assert seen["state"] == "returned"
    assert seen["clocks"] == {"acknowledge": "stopped", "answer": "stopped"}
    # The sender revises (a new draft) and sends again.
    with time_machine.travel(shanghai(date(2026, 10, 12), 9), tick=False):
        draft = as_("audit_staff").post(f"/referrals/{referral.public_id}/revisions")
        assert draft.status_code == 201, draft.get_json()
        draft = draft.get_json()
        revised = as_("audit_staff").patch(f"/referrals/{draft['id']}", json={
            "version": draft["version"], "facts": "补充了银行流水。"})
    assert revised.status_code == 200, revised.get_json()
    assert revised.get_json()["clocks"] == {"acknowledge": None, "answer": None}

    resent = send(as_, reload(draft["id"]), shanghai(date(2026, 10, 12), 15))
    # From Monday Oct 12: Oct 13, 14, 15.
    assert resent["acknowledge_by"] == "2026-10-15T23:59:59+08:00"
    assert resent["answer_by"] == "2027-01-12T23:59:59+08:00"
    assert resent["sent_at"] == "2026-10-12T15:00:00+08:00"
    assert resent["clocks"] == {"acknowledge": "due_soon", "answer": "on_time"}
    # 2027 has no calendar data yet: weekends only, and the referral says so.
    assert resent["calendar_complete"] is False
    # The returned one keeps its history and its stopped clocks.
    row = reload(referral)
    assert row.first_sent_at == shanghai(date(2026, 9, 29), 10)
    assert row.acknowledged_at is None and row.state == S.RETURNED
    assert [e.action for e in entries(referral)] == ["approve", "return", "revise"]
    assert [e.action for e in entries(reload(draft["id"]))] == ["create", "submit", "approve"]
    assert reload(draft["id"]).previous_id == row.id


def test_a_withdrawal_stops_the_clocks(world, as_):
    referral = referral_in(world, S.PENDING_APPROVAL)
    send(as_, referral, shanghai(date(2026, 9, 29), 10))
    with time_machine.travel(shanghai(date(2026, 9, 29), 11), tick=False):
        response = as_("audit_staff").post(f"/referrals/{referral.public_id}/withdraw",
                                           json={"comment": "发错了"})
    assert response.get_json()["clocks"] == {"acknowledge": "stopped", "answer": "stopped"}
    assert response.get_json()["actions"] == []


def test_a_draft_has_no_clocks(world, as_):
    referral = referral_in(world, S.DRAFT)
    body = as_("audit_staff").get(f"/referrals/{referral.public_id}").get_json()
    assert body["clocks"] == {"acknowledge": None, "answer": None}
    assert body["acknowledge_by"] is None and body["answer_by"] is None


def test_the_settings_decide_the_clocks(world, as_):
    for key, value in (("acknowledge_working_days", 5), ("answer_months", 2),
                       ("answer_max_months", 4), ("due_soon_working_days", 2)):
        db.session.add(Setting(key=key, value=value))
    db.session.commit()
    referral = referral_in(world, S.PENDING_APPROVAL)
    body = send(as_, referral, shanghai(date(2026, 9, 29), 10))
    # Sep 30, Oct 8, 9, 10 (Saturday, working), 12.
    assert body["acknowledge_by"] == "2026-10-12T23:59:59+08:00"
    assert body["answer_by"] == "2026-11-30T23:59:59+08:00"  # Nov 29 is a Sunday
    assert body["clocks"]["acknowledge"] == "on_time"
    assert read(as_, referral, shanghai(date(2026, 10, 10)))["clocks"]["acknowledge"] == \
        "due_soon"
    assert reload(referral).answer_limit == shanghai(date(2027, 1, 29), 23, 59, 59)


def test_the_clock_filters(world, as_):
    now = shanghai(date(2026, 10, 12), 12)
    with time_machine.travel(now, tick=False):
        # sent Sep 29: acknowledge by Oct 9, overdue now
        late_ack = referral_in(world, S.SENT, sent_at=shanghai(date(2026, 9, 29), 10))
        # sent Oct 12 (this morning): acknowledge by Oct 15, due soon
        fresh = referral_in(world, S.SENT, sent_at=shanghai(date(2026, 10, 12), 9))
        # acknowledged; answer by 2026-10-15: due soon
        answer_soon = referral_in(world, S.IN_HANDLING, sent_at=shanghai(date(2026, 7, 15), 9))
        # acknowledged; answer by 2026-12-29: on time
        on_time = referral_in(world, S.ACKNOWLEDGED, sent_at=shanghai(date(2026, 9, 29), 10))
        # answered: its clocks are met, whatever the time
        answered = referral_in(world, S.ANSWERED, sent_at=shanghai(date(2026, 6, 1), 10))
        # returned: stopped, though the old deadline is past
        returned = referral_in(world, S.RETURNED, sent_at=shanghai(date(2026, 9, 1), 10))
        sender, receiver = as_("audit_staff"), as_("disc_staff")
        for caller in (sender, receiver):
            assert caller.ids(clock="overdue") == {late_ack.public_id}
            assert caller.ids(clock="due_soon") == {fresh.public_id, answer_soon.public_id}
            assert caller.ids() == {r.public_id for r in (late_ack, fresh, answer_soon, on_time,
                                                           answered, returned)}
        items = {i["id"]: i for i in sender.list()["items"]}
        assert items[late_ack.public_id]["clocks"] == {"acknowledge": "overdue",
                                                       "answer": "on_time"}
        assert items[answered.public_id]["clocks"] == {"acknowledge": "met", "answer": "met"}
        assert items[returned.public_id]["clocks"] == {"acknowledge": "stopped",
                                                       "answer": "stopped"}
        assert items[answer_soon.public_id]["clocks"]["answer"] == "due_soon"
        assert sender.ids(clock="overdue", state="acknowledged") == set()
        assert sender.ids(clock="due_soon", state="sent") == {fresh.public_id}


# --- other agencies than the audit bureau ---------------------------------------------------


def test_the_inspection_office_refers_to_the_finance_department(world, as_):
    """Not only the audit bureau sends, and not only the commission receives."""
    finance_staff = UserFactory(username="fin.staff", agency=world.finance)
    finance_leader = UserFactory(username="fin.leader", agency=world.finance, roles=["leader"])
    insp_leader = UserFactory(username="insp.leader", agency=world.inspection, roles=["leader"])
    insp = as_("insp_staff")
    created = insp.post("/referrals", json=new_referral(receiver="finance", kind="handling"))
    assert created.status_code == 201
    rid = created.get_json()["id"]
    fin, fin_leader = Caller(world.client, finance_staff), Caller(world.client, finance_leader)
    leader = Caller(world.client, insp_leader)
    assert fin.get(f"/referrals/{rid}").status_code == 404
    assert insp.post(f"/referrals/{rid}/submit").status_code == 200
    assert leader.post(f"/referrals/{rid}/approve").status_code == 200
    assert fin.post(f"/referrals/{rid}/acknowledge").status_code == 200
    assert fin_leader.post(f"/referrals/{rid}/assign",
                           json={"handler": "fin.staff"}).status_code == 200
    answered = fin.post(f"/referrals/{rid}/answer",
                        json={"disposition": "handled", "result": "已收回违规资金。"})
    assert answered.status_code == 200
    assert insp.post(f"/referrals/{rid}/close").get_json()["state"] == "closed"
    # The audit bureau and the commission never knew.
    for name in ("audit_staff", "disc_staff"):
        assert as_(name).get(f"/referrals/{rid}").status_code == 404
        assert as_(name).list()["total"] == 0


def test_another_audit_bureau_is_an_outsider(world, as_):
    other = AgencyFactory(code="city-discipline", name="市纪委监委", kind=AgencyKind.DISCIPLINE)
    referral = referral_in(world, S.SENT, receiver_agency=other)
    for name in ("audit2_staff", "disc_staff", "disc_leader"):
        assert as_(name).get(f"/referrals/{referral.public_id}").status_code == 404

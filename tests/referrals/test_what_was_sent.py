"""What was sent stays as it was sent: a receiver sees a referral only once it was sent to it
with the sending leader's approval, keeps seeing what it received after it returns it, and
nobody outside the sending agency sees a change of receiver, persons or facts before a leader
approves it again. Each agency's internal steps stay inside it.

The holes this closes were found from outside (issue 8): a returned referral re-addressed by a
PATCH was readable at once by the new receiver, persons involved and return reason included,
while the agency that returned it lost it.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import page_text
from tests.referrals.factories import reload, snapshot
from tests.support.files import PDF, package_text

PERSON = "欧阳某某XK1"
APPROVAL_COMMENT = "同意移送，注意保密XK2"
RETURN_REASON = "不属于本机关管辖XK3"
NEW_PERSON = "司马某XK4"


def _ledger_text(caller) -> str:
    response = caller.get("/ledgers/referrals.xlsx")
    try:
        assert response.status_code == 200
        return package_text(response.get_data())
    finally:
        response.close()


def _page(world, username, url):
    client = world.client.application.test_client()
    assert client.sign_in(username).status_code == 302
    return client.get(url)


@pytest.fixture
def returned(world, as_):
    """Sent to the commission with a person involved, approved with a comment, returned."""
    owner, leader = as_("audit_staff"), as_("audit_leader")
    rid = owner.post("/referrals", json={
        "receiver": "discipline", "kind": "clue", "title": "关于某局违规发放津补贴的问题线索",
        "facts": "违规发放津补贴123456元。",
        "persons_involved": [{"name": PERSON, "position": "局长"}]}).get_json()["id"]
    assert owner.post(f"/referrals/{rid}/submit").status_code == 200
    assert leader.post(f"/referrals/{rid}/approve",
                       json={"comment": APPROVAL_COMMENT}).status_code == 200
    assert as_("disc_staff").post(f"/referrals/{rid}/return",
                                  json={"reason": RETURN_REASON}).status_code == 200
    return rid


def _hidden_from(world, as_, names, rid, *markers):
    for name in names:
        caller = as_(name)
        assert caller.get(f"/referrals/{rid}").status_code == 404, name
        assert rid not in caller.ids()
        ledger = _ledger_text(caller)
        for marker in (rid, *markers):
            assert marker not in ledger, (name, marker)
        page = _page(world, getattr(world, name).username, f"/referrals/{rid}")
        assert page.status_code == 404, name


def test_a_returned_referral_cannot_be_re_addressed(world, as_, returned):
    rid = returned
    before = snapshot(reload(rid))
    response = as_("audit_staff").patch(f"/referrals/{rid}", json={
        "version": before["referral"]["version"], "receiver": "inspection"})
    assert response.status_code == 409
    assert PERSON not in response.get_data(as_text=True)
    assert snapshot(reload(rid)) == before
    # Nor its persons or facts changed, through the page either.
    page = _page(world, "audit.staff", f"/referrals/{rid}/edit")
    assert page.status_code in (403, 409)
    _hidden_from(world, as_, ("insp_staff",), rid, PERSON, RETURN_REASON)

    # The commission keeps what it received and returned, in full.
    seen = as_("disc_staff").get(f"/referrals/{rid}").get_json()
    assert seen["state"] == "returned" and seen["receiver"]["code"] == "discipline"
    assert [p["name"] for p in seen["persons_involved"]] == [PERSON]
    assert RETURN_REASON in [e["comment"] for e in seen["timeline"]]
    assert rid in as_("disc_staff").ids(role="received")
    assert _page(world, "disc.staff", f"/referrals/{rid}").status_code == 200


def test_a_revision_is_seen_outside_only_once_approved_again(world, as_, returned):
    rid = returned
    owner, leader = as_("audit_staff"), as_("audit_leader")
    draft = owner.post(f"/referrals/{rid}/revisions").get_json()
    new_id = draft["id"]
    changed = owner.patch(f"/referrals/{new_id}", json={
        "version": draft["version"], "receiver": "inspection",
        "persons_involved": [{"name": NEW_PERSON, "position": "副局长"}]})
    assert changed.status_code == 200, changed.get_json()
    assert owner.post(f"/referrals/{new_id}/submit").status_code == 200
    # Submitted, not yet approved: nobody outside the audit bureau sees it.
    _hidden_from(world, as_, ("insp_staff", "disc_staff"), new_id, NEW_PERSON)
    _hidden_from(world, as_, ("insp_staff",), rid, PERSON)
    # A leader sends it back to draft: still nobody.
    assert leader.post(f"/referrals/{new_id}/send-back",
                       json={"reason": "请补充"}).status_code == 200
    _hidden_from(world, as_, ("insp_staff", "disc_staff"), new_id, NEW_PERSON)

    assert owner.post(f"/referrals/{new_id}/submit").status_code == 200
    assert leader.post(f"/referrals/{new_id}/approve").status_code == 200
    # Now the inspection office has it: what was approved, without the commission's return
    # reason or anything of the earlier sending.
    seen = as_("insp_staff").get(f"/referrals/{new_id}")
    assert seen.status_code == 200
    body = seen.get_data(as_text=True)
    assert NEW_PERSON in body and PERSON not in body and RETURN_REASON not in body
    assert rid not in body
    # The earlier one stays out of its reach; the commission never sees the revision.
    _hidden_from(world, as_, ("insp_staff",), rid, PERSON, RETURN_REASON)
    _hidden_from(world, as_, ("disc_staff",), new_id, NEW_PERSON)
    assert as_("disc_staff").get(f"/referrals/{rid}").get_json()["state"] == "returned"


def test_the_other_party_sees_the_timeline_from_the_sending(world, as_, returned):
    rid = returned
    seen = as_("disc_staff").get(f"/referrals/{rid}").get_json()
    # The leader's approval is, to the receiver, the sending; its comment is the bureau's own.
    assert [e["action"] for e in seen["timeline"]] == ["sent", "return"]
    assert seen["timeline"][0]["comment"] == ""
    assert APPROVAL_COMMENT not in as_("disc_staff").get(
        f"/referrals/{rid}").get_data(as_text=True)
    page = page_text(_page(world, "disc.staff", f"/referrals/{rid}"))
    timeline = page[page.index("办理过程"):]
    assert APPROVAL_COMMENT not in page
    assert "移送 → 已移送待签收" in timeline and "退回" in timeline
    assert not {"起草", "提交审批", "审批并移送"} & set(re.findall(r"\w+", timeline))
    # The sender reads its own steps, comments included.
    own = as_("audit_staff").get(f"/referrals/{rid}").get_json()
    assert [e["action"] for e in own["timeline"]] == ["create", "submit", "approve", "return"]
    assert own["timeline"][2]["comment"] == APPROVAL_COMMENT


def test_a_revision_names_the_referral_it_revises_to_the_sender_only(world, as_, returned):
    rid = returned
    new_id = as_("audit_staff").post(f"/referrals/{rid}/revisions").get_json()["id"]
    own = as_("audit_staff").get(f"/referrals/{new_id}").get_json()
    assert own["previous"] == rid
    assert as_("audit_staff").get(f"/referrals/{rid}").get_json()["revision"] == new_id
    # The commission, which returned it, is not told that (or where) it was revised.
    assert as_("disc_staff").get(f"/referrals/{rid}").get_json()["revision"] is None
    page = _page(world, "audit.staff", f"/referrals/{rid}")
    assert new_id in page.get_data(as_text=True)
    assert new_id not in _page(world, "disc.staff", f"/referrals/{rid}").get_data(as_text=True)


def test_evidence_comes_along_as_a_file_of_its_own(world, as_, upload_dir):
    owner = as_("audit_staff")
    rid = owner.post("/referrals", json={"receiver": "discipline", "kind": "clue",
                                         "title": "带证据的线索", "facts": "事实"}).get_json()["id"]
    assert owner.upload(f"/referrals/{rid}/attachments",
                        {"file": (PDF, "证据.pdf")}).status_code == 201
    assert owner.post(f"/referrals/{rid}/submit").status_code == 200
    assert as_("audit_leader").post(f"/referrals/{rid}/approve").status_code == 200
    assert as_("disc_staff").post(f"/referrals/{rid}/return",
                                  json={"reason": "退回"}).status_code == 200
    draft = owner.post(f"/referrals/{rid}/revisions").get_json()
    [old] = reload(rid).attachments
    [new] = reload(draft["id"]).attachments
    assert new.sha256 == old.sha256 and new.storage_name != old.storage_name
    assert len(list(upload_dir.iterdir())) == 2
    response = owner.get(f"/referrals/{draft['id']}/attachments/{new.public_id}")
    assert response.status_code == 200 and response.get_data() == PDF
    response.close()


def test_the_receiver_reads_the_cited_findings_and_their_evidence_as_sent(world, as_,
                                                                         upload_dir):
    """Evidence travels with the referral: the commission reads each cited finding's text and
    downloads its evidence, as they were when the referral was sent, although it cannot read the
    finding itself; a later edit of the finding changes nothing of what was sent."""
    from tests.factories import FindingFactory

    finding = FindingFactory(owner_agency=world.audit, unit=world.edu, created_by=world.audit_staff,
                             facts="原始事实XK5", legal_basis="定性依据XK6")
    owner, leader, receiver = as_("audit_staff"), as_("audit_leader"), as_("disc_staff")
    assert owner.attach(finding.public_id, PDF, "凭证.pdf").status_code == 201
    rid = owner.post("/referrals", json={
        "receiver": "discipline", "kind": "clue", "title": "关于某局违规发放津补贴的问题线索",
        "facts": "违规发放津补贴。", "findings": [finding.public_id]}).get_json()["id"]
    assert receiver.get(f"/findings/{finding.public_id}").status_code == 404
    before = receiver.get(f"/referrals/{rid}")
    assert before.status_code == 404  # a draft: nothing reaches the commission
    assert owner.post(f"/referrals/{rid}/submit").status_code == 200
    assert leader.post(f"/referrals/{rid}/approve").status_code == 200

    version = owner.get(f"/findings/{finding.public_id}").get_json()["version"]
    assert owner.patch(f"/findings/{finding.public_id}", json={
        "version": version, "facts": "改写后的事实"}).status_code == 200
    assert owner.get(f"/findings/{finding.public_id}").get_json()["facts"] == "改写后的事实"

    [cited] = receiver.get(f"/referrals/{rid}").get_json()["cited_findings"]
    assert cited["facts"] == "原始事实XK5" and cited["legal_basis"] == "定性依据XK6"
    assert cited["unit"]["name"] == "区教育局" and cited["amount"] == "1234.56"
    [evidence] = cited["attachments"]
    assert evidence["filename"] == "凭证.pdf"
    download = receiver.get(f"/referrals/{rid}/attachments/{evidence['id']}")
    assert download.status_code == 200 and download.get_data() == PDF
    download.close()

    page = page_text(_page(world, "disc.staff", f"/referrals/{rid}"))
    assert "原始事实XK5" in page and "定性依据XK6" in page and "凭证.pdf" in page
    assert "改写后的事实" not in page
    # An outsider reaches neither the referral nor the copy of the evidence.
    assert as_("insp_staff").get(
        f"/referrals/{rid}/attachments/{evidence['id']}").status_code == 404


def test_files_of_an_answer_are_listed_with_the_answer(world, as_, upload_dir):
    from supervise.referrals.models import ReferralState as S
    from tests.referrals.factories import referral_in

    referral = referral_in(world, S.IN_HANDLING)
    answered = as_("disc_staff").upload(f"/referrals/{referral.public_id}/answer", {
        "version": str(referral.version), "disposition": "preliminary_verification",
        "result": "已初步核实。", "files": (PDF, "核实报告.pdf")})
    assert answered.status_code == 200, answered.get_json()
    page = _page(world, "audit.staff", f"/referrals/{referral.public_id}")
    html = page.get_data(as_text=True)
    result = html[html.index('id="clock-answer"'):html.index('id="timeline"')]
    assert "已初步核实。" in result and 'id="answer-files"' in result and "核实报告.pdf" in result

"""What was sent stays as it was sent: a receiver sees a referral only once it was sent to it
with the sending leader's approval, keeps seeing what it received after it returns it, and
nobody outside the sending agency sees a change of receiver, persons or facts before a leader
approves it again. Each agency's internal steps stay inside it.

The holes this closes were found from outside (issue 8): a returned referral re-addressed by a
PATCH was readable at once by the new receiver, persons involved and return reason included,
while the agency that returned it lost it.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.conftest import page_text
from tests.referrals.factories import reload, snapshot
from tests.support.files import PDF

PERSON = "欧阳某某XK1"
APPROVAL_COMMENT = "同意移送，注意保密XK2"
RETURN_REASON = "不属于本机关管辖XK3"
NEW_PERSON = "司马某XK4"


def _ledger_text(caller) -> str:
    response = caller.get("/ledgers/referrals.xlsx")
    try:
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace")
                             for n in archive.namelist())
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
    assert [e["action"] for e in seen["timeline"]] == ["approve", "return"]
    approval = seen["timeline"][0]
    assert approval["comment"] == ""  # the leader's comment is the audit bureau's own
    assert APPROVAL_COMMENT not in as_("disc_staff").get(
        f"/referrals/{rid}").get_data(as_text=True)
    page = _page(world, "disc.staff", f"/referrals/{rid}")
    assert APPROVAL_COMMENT not in page_text(page)
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

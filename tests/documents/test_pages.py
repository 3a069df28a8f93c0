"""Documents on the record's page: the panel with every version and its number, the buttons of
the issuing side (or why not yet), downloads; the agency leader's number prefixes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from supervise.database import now_utc
from supervise.documents.models import Document, NumberPrefix
from supervise.events.models import Event
from supervise.extensions import db
from tests.documents.conftest import docx_text
from tests.documents.test_documents import PERSON, count, year
from tests.rectifications.factories import S as RS
from tests.rectifications.factories import rectification_in
from tests.referrals.factories import S, referral_in


def signed_in(world, client, name: str):
    assert client.sign_in(getattr(world, name).username).status_code == 302
    return client


def links(page: str) -> list[str]:
    return re.findall(r'href="(/(?:referrals|rectifications)/[^"]+/documents/[^"]+)"', page)


def test_the_sender_makes_a_referral_letter_from_the_referral_page(world, client, new_client):
    referral = referral_in(world, S.SENT, persons=((PERSON, "校长"),))
    staff = signed_in(world, client, "audit_staff")
    page = staff.get(f"/referrals/{referral.public_id}").get_data(as_text=True)
    assert "公文" in page and "尚未生成公文" in page
    assert "生成审计移送处理书" in page
    assert "催办函仅针对签收或办理结果反馈已逾期的移送事项生成" in page  # why not the chaser
    made = staff.post_form(f"/referrals/{referral.public_id}/documents/referral_letter",
                           follow_redirects=True)
    page = made.get_data(as_text=True)
    assert made.status_code == 200
    assert f"已生成审计移送处理书 〔{year()}〕1号（第1版）" in page
    assert f"〔{year()}〕1号" in page and "重新生成审计移送处理书" in page
    [docx_link] = [u for u in links(page) if u.endswith("/docx")]
    download = staff.get(docx_link, buffered=True)
    assert download.status_code == 200 and PERSON in docx_text(download.data)

    # The receiver reads it on its page, with no button to make one.
    receiver = signed_in(world, new_client(), "disc_staff")
    page = receiver.get(f"/referrals/{referral.public_id}").get_data(as_text=True)
    assert f"〔{year()}〕1号" in page and "生成审计移送处理书" not in page
    assert receiver.get(docx_link, buffered=True).status_code == 200
    # Anyone else: the address does not exist.
    for outsider in ("insp_staff", "unit_contact", "audit2_staff"):
        assert signed_in(world, new_client(), outsider).get(docx_link).status_code == 404


def test_a_refused_document_is_said_on_the_page_and_changes_nothing(world, client):
    referral = referral_in(world, S.SENT)
    staff = signed_in(world, client, "audit_staff")
    before = count(Event)
    response = staff.post_form(f"/referrals/{referral.public_id}/documents/chaser")
    assert response.status_code == 302
    assert (count(Document), count(Event)) == (0, before)
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "催办函仅针对签收或办理结果反馈已逾期的移送事项生成" in page
    for url in (f"/referrals/{referral.public_id}/documents/memo",
                f"/referrals/{referral.public_id}/documents/rectification_notice",
                f"/memos/{referral.public_id}/documents/chaser"):
        assert staff.post_form(url).status_code == 404, url
    # Without the form's token nothing is made.
    assert staff.post(f"/referrals/{referral.public_id}/documents/referral_letter") \
        .status_code == 400
    assert count(Document) == 0


def test_the_unit_reads_its_items_documents_and_makes_none(world, client, new_client):
    item = rectification_in(world, RS.IN_PROGRESS, issued_at=now_utc() - timedelta(days=90),
                            due_at=now_utc() - timedelta(days=3))
    staff = signed_in(world, client, "audit_staff")
    for kind in ("rectification_notice", "urge_notice"):
        assert staff.post_form(f"/rectifications/{item.public_id}/documents/{kind}") \
            .status_code == 302
    unit = signed_in(world, new_client(), "unit_contact")
    page = unit.get(f"/rectifications/{item.public_id}").get_data(as_text=True)
    assert "审计整改通知书" in page and "督促整改告知函" in page
    assert "/documents/rectification_notice\"" not in page  # no button to make one
    panel = page.split('id="documents"')[1].split("</section>")[0]
    assert "区审计局" in panel and "审计员甲" not in panel  # the agency, not its people
    for url in links(page):
        if url.endswith("/docx"):
            assert unit.get(url, buffered=True).status_code == 200
    assert unit.post_form(f"/rectifications/{item.public_id}/documents/rectification_notice") \
        .status_code == 302
    assert count(Document) == 2  # the unit's attempt made nothing
    other_unit = signed_in(world, new_client(), "unit2_contact")
    for url in links(page):
        assert other_unit.get(url).status_code == 404


def test_the_leader_sets_the_agencys_number_prefixes(world, client, new_client):
    leader = signed_in(world, client, "audit_leader")
    page = leader.get("/documents/numbering").get_data(as_text=True)
    assert "审计移送处理书" in page and "区审移〔" in page
    response = leader.post_form("/documents/numbering", {"referral_letter": "区审移",
                                                          "chaser": "区审〔催〕"})
    assert response.status_code == 400
    assert "前缀中不含括号" in response.get_data(as_text=True)
    assert count(NumberPrefix) == 0
    response = leader.post_form("/documents/numbering", {"referral_letter": " 区审移 ",
                                                          "rectification_notice": "区审整"})
    assert response.status_code == 302
    db.session.expire_all()
    assert dict(db.session.execute(sa.select(NumberPrefix.kind, NumberPrefix.prefix)).all()) == {
        "referral_letter": "区审移", "rectification_notice": "区审整"}
    events = db.session.scalars(sa.select(Event).where(
        Event.action == "document.prefix_update").order_by(Event.seq)).all()
    assert len(events) == 2 and all(e.actor_username == "audit.leader" for e in events)
    # Saving the same again writes nothing.
    leader.post_form("/documents/numbering", {"referral_letter": "区审移",
                                              "rectification_notice": "区审整"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
        Event.action == "document.prefix_update")) == 2
    # The next referral letter carries it.
    referral = referral_in(world, S.SENT)
    leader.post_form(f"/referrals/{referral.public_id}/documents/referral_letter")
    assert db.session.scalar(sa.select(Document.number)) == f"区审移〔{year()}〕1号"


@pytest.mark.parametrize("name", ["audit_staff", "unit_contact", "disc_staff"])
def test_only_a_leader_of_a_case_agency_sets_prefixes(world, client, name):
    user = signed_in(world, client, name)
    assert user.get("/documents/numbering").status_code == 403
    assert user.post_form("/documents/numbering", {"chaser": "x"}).status_code == 403
    assert count(NumberPrefix) == 0

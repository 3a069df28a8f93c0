"""Official documents made from referrals and rectification items, through the API: each kind
opened with python-docx for its number, title, addressee and deadline; versions; who may make
and read them; what never reaches a document its reader may not see."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from supervise.calendar.deadlines import local_date
from supervise.database import now_utc
from supervise.documents.models import Document, NumberCounter, NumberPrefix
from supervise.events.models import Event
from supervise.extensions import db
from tests.documents.conftest import docx_text
from tests.rectifications.factories import S as RS
from tests.rectifications.factories import rectification_in
from tests.referrals.factories import S, referral_in

PERSON = "欧阳某某"  # a person involved, planted to be followed
POSITION = "财务科科长"


def day(moment) -> str:
    d = local_date(moment)
    return f"{d.year}年{d.month}月{d.day}日"


def year() -> int:
    return local_date(now_utc()).year


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def prefix(world, kind: str, text: str, agency=None) -> None:
    db.session.add(NumberPrefix(agency_id=(agency or world.audit).id, kind=kind, prefix=text,
                                updated_by_id=world.audit_leader.id))
    db.session.commit()


def make(caller, record, kind: str, records: str = "referrals"):
    return caller.post(f"/{records}/{record.public_id}/documents/{kind}",
                       headers={"Accept-Language": "en"})


def fetch(caller, record, kind: str, records: str = "referrals", **query):
    return caller.get(f"/{records}/{record.public_id}/documents/{kind}", query_string=query,
                      buffered=True,
                      headers={"Accept-Language": "en"})


# --- the referral letter --------------------------------------------------------------------


def test_referral_letter_has_its_number_title_addressee_deadline_and_persons(world, as_):
    prefix(world, "referral_letter", "区审移")
    referral = referral_in(world, S.SENT, persons=((PERSON, POSITION),))
    made = make(as_("audit_staff"), referral, "referral_letter")
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["number"] == f"区审移〔{year()}〕1号"
    assert (body["kind"], body["version"]) == ("referral_letter", 1)
    assert [f["format"] for f in body["files"]] == ["docx"]

    for reader in ("audit_staff", "audit_leader", "disc_staff", "disc_leader"):
        response = fetch(as_(reader), referral, "referral_letter")
        assert response.status_code == 200, reader
        assert response.mimetype.endswith("wordprocessingml.document")
        assert "attachment" in response.headers["Content-Disposition"]
        text = docx_text(response.data)
        assert f"区审移〔{year()}〕1号" in text
        assert referral.title in text
        assert "区审计局" in text  # the issuing body
        assert "区纪委监委：" in text  # the addressee, with its colon
        assert day(referral.answer_by) in text and day(referral.acknowledge_by) in text
        assert PERSON in text and POSITION in text  # the parties read the persons involved
        assert "以加班费名义违规发放津补贴" in text  # the facts
        assert day(now_utc()) in text  # 成文日期


def test_only_the_parties_reach_a_referrals_documents(world, as_):
    referral = referral_in(world, S.SENT, persons=((PERSON, POSITION),))
    assert make(as_("audit_staff"), referral, "referral_letter").status_code == 201
    for outsider in ("insp_staff", "org_staff", "unit_contact", "audit2_staff"):
        caller = as_(outsider)
        assert fetch(caller, referral, "referral_letter").status_code == 404, outsider
        assert caller.get(f"/referrals/{referral.public_id}/documents").status_code == 404
        response = make(caller, referral, "referral_letter")
        assert response.status_code == 404, outsider
        assert PERSON not in response.get_data(as_text=True)
    assert count(Document) == 1


def test_the_receiver_reads_but_does_not_make_the_senders_documents(world, as_):
    referral = referral_in(world, S.SENT)
    before = count(Event)
    response = make(as_("disc_staff"), referral, "referral_letter")
    assert response.status_code == 403
    assert "issuing agency" in response.get_json()["message"]
    assert (count(Document), count(NumberCounter), count(Event)) == (0, 0, before)


@pytest.mark.parametrize("state", [S.DRAFT, S.PENDING_APPROVAL])
def test_no_referral_letter_before_the_leader_sends_it(world, as_, state):
    referral = referral_in(world, state)
    before = count(Event)
    response = make(as_("audit_staff"), referral, "referral_letter")
    assert response.status_code == 409
    assert "approved and sent" in response.get_json()["message"]
    assert (count(Document), count(NumberCounter), count(Event)) == (0, 0, before)


def test_a_document_made_again_keeps_its_number_and_every_version(world, as_):
    referral = referral_in(world, S.SENT)
    staff = as_("audit_staff")
    first = make(staff, referral, "referral_letter").get_json()
    second = make(staff, referral, "referral_letter").get_json()
    assert second["number"] == first["number"] and second["version"] == 2
    listed = staff.get(f"/referrals/{referral.public_id}/documents").get_json()
    assert [(d["version"], d["number"]) for d in listed] == [(2, first["number"]),
                                                             (1, first["number"])]
    assert fetch(staff, referral, "referral_letter", version=1).status_code == 200
    assert fetch(staff, referral, "referral_letter", version=3).status_code == 404
    generated = db.session.scalars(sa.select(Event).where(
        Event.action == "document.generate").order_by(Event.seq)).all()
    assert [e.object_id for e in generated] == [referral.public_id] * 2
    # The counter gave one number: the next referral's letter is the second.
    other = referral_in(world, S.ACKNOWLEDGED)
    assert make(staff, other, "referral_letter").get_json()["number"] == f"〔{year()}〕2号"


def test_numbers_run_per_agency_and_per_kind(world, as_):
    prefix(world, "referral_letter", "区审移")
    prefix(world, "chaser", "区审催")
    old = now_utc() - timedelta(days=200)
    referrals = [referral_in(world, S.SENT, sent_at=old) for _ in range(3)]
    staff = as_("audit_staff")
    letters = [make(staff, r, "referral_letter").get_json()["number"] for r in referrals]
    assert letters == [f"区审移〔{year()}〕{n}号" for n in (1, 2, 3)]
    chaser = make(staff, referrals[0], "chaser").get_json()["number"]
    assert chaser == f"区审催〔{year()}〕1号"
    # Another agency's numbers start at one of their own.
    theirs = referral_in(world, S.SENT, sender_agency=world.audit2,
                         created_by=world.audit2_staff)
    assert make(as_("audit2_staff"), theirs, "referral_letter").get_json()["number"] \
        == f"〔{year()}〕1号"


def test_a_chaser_letter_only_for_an_overdue_referral(world, as_):
    referral = referral_in(world, S.SENT)
    response = make(as_("audit_staff"), referral, "chaser")
    assert response.status_code == 409 and "overdue" in response.get_json()["message"]
    late = referral_in(world, S.SENT, sent_at=now_utc() - timedelta(days=30))
    made = make(as_("audit_staff"), late, "chaser")
    assert made.status_code == 201
    text = docx_text(fetch(as_("disc_staff"), late, "chaser").data)
    assert late.title in text and "区纪委监委：" in text
    assert day(late.acknowledge_by) in text  # the deadline it missed
    assert made.get_json()["number"] in text
    assert PERSON not in text and "张某某" not in text  # a chaser names nobody


def test_unknown_kinds_formats_and_arguments(world, as_):
    referral = referral_in(world, S.SENT)
    staff = as_("audit_staff")
    assert make(staff, referral, "no_such_kind").status_code == 404
    assert make(staff, referral, "rectification_notice").status_code == 404  # not a referral's
    assert make(staff, referral, "referral_letter").status_code == 201
    assert fetch(staff, referral, "referral_letter", format="odt").status_code == 422
    assert fetch(staff, referral, "referral_letter", colour="red").status_code == 422
    assert fetch(staff, referral, "referral_letter", version="x").status_code == 422
    assert fetch(staff, referral, "chaser").status_code == 404  # none made yet
    assert staff.post(f"/referrals/{referral.public_id}/documents/referral_letter",
                      data="x", content_type="text/plain").status_code == 415


def test_pdf_says_so_when_the_server_has_no_converter(app, world, as_):
    app.config["DOCUMENT_CONVERTER"] = ""
    try:
        referral = referral_in(world, S.SENT)
        staff = as_("audit_staff")
        assert make(staff, referral, "referral_letter").status_code == 201
        response = fetch(staff, referral, "referral_letter", format="pdf")
        assert response.status_code == 503
        assert "LibreOffice" in response.get_json()["message"]
    finally:
        app.config.pop("DOCUMENT_CONVERTER")


# --- rectification items --------------------------------------------------------------------


def test_rectification_notice_for_the_unit_never_carries_a_person(world, as_):
    """The finding was referred with a person involved: the unit's notice has the text issued
    to it, its deadline and its number, and nothing of the referral."""
    prefix(world, "rectification_notice", "区审整")
    item = rectification_in(world, RS.NOT_STARTED)
    referral_in(world, S.SENT, findings=[item.finding], persons=((PERSON, POSITION),),
                facts="移送事实：另涉嫌利益输送。")
    made = make(as_("audit_staff"), item, "rectification_notice", "rectifications")
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["number"] == f"区审整〔{year()}〕1号"
    for reader in ("audit_staff", "unit_contact"):
        text = docx_text(fetch(as_(reader), item, "rectification_notice",
                               "rectifications").data)
        assert f"区审整〔{year()}〕1号" in text
        assert item.title in text and "区教育局：" in text
        assert day(item.due_at) in text
        assert "123,456.00" in text
        assert PERSON not in text and POSITION not in text
        assert "利益输送" not in text
    for outsider in ("insp_staff", "disc_staff", "audit2_staff", "unit2_contact"):
        assert fetch(as_(outsider), item, "rectification_notice",
                     "rectifications").status_code == 404, outsider
    # The unit reads no names of the bureau's people.
    [mine] = as_("audit_staff").get(f"/rectifications/{item.public_id}/documents").get_json()
    [theirs] = as_("unit_contact").get(f"/rectifications/{item.public_id}/documents").get_json()
    assert mine["generated_by"] == "审计员甲" and "generated_by" not in theirs
    assert {k: v for k, v in mine.items() if k != "generated_by"} == theirs
    # The unit reads it but does not make it.
    assert make(as_("unit_contact"), item, "rectification_notice",
                "rectifications").status_code == 403


@pytest.mark.parametrize("state", [RS.NOT_STARTED, RS.IN_PROGRESS, RS.PENDING_VERIFICATION])
def test_no_sign_off_sheet_before_verification(world, as_, state):
    item = rectification_in(world, state)
    response = make(as_("audit_staff"), item, "sign_off_sheet", "rectifications")
    assert response.status_code == 409 and "verified" in response.get_json()["message"]
    assert count(Document) == 0


def test_sign_off_sheet_of_a_signed_off_item(world, as_):
    item = rectification_in(world, RS.SIGNED_OFF)
    assert make(as_("audit_staff"), item, "sign_off_sheet", "rectifications").status_code == 201
    text = docx_text(fetch(as_("unit_contact"), item, "sign_off_sheet",
                           "rectifications").data)
    assert item.title in text and "区教育局" in text
    assert "已收回全部违规发放的津补贴。" in text  # the unit's report
    assert day(item.due_at) in text and day(item.signed_off_at) in text
    assert "123,456.00" in text


def test_letter_urging_rectification_only_when_the_report_is_overdue(world, as_):
    item = rectification_in(world, RS.NOT_STARTED)
    response = make(as_("audit_staff"), item, "urge_notice", "rectifications")
    assert response.status_code == 409 and "overdue" in response.get_json()["message"]
    late = rectification_in(world, RS.IN_PROGRESS, issued_at=now_utc() - timedelta(days=90),
                            due_at=now_utc() - timedelta(days=5))
    made = make(as_("audit_leader"), late, "urge_notice", "rectifications")
    assert made.status_code == 201
    text = docx_text(fetch(as_("unit_contact"), late, "urge_notice", "rectifications").data)
    assert late.title in text and "区教育局：" in text and day(late.due_at) in text
    assert made.get_json()["number"] in text


# --- every kind, read back -------------------------------------------------------------------

EVERY_KIND = [
    # kind, the title it carries, the record, its addressee, the deadline it names
    ("referral_letter", "审计移送处理书", "referral", "区纪委监委：", "answer_by"),
    ("chaser", "催办函", "late referral", "区纪委监委：", "acknowledge_by"),
    ("rectification_notice", "审计整改通知书", "item", "区教育局：", "due_at"),
    ("sign_off_sheet", "审计整改对账销号单", "verified item", "被审计单位：区教育局", "due_at"),
    ("urge_notice", "督促整改告知函", "late item", "区教育局：", "due_at"),
]


@pytest.mark.parametrize(("kind", "title", "record", "addressee", "deadline"), EVERY_KIND)
def test_every_kind_carries_its_number_title_addressee_and_deadline(
        world, as_, kind, title, record, addressee, deadline):
    old = now_utc() - timedelta(days=90)
    made = {
        "referral": lambda: referral_in(world, S.ACKNOWLEDGED, persons=((PERSON, POSITION),)),
        "late referral": lambda: referral_in(world, S.SENT, sent_at=old,
                                             persons=((PERSON, POSITION),)),
        "item": lambda: rectification_in(world, RS.NOT_STARTED),
        "verified item": lambda: rectification_in(world, RS.VERIFIED),
        "late item": lambda: rectification_in(world, RS.IN_PROGRESS, issued_at=old,
                                              due_at=now_utc() - timedelta(days=2)),
    }[record]()
    records = "referrals" if "referral" in record else "rectifications"
    number = make(as_("audit_staff"), made, kind, records).get_json()["number"]
    assert number == f"〔{year()}〕1号"
    reader = "disc_staff" if records == "referrals" else "unit_contact"
    text = docx_text(fetch(as_(reader), made, kind, records).data)
    lines = text.splitlines()
    assert lines[0] == "区审计局" and lines[1] == number  # 版头: the issuing body, the number
    assert title in lines[2:5]
    assert addressee in text and made.title in text
    assert day(getattr(made, deadline)) in text
    assert (PERSON in text) == (kind == "referral_letter")  # the letter's readers are parties


def test_the_documents_list_answers_only_get(world, as_):
    """…/documents is a list, beside the workflow's steps (…/<step>): another method is 405,
    an unknown step still 404."""
    referral = referral_in(world, S.SENT)
    item = rectification_in(world, RS.NOT_STARTED)
    staff = as_("audit_staff")
    for url in (f"/referrals/{referral.public_id}/documents",
                f"/rectifications/{item.public_id}/documents"):
        response = staff.post(url)
        assert response.status_code == 405, url
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}, url
    assert staff.post(f"/referrals/{referral.public_id}/no-such-step").status_code == 404
    assert staff.post(f"/rectifications/{item.public_id}/no-such-step").status_code == 404

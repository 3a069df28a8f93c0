"""Documents as PDF, made by LibreOffice Writer (headless, Debian's libreoffice-writer-nogui)
from the .docx the first time a version is asked for, then kept: A4 portrait, with the number,
the addressee and the facts in the text that poppler's pdftotext reads. `make test-print` runs
these; .ci/run installs what they need."""

from __future__ import annotations

import re
import subprocess

import pytest
import sqlalchemy as sa

from supervise.attachments.models import Attachment
from supervise.events.models import Event
from supervise.extensions import db
from tests.documents.test_documents import fetch, make, year
from tests.referrals.factories import S, referral_in

pytestmark = pytest.mark.print

A4_PORTRAIT = re.compile(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)")


def test_a_referral_letter_as_pdf(office, world, as_, tmp_path):
    referral = referral_in(world, S.SENT)
    number = make(as_("audit_staff"), referral, "referral_letter").get_json()["number"]
    response = fetch(as_("disc_staff"), referral, "referral_letter", format="pdf")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    path = tmp_path / "letter.pdf"
    path.write_bytes(response.data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                          check=True).stdout
    assert A4_PORTRAIT.search(info), info
    assert "Author:          区审计局" in info
    text = "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                  text=True, check=True).stdout.split())
    assert number == f"〔{year()}〕1号" and number in text
    assert "区纪委监委：" in text and "以加班费名义违规发放津补贴" in text
    # Made once: the second reader gets the same file, and the log says it was converted once.
    again = fetch(as_("audit_staff"), referral, "referral_letter", format="pdf")
    assert again.data == response.data
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment).where(
        Attachment.filename.like("%.pdf"))) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
        Event.action == "document.convert")) == 1

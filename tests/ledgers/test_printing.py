"""Ledgers print legibly: each ledger, opened in LibreOffice Calc (headless, Debian's
libreoffice-calc-nogui) and printed to PDF, comes out on A4 landscape pages at 9 pt or larger,
several pages wide where its columns need it rather than shrunk onto one, with long titles and
states whole (wrapped, never cut off), the header row repeated on every page and "第 N 页 共 M
页" in the footer; the total row (合计) is printed after the last row.

The PDF is read with poppler's pdfinfo and pdftotext (poppler-utils). `make test-print` runs
these; .ci/run installs what they need."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest

from supervise.database import now_utc
from supervise.extensions import db
from supervise.referrals.models import TimelineEntry
from tests.referrals.factories import S, referral_in

pytestmark = pytest.mark.print

A4_LANDSCAPE = (841.9, 595.3)  # points
SMALLEST_POINTS = 9
# A word's box in pdftotext's -bbox output is the font's ascent to descent, about 1.1 times its
# size for these fonts; a box this high or higher is a face of SMALLEST_POINTS or larger.
SMALLEST_BOX = SMALLEST_POINTS * 1.05

LONG_TITLE = ("关于区教育局二〇二五年度部门预算执行中违规使用专项资金发放津补贴并以虚列支出方式"
              "套取财政资金用于单位福利及其他支出问题的线索移送")


@dataclass
class Printed:
    pages: int
    size: tuple[float, float]
    texts: list[str]  # per page, as pdftotext reads it
    box_heights: list[float]  # of every word

    def flat(self, page: int | None = None) -> str:
        """A page's text (or the whole document's) without any white space: a wrapped cell's
        lines read as one."""
        text = "".join(self.texts) if page is None else self.texts[page]
        return re.sub(r"\s+", "", text)


def printed(tmp_path: Path, data: bytes) -> Printed:
    """The ledger as LibreOffice prints it to PDF."""
    source = tmp_path / "ledger.xlsx"
    source.write_bytes(data)
    profile = tmp_path / "lo-profile"  # a private profile: tests may run side by side
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
        env={**os.environ, "HOME": str(tmp_path)})
    pdf = tmp_path / "ledger.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    width, height = map(float, re.search(r"^Page size:\s+([\d.]+) x ([\d.]+)", info,
                                         re.M).groups())
    texts = [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"],
                            check=True, capture_output=True, text=True).stdout
             for n in range(1, pages + 1)]
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True,
                           capture_output=True, text=True).stdout
    root = ElementTree.fromstring(  # noqa: S314 (poppler's output for a file the test made)
        re.sub(r"<!DOCTYPE[^>]*>", "", boxes).replace(
            'xmlns="http://www.w3.org/1999/xhtml"', ""))
    heights = [float(w.get("yMax")) - float(w.get("yMin")) for w in root.iter("word")]
    return Printed(pages, (width, height), texts, heights)


def download(caller, ledger: str) -> bytes:
    response = caller.get(f"/ledgers/{ledger}.xlsx")
    try:
        assert response.status_code == 200, response.get_data()[:300]
        return response.get_data()
    finally:
        response.close()


def assert_legible(document: Printed) -> None:
    assert document.size == pytest.approx(A4_LANDSCAPE, abs=1)
    assert document.box_heights
    assert min(document.box_heights) >= SMALLEST_BOX, sorted(document.box_heights)[:5]
    for number, text in enumerate(document.texts, 1):
        assert f"第{number}页共{document.pages}页" in re.sub(r"\s+", "", text), number


def test_the_referrals_ledger_prints_two_pages_wide_at_a_legible_size(world, as_, tmp_path,
                                                                       office):
    w = world
    referral_in(w, S.IN_HANDLING, title=LONG_TITLE, persons=(("王某某", "局长"),))
    referral_in(w, S.SENT, title="待签收的线索", sent_at=now_utc() - timedelta(days=30))
    document = printed(tmp_path, download(as_("audit_staff"), "referrals"))

    assert_legible(document)
    # Sixteen columns at a legible size need two pages across, and two rows one page down.
    assert document.pages == 2
    first, second = document.flat(0), document.flat(1)
    assert LONG_TITLE in first  # whole, its lines wrapped within the column
    assert "已移送待签收" in first and "正常（仅按周末计算）" in second  # whole, not cut short
    # Each page carries the header row, and the row number that ties its half of a row to the
    # other half.
    assert "移送事项" in first and "涉及人员" in second
    assert "序号" in first and "序号" in second
    assert "王某某（局长）" in second
    assert "合计" in first and "共2项" in first


def test_a_long_ledger_repeats_its_header_row_on_every_page(world, as_, tmp_path, office):
    w = world
    now = now_utc()
    for n in range(45):
        made = referral_in(w, S.SENT, title=f"第{n + 1}号线索：{LONG_TITLE[:30]}",
                           sent_at=now - timedelta(days=n % 9))
        if n % 5 == 0:
            db.session.add(TimelineEntry(referral=made, action="chase", actor=w.audit_staff,
                                         agency=w.audit, comment="请尽快签收", at=now))
    db.session.commit()
    document = printed(tmp_path, download(as_("audit_staff"), "referrals"))

    assert_legible(document)
    assert document.pages >= 4 and document.pages % 2 == 0  # pages down, two across
    for page in range(document.pages):
        assert "序号" in document.flat(page), page
        assert ("移送事项" if page % 2 == 0 else "涉及人员") in document.flat(page), page
    whole = document.flat()
    assert all(f"第{n}号线索" in whole for n in range(1, 46))
    assert "共45项" in whole


@pytest.mark.parametrize("ledger", ["findings", "rectifications"])
def test_the_other_ledgers_print_legibly(world, as_, tmp_path, office, ledger):
    from tests.factories import FindingFactory

    w = world
    finding = FindingFactory(owner_agency=w.audit, unit=w.edu, created_by=w.audit_staff,
                             title=LONG_TITLE)
    if ledger == "rectifications":
        from supervise.rectifications.operations import issue_rectification

        issue_rectification(w.audit_staff, finding, "staged")
        db.session.commit()
    document = printed(tmp_path, download(as_("audit_staff"), ledger))

    assert_legible(document)
    assert LONG_TITLE in document.flat()
    assert "合计" in document.flat() and "共1项" in document.flat()

"""The built-in templates, laid out after GB/T 9704-2012 (党政机关公文格式) with python-docx: A4,
版心 156 × 225 mm (top 37 mm, left 28 mm), 3号仿宋 body of 22 lines of 28 characters, the
issuing body in red 小标宋 over a red rule, the document number under it, the title in 2号小标宋,
the addressee flush left, headings in 黑体, the signature and the date (Arabic numerals) on the
right with room for the seal, the 版记 between rules at the end, and the page number in 4号
宋体 as "— 1 —", odd pages right and even pages left.

Each template is a docxtpl template: its fields are Jinja names ({{ number }}) in runs of their
own, and its repeated parts paragraph or row loops ({%p for para in facts %}). The security
administrator downloads one, edits it in a word processor and uploads it back
(documents.templates checks its fields). The fixed wording is in Chinese, whatever language the
template is built in the process of (`force_locale`).
"""

from __future__ import annotations

import io
import re
from functools import cache

from docx import Document as Docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from flask_babel import force_locale
from flask_babel import gettext as _

from supervise.documents.models import DocumentKind
from supervise.vocabulary import DOCUMENT_LOCALE

# The fonts as GB/T 9704-2012 names them, by the names they carry on the offices' computers;
# a computer without one shows its substitute (LibreOffice: a CJK font it has).
XIAOBIAOSONG = "方正小标宋简体"
FANGSONG = "仿宋_GB2312"
HEITI = "黑体"
KAITI = "楷体_GB2312"
SONGTI = "宋体"

SIZE_2 = Pt(22)  # 二号
SIZE_3 = Pt(16)  # 三号
SIZE_4 = Pt(14)  # 四号
HEAD_SIZE = Pt(36)  # the issuing body: large, "醒目、美观、庄重"
RED = RGBColor(0xE6, 0x00, 0x12)
LINE = Pt(28.95)  # 225 mm over 22 lines
CHAR = SIZE_3  # one character of the body, for indents

_FIELD = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})")


def _font(run, name: str, size, *, bold: bool = False, color: RGBColor | None = None):
    run.font.name = name
    run.font.size = size
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        fonts.set(qn(attribute), name)
    return run


def _border(paragraph, *sides: str, color: str = "000000", size: int = 8) -> None:
    borders = OxmlElement("w:pBdr")
    for side in sides:
        edge = OxmlElement(f"w:{side}")
        for key, value in (("val", "single"), ("sz", str(size)), ("space", "1"),
                           ("color", color)):
            edge.set(qn(f"w:{key}"), value)
        borders.append(edge)
    paragraph._p.get_or_add_pPr().append(borders)


class Letter:
    """One template being built, paragraph by paragraph."""

    def __init__(self):
        self.doc = Docx()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)
        section.footer_distance = Mm(28) - Pt(7)  # the number 7 mm under the 版心
        normal = self.doc.styles["Normal"]
        _font(normal, FANGSONG, SIZE_3)
        normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        normal.paragraph_format.line_spacing = LINE
        normal.paragraph_format.space_before = normal.paragraph_format.space_after = Pt(0)
        self._page_numbers(section)
        properties = self.doc.core_properties
        properties.author, properties.title, properties.comments = "{{ issuer }}", \
            "{{ title }}", ""
        properties.last_modified_by = properties.keywords = properties.subject = ""

    def _page_numbers(self, section) -> None:
        self.doc.settings.odd_and_even_pages_header_footer = True
        for footer, align in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                              (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
            paragraph = footer.paragraphs[0]
            paragraph.alignment = align
            paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent \
                = Pt(14)
            _font(paragraph.add_run("— "), SONGTI, SIZE_4)
            field = OxmlElement("w:fldSimple")
            field.set(qn("w:instr"), "PAGE")
            number = _font(paragraph.add_run("1"), SONGTI, SIZE_4)
            field.append(number._r)
            paragraph._p.append(field)
            paragraph._p.append(_font(paragraph.add_run(" —"), SONGTI, SIZE_4)._r)

    def paragraph(self, text: str = "", *, font: str = FANGSONG, size=SIZE_3,
                  bold: bool = False, color: RGBColor | None = None,
                  align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent: bool = False, right: int = 0):
        """A paragraph; each field of `text` in a run of its own (as docxtpl needs them)."""
        paragraph = self.doc.add_paragraph()
        paragraph.alignment = align
        if indent:
            paragraph.paragraph_format.first_line_indent = CHAR * 2
        if right:
            paragraph.paragraph_format.right_indent = CHAR * right
        for piece in _FIELD.split(text):
            if piece:
                _font(paragraph.add_run(piece), font, size, bold=bold, color=color)
        return paragraph

    def tag(self, tag: str) -> None:
        """A docxtpl paragraph tag ({%p … %}): the paragraph goes when the template renders."""
        self.paragraph(tag)

    def head(self) -> None:
        """版头: the issuing body in red, the number, the red rule."""
        title = self.paragraph("{{ issuer }}", font=XIAOBIAOSONG, size=HEAD_SIZE,
                               color=RED, align=WD_ALIGN_PARAGRAPH.CENTER)
        title.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        title.paragraph_format.space_before = Mm(8)
        title.paragraph_format.space_after = LINE
        number = self.paragraph("{{ number }}", align=WD_ALIGN_PARAGRAPH.CENTER)
        _border(number, "bottom", color="E60012", size=18)
        self.paragraph()

    def title(self) -> None:
        self.paragraph("{{ title }}", font=XIAOBIAOSONG, size=SIZE_2,
                       align=WD_ALIGN_PARAGRAPH.CENTER)
        self.paragraph()

    def addressee(self) -> None:
        self.paragraph(_("{{ addressee }}:"), align=WD_ALIGN_PARAGRAPH.LEFT)

    def heading(self, text: str) -> None:
        self.paragraph(text, font=HEITI, indent=True)

    def text(self, text: str) -> None:
        self.paragraph(text, indent=True)

    def each(self, name: str) -> None:
        """The paragraphs of a text field, or 无 when it is empty."""
        self.tag(f"{{%p for para in {name} %}}")
        self.text("{{ para }}")
        self.tag("{%p else %}")
        self.text(_("None."))
        self.tag("{%p endfor %}")

    def signature(self) -> None:
        """发文机关署名 and 成文日期 on the right, four characters in, under room for the seal."""
        self.paragraph()
        self.paragraph()
        self.paragraph("{{ issuer }}", align=WD_ALIGN_PARAGRAPH.RIGHT, right=4)
        self.paragraph("{{ date }}", align=WD_ALIGN_PARAGRAPH.RIGHT, right=4)

    def imprint(self) -> None:
        """版记: who printed it and when, between rules, at the end."""
        self.paragraph()
        imprint = self.paragraph(_("{{ issuer }}      printed on {{ date }}"),
                                 size=SIZE_4, align=WD_ALIGN_PARAGRAPH.LEFT)
        imprint.paragraph_format.left_indent = imprint.paragraph_format.right_indent = Pt(14)
        _border(imprint, "top", "bottom", size=8)

    def table(self, rows: list[tuple[str, str]]):
        table = self.doc.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for label, value in rows:
            cells = table.add_row().cells
            for cell, text, font in ((cells[0], label, HEITI), (cells[1], value, FANGSONG)):
                paragraph = cell.paragraphs[0]
                for piece in _FIELD.split(text):
                    if piece:
                        _font(paragraph.add_run(piece), font, SIZE_4)
        return table

    def loop_table(self, headers: tuple[str, ...], loop: str, cells: tuple[str, ...]):
        """A table with a row per item of a list field ({%tr for … %})."""
        table = self.doc.add_table(rows=4, cols=len(headers))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for row, texts, font in ((0, headers, HEITI), (2, cells, FANGSONG)):
            for cell, text in zip(table.rows[row].cells, texts, strict=True):
                for piece in _FIELD.split(text):
                    if piece:
                        _font(cell.paragraphs[0].add_run(piece), font, SIZE_4)
        table.rows[1].cells[0].paragraphs[0].add_run(f"{{%tr for {loop} %}}")
        table.rows[3].cells[0].paragraphs[0].add_run("{%tr endfor %}")
        return table

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()


def _referral_letter(letter: Letter) -> None:
    letter.addressee()
    letter.text(_("We refer to you “{{ subject }}” ({{ referral_kind }}) for handling according "
                  "to law and regulations. The matter is as follows."))
    letter.heading(_("1. The audit"))
    letter.each("audit_scope")
    letter.heading(_("2. The facts"))
    letter.each("facts")
    letter.heading(_("3. Its nature and the basis for it"))
    letter.each("classification")
    letter.heading(_("4. Our opinion"))
    letter.each("opinion")
    letter.heading(_("5. The basis for referring it"))
    letter.each("basis")
    letter.heading(_("6. Persons involved"))
    letter.tag("{%p for person in persons %}")
    letter.text("{{ person.name }}{%if person.position %}, {{ person.position }}{% endif %}")
    letter.tag("{%p else %}")
    letter.text(_("None."))
    letter.tag("{%p endfor %}")
    letter.heading(_("7. What we ask"))
    letter.text(_("Please acknowledge receipt by {{ acknowledge_by }}, and tell us in writing "
                  "how it was handled by {{ answer_by }}."))
    letter.tag("{%p for para in feedback_request %}")
    letter.text("{{ para }}")
    letter.tag("{%p endfor %}")
    letter.tag("{%p if findings %}")
    letter.paragraph()
    letter.text(_("Attachments: the audit findings it rests on"))
    letter.tag("{%p for finding in findings %}")
    letter.text("{{ loop.index }}. {{ finding }}")
    letter.tag("{%p endfor %}")
    letter.tag("{%p endif %}")


def _chaser(letter: Letter) -> None:
    letter.addressee()
    letter.text(_("On {{ sent_date }} we referred to you “{{ subject }}”. The time for its "
                  "{{ overdue }} ended on {{ deadline }}, and we have not yet had it from you."))
    letter.text(_("Please see to it at once, and tell us in writing how it stands within five "
                  "working days of receiving this letter. The answer is due by "
                  "{{ answer_by }}."))
    letter.text(_("We write to chase it."))


def _rectification_notice(letter: Letter) -> None:
    letter.addressee()
    letter.text(_("Our audit of your unit found the problem below. We notify you to rectify it "
                  "as follows."))
    letter.heading(_("1. The problem"))
    letter.text("{{ subject }}")
    letter.each("facts")
    letter.text(_("Amount involved: {{ amount }}"))
    letter.heading(_("2. The basis"))
    letter.each("legal_basis")
    letter.heading(_("3. What to do"))
    letter.each("recommendation")
    letter.text(_("Plan: {{ plan }}"))
    letter.text(_("Please report the rectification to us in writing, with the evidence, by "
                  "{{ deadline }}."))


def _sign_off_sheet(letter: Letter) -> None:
    letter.paragraph(_("Audited unit: {{ addressee }}"), align=WD_ALIGN_PARAGRAPH.LEFT)
    letter.table([
        (_("Problem"), "{{ subject }}"),
        (_("Rectification notice of"), "{{ issued_date }}"),
        (_("Report due by"), "{{ deadline }}"),
        (_("Amount involved"), "{{ amount }}"),
        (_("Amount recovered or returned"), "{{ amount_recovered }}"),
        (_("State"), "{{ state }}"),
        (_("Signed off on"), "{{ signed_off_date }}"),
    ])
    letter.paragraph()
    letter.loop_table((_("Reported on"), _("Measures"), _("Amount")), "report in reports",
                      ("{{ report.date }}", "{{ report.measures }}", "{{ report.amount }}"))
    letter.paragraph()
    letter.paragraph(_("Audited unit (seal):                Audit body (seal):"),
                     align=WD_ALIGN_PARAGRAPH.LEFT)


def _urge_notice(letter: Letter) -> None:
    letter.addressee()
    letter.text(_("On {{ issued_date }} we issued to your unit the rectification of "
                  "“{{ subject }}”. Its report was due by {{ deadline }}, and we have not yet "
                  "received it."))
    letter.text(_("Please give it your full attention, complete the rectification, and report "
                  "to us how it stands within five working days of receiving this letter. "
                  "A rectification left undone past its time is dealt with under the rules."))
    letter.text(_("We write to let you know."))


BODIES = {
    DocumentKind.REFERRAL_LETTER: _referral_letter,
    DocumentKind.CHASER: _chaser,
    DocumentKind.RECTIFICATION_NOTICE: _rectification_notice,
    DocumentKind.SIGN_OFF_SHEET: _sign_off_sheet,
    DocumentKind.URGE_NOTICE: _urge_notice,
}


@cache
def built_in(kind: DocumentKind) -> bytes:
    """The built-in template of a kind, as a .docx (built once per process)."""
    with force_locale(DOCUMENT_LOCALE):
        letter = Letter()
        letter.head()
        letter.title()
        BODIES[kind](letter)
        if kind != DocumentKind.SIGN_OFF_SHEET:
            letter.signature()
        letter.imprint()
        return letter.bytes()


"""The template of each kind: the built-in one (documents.layout), or the one the security
administrator uploaded in its place. An upload is checked before it is kept: a sound .docx, not
a zip bomb, Jinja that parses, every field a name of its kind (documents.kinds), the kind's
required fields all there, and a trial rendering that works.

Templates render in Jinja's immutable sandbox over plain strings, lists and dicts, with XML
escaping on: an uploaded template can only place the fields its kind offers, and a value
cannot break out of its run.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import sqlalchemy as sa
from docxtpl import DocxTemplate
from flask_babel import gettext as _
from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from supervise.attachments import storage
from supervise.documents.kinds import KINDS, Kind
from supervise.documents.layout import built_in
from supervise.documents.models import DocumentKind, DocumentTemplate
from supervise.errors import OperationError
from supervise.extensions import db
from supervise.ooxml import check_package

MAX_TEMPLATE_BYTES = 2 * 1024 * 1024
# Word fields that fetch or run something outside the document when it is opened: a template
# with one could send the values it is filled with to someone who may not read them.
REACHING_FIELDS = re.compile(
    rb"\b(INCLUDEPICTURE|INCLUDETEXT|INCLUDE|LINK|DDE|DDEAUTO|HYPERLINK|IMPORT|RD)\b")
FIELD_CODES = re.compile(rb"<w:instrText[^>]*>(.*?)</w:instrText>|w:instr=\"([^\"]*)\"",
                         re.DOTALL)
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
DOCX_PARTS = ("[Content_Types].xml", "word/document.xml")


class TemplateRefused(OperationError):
    """An uploaded template that is not kept; the message says why."""

    def __init__(self, message: str):
        super().__init__(message, 422)


def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=True)


def uploaded(kind: DocumentKind) -> DocumentTemplate | None:
    return db.session.scalar(sa.select(DocumentTemplate).where(DocumentTemplate.kind == kind))


def content_of(kind: DocumentKind) -> bytes:
    """The template in force: the uploaded one, or the built-in one."""
    row = uploaded(kind)
    return row.content if row is not None else built_in(kind)


def render(kind: DocumentKind, context: dict) -> bytes:
    """The .docx of a document: the template in force filled with `context`."""
    return _render(content_of(kind), context)


def _render(content: bytes, context: dict) -> bytes:
    template = DocxTemplate(io.BytesIO(content))
    template.render(context, jinja_env=_environment(), autoescape=True)
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def sample_context(kind: Kind) -> dict:
    """A value for every field of the kind, for the trial rendering of an upload."""
    lists = {"persons": [{"name": "甲", "position": "乙"}],
             "reports": [{"date": "2026年1月1日", "measures": "措施", "amount": "0.00元"}]}
    text_lists = {"audit_scope", "facts", "classification", "opinion", "basis",
                  "feedback_request", "legal_basis", "recommendation", "findings"}
    return {name: lists.get(name, ["示例"] if name in text_lists else "示例")
            for name in kind.fields}


def check(kind: DocumentKind, filename: str | None, content: bytes) -> None:
    """Refuse (TemplateRefused, or 413/415) an upload that cannot serve as the kind's
    template, saying which fields are wrong."""
    if not content:
        raise OperationError(_("The file is empty."))
    if len(content) > MAX_TEMPLATE_BYTES:
        raise OperationError(_("The file is larger than %(mb)d MB.",
                               mb=MAX_TEMPLATE_BYTES // (1024 * 1024)), 413)
    if storage.sniff(io.BytesIO(content)) != storage.DOCX:
        raise OperationError(_("A template is a Word document (.docx); the type is judged "
                               "from the content."), 415)
    check_package(io.BytesIO(content), MAX_UNPACKED_BYTES, required=DOCX_PARTS)
    _refuse_reaching_out(content)
    rule = KINDS[kind]
    try:
        used = DocxTemplate(io.BytesIO(content)).get_undeclared_template_variables(
            _environment())
    except TemplateError as exc:
        raise TemplateRefused(_("The template's fields do not parse: %(error)s",
                                error=str(exc.message or exc)[:200])) from None
    except Exception:  # noqa: BLE001 (whatever a damaged document makes the parser raise)
        raise TemplateRefused(_("The template cannot be read as a Word document.")) from None
    unknown = sorted(used - set(rule.fields))
    missing = [name for name in rule.required if name not in used]
    if unknown:
        raise TemplateRefused(_(
            "The template uses fields that a %(kind)s does not have: %(fields)s. Its fields "
            "are: %(known)s.", kind=rule.label, fields=", ".join(unknown),
            known=", ".join(rule.fields)))
    if missing:
        raise TemplateRefused(_("The template misses fields that a %(kind)s must show: "
                                "%(fields)s.", kind=rule.label, fields=", ".join(missing)))
    try:
        _render(content, sample_context(rule))
    except Exception:  # noqa: BLE001 (a sandbox refusal, a filter that does not exist, …)
        raise TemplateRefused(_("The template does not render with sample values; check its "
                                "fields and loops.")) from None


def _refuse_reaching_out(content: bytes) -> None:
    """Refuse a package with a link to anything outside it (an external relationship: a
    linked picture, an attached template, a hyperlink) or a field that fetches or runs
    something (INCLUDEPICTURE, LINK, DDE…): opened by a party, it could carry the document's
    values elsewhere."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if any(part in name.lower() for part in ("vbaproject", "activex", "embeddings/")):
                raise TemplateRefused(_("The template holds macros or embedded objects; a "
                                        "template is text and fields only."))
            if not name.endswith((".xml", ".rels")):
                continue
            data = archive.read(name)
            if name.endswith(".rels") and b'TargetMode="External"' in data:
                raise TemplateRefused(_("The template links to something outside the document "
                                        "(a picture, a template or a web address); remove the "
                                        "link."))
            for match in FIELD_CODES.finditer(data):
                if REACHING_FIELDS.search((match.group(1) or match.group(2) or b"").upper()):
                    raise TemplateRefused(_("The template has a field that fetches or runs "
                                            "something outside the document (such as "
                                            "INCLUDEPICTURE or LINK); remove it."))


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()

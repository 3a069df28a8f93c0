"""Document pages: the documents panel of a referral and of a rectification item (the template
global `record_documents`), making a document, downloading a version as .docx or PDF, the
agency leader's number prefixes, and the security administrator's templates."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from supervise import policy
from supervise.attachments import storage
from supervise.attachments.web import serve
from supervise.database import now_utc
from supervise.documents import convert, layout, numbers, operations, templates
from supervise.documents.kinds import KINDS, RECTIFICATION, REFERRAL, Kind, kinds_for
from supervise.documents.models import Document, DocumentKind
from supervise.pages import attempt, done
from supervise.policy import Capability, Permission
from supervise.policy import documents as document_access
from supervise.web import current_actor

blueprint = Blueprint("documents", __name__)

# The URL's word for each kind of record.
RECORDS = {"referrals": REFERRAL, "rectifications": RECTIFICATION}
RECORD_PAGES = {REFERRAL: "referrals.referral", RECTIFICATION: "rectifications.rectification"}
FORMATS = ("docx", "pdf")


@dataclass
class Makeable:
    kind: Kind
    refusal: str | None  # why it cannot be made now, if it cannot
    current: Document | None  # its latest version


@dataclass
class Panel:
    record_type: str
    public_id: str
    documents: list[Document] = field(default_factory=list)
    makeable: list[Makeable] = field(default_factory=list)
    pdf: bool = False
    people: bool = False  # who made each one (the audited unit reads the agency's name instead)

    @property
    def url_word(self) -> str:
        return next(word for word, kind in RECORDS.items() if kind == self.record_type)


@blueprint.app_template_global()
def record_documents(record_type: str, public_id: str) -> Panel:
    """What the record's page shows of its documents to the current user (a party)."""
    user = current_actor()
    record = document_access.record_or_404(user, record_type, public_id)
    documents = operations.documents_of(record)
    panel = Panel(record_type, public_id, documents, pdf=convert.available(),
                  people=policy.reads_cases(user))
    now = now_utc()
    for kind in kinds_for(record_type):
        if document_access.issues(user, kind, record):
            current = next((d for d in documents if d.kind == kind.kind), None)
            panel.makeable.append(Makeable(kind, kind.refusal(record, now), current))
    return panel


def _record_type(records: str) -> str:
    if records not in RECORDS:
        abort(404)
    return RECORDS[records]


@blueprint.route("/<records>/<public_id>/documents/<kind>", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT)
def make(records: str, public_id: str, kind: str):
    """Make the kind's document from the record (a new version if it has one)."""
    user = current_actor()
    record_type = _record_type(records)
    rule = operations.kind_or_none(kind)
    if rule is None or rule.record != record_type:
        abort(404)
    record = document_access.record_or_404(user, record_type, public_id, for_update=True)
    page = url_for(RECORD_PAGES[record_type], public_id=public_id) + "#documents"
    return attempt(
        lambda: operations.generate(user, record, rule),
        done=lambda d: done(_("%(kind)s %(number)s made (version %(version)d).",
                              kind=d.kind.label, number=d.number, version=d.version), page),
        show=lambda _status, _errors: redirect(page), flash_invalid=True)


@blueprint.route("/<records>/<public_id>/documents/<document_id>/<fmt>")
@policy.requires(Permission.CASE_CONTENT)
def download(records: str, public_id: str, document_id: str, fmt: str):
    """A version of a document, as .docx or PDF (made from the .docx the first time)."""
    user = current_actor()
    record_type = _record_type(records)
    if fmt not in FORMATS:
        abort(404)
    record = document_access.record_or_404(user, record_type, public_id)
    document = document_access.document_or_404(user, record, operations.documents_of(record),
                                               document_id)
    if fmt == "docx":
        return serve(user, record, document.file("docx"))
    return serve(user, record, operations.pdf_of(user, record, document))


# --- the agency leader's number prefixes --------------------------------------------------------


@blueprint.route("/documents/numbering", methods=["GET", "POST"])
@policy.requires(Permission.APPROVE, Capability.READS_CASES)
def numbering():
    """How the agency's document numbers begin, kind by kind (区审移〔2026〕3号)."""
    user = current_actor()
    year = now_utc().year

    def show(status, errors):
        current = numbers.prefixes_of(user.agency_id)
        values = {kind: request.form.get(kind.value, current[kind]) for kind in DocumentKind}
        return render_template("documents/numbering.html", kinds=list(DocumentKind),
                               values=values, errors=errors, year=year,
                               example=numbers.formatted), status

    if request.method != "POST":
        return show(200, {})
    return attempt(
        lambda: operations.set_prefixes(user, {k.value: request.form.get(k.value, "")
                                               for k in DocumentKind}),
        done=lambda _prefixes: done(_("Saved."), url_for("documents.numbering")),
        show=show)


# --- the security administrator's templates -----------------------------------------------------


@blueprint.route("/settings/documents")
@policy.requires(Permission.MANAGE_SETTINGS)
def document_templates():
    """Each kind's template: the built-in one or an uploaded one, with the fields it may use."""
    rows = [(rule, templates.uploaded(kind)) for kind, rule in KINDS.items()]
    return render_template("documents/templates.html", rows=rows,
                           pdf=convert.available(), max_mb=templates.MAX_TEMPLATE_BYTES
                           // (1024 * 1024))


def _kind(kind: str) -> DocumentKind:
    rule = operations.kind_or_none(kind)
    if rule is None:
        abort(404)
    return rule.kind


@blueprint.route("/settings/documents/<kind>/template.docx")
@policy.requires(Permission.MANAGE_SETTINGS)
def template_file(kind: str):
    """The kind's template in force, to edit in a word processor and upload again."""
    document_kind = _kind(kind)
    row = templates.uploaded(document_kind)
    content = row.content if row is not None else layout.built_in(document_kind)
    return send_file(io.BytesIO(content), mimetype=storage.DOCX.content_type,
                     as_attachment=True, download_name=f"{document_kind.value}.docx",
                     max_age=0)


@blueprint.route("/settings/documents/<kind>", methods=["POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def replace_template(kind: str):
    document_kind = _kind(kind)
    page = url_for("documents.document_templates") + f"#{document_kind.value}"
    return attempt(
        lambda: operations.replace_template(current_actor(), document_kind,
                                            request.files.get("file")),
        done=lambda _row: done(_("The template of %(kind)s is replaced.",
                                 kind=document_kind.label), page),
        show=lambda _status, _errors: redirect(page), flash_invalid=True)


@blueprint.route("/settings/documents/<kind>/restore", methods=["POST"])
@policy.requires(Permission.MANAGE_SETTINGS)
def restore_template(kind: str):
    document_kind = _kind(kind)
    page = url_for("documents.document_templates") + f"#{document_kind.value}"
    return attempt(
        lambda: operations.restore_template(current_actor(), document_kind),
        done=lambda _none: done(_("The template of %(kind)s is the built-in one again.",
                                  kind=document_kind.label), page),
        show=lambda _status, _errors: redirect(page))


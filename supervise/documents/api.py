"""Official documents under /api/v1: the documents of a referral or a rectification item, making
one, and downloading one as .docx or PDF.

`<kind>` is one of referral_letter and chaser (referrals), rectification_notice, sign_off_sheet
and urge_notice (rectification items); another answers 404. The record is found through the
policy: outside the caller's reach, 404. Making one: 403 for the party that does not issue it,
409 when the record is not in a state to have it (the message says when it may be made).
"""

from __future__ import annotations

from flask import abort, jsonify
from marshmallow import Schema, fields, validate

from supervise import policy
from supervise.attachments.web import serve
from supervise.documents import operations
from supervise.documents.kinds import RECTIFICATION, REFERRAL
from supervise.documents.models import DocumentKind
from supervise.extensions import db
from supervise.policy import Permission
from supervise.policy import documents as document_access
from supervise.schemas import LocalDateTime, WholeNumber
from supervise.web import Blueprint, current_actor

blueprint = Blueprint("documents_api", __name__,
                      description="Official documents (公文) made from referrals and "
                                  "rectification items")


class FileSchema(Schema):
    format = fields.String()
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class DocumentSchema(Schema):
    id = fields.String(attribute="public_id")
    kind = fields.String(metadata={"enum": [k.value for k in DocumentKind]})
    number = fields.String(metadata={"description": "The document number, 区审移〔2026〕3号"})
    version = fields.Integer()
    generated_at = LocalDateTime()
    generated_by = fields.Function(lambda d: d.generated_by.display_name, metadata={
        "description": "Who made it; not for the audited unit's contact"})
    files = fields.Function(lambda d: [
        {"format": f.filename.rsplit(".", 1)[-1], "filename": f.filename, "size": f.size,
         "sha256": f.sha256} for f in d.files],
        metadata={"description": "The .docx, and the PDF once it was made"})


class FileQuerySchema(Schema):
    version = WholeNumber(validate=validate.Range(1, 10_000),
                          metadata={"description": "A version; default the latest"})
    format = fields.String(load_default="docx", validate=validate.OneOf(("docx", "pdf")),
                           metadata={"description": "docx (default) or pdf (made by "
                                                    "LibreOffice; 503 where it is absent)"})


def _kind(record_type: str, kind: str):
    rule = operations.kind_or_none(kind)
    if rule is None or rule.record != record_type:
        abort(404)
    return rule


def _shaped(user, documents):
    """The documents as the caller may read them: the audited unit's contact reads no names
    of the issuing agency's people."""
    schema = DocumentSchema(many=isinstance(documents, list),
                            exclude=() if policy.reads_cases(user) else ("generated_by",))
    return jsonify(schema.dump(documents))


def _list(record_type: str, record_id: str):
    user = current_actor()
    record = document_access.record_or_404(user, record_type, record_id)
    return _shaped(user, operations.documents_of(record))


def _make(record_type: str, record_id: str, kind: str):
    user = current_actor()
    rule = _kind(record_type, kind)
    record = document_access.record_or_404(user, record_type, record_id, for_update=True)
    document = operations.generate(user, record, rule)
    db.session.commit()
    response = _shaped(user, document)
    response.status_code = 201
    return response


def _file(record_type: str, record_id: str, kind: str, args: dict):
    user = current_actor()
    rule = _kind(record_type, kind)
    record = document_access.record_or_404(user, record_type, record_id)
    document = operations.document_of(record, rule.kind, args.get("version"))
    if document is None:
        abort(404)
    if args["format"] == "pdf":
        return serve(user, record, operations.pdf_of(user, record, document))
    return serve(user, record, document.file("docx"))


@blueprint.route("/referrals/<referral_id>/documents", methods=["GET"])
@blueprint.response(200, DocumentSchema(many=True))
@policy.requires(Permission.CASE_CONTENT)
def referral_documents(referral_id):
    """Every version of every document of the referral, newest first (for its two parties)."""
    return _list(REFERRAL, referral_id)


@blueprint.route("/referrals/<referral_id>/documents/<kind>", methods=["POST"])
@blueprint.response(201, DocumentSchema)
@policy.requires(Permission.CASE_CONTENT)
def make_referral_document(referral_id, kind):
    """Make the referral letter (once the referral is sent) or the chaser letter (once its
    acknowledgement or answer is overdue): the first time with the sending agency's next
    number of the kind, then as a new version under the same number."""
    return _make(REFERRAL, referral_id, kind)


@blueprint.route("/referrals/<referral_id>/documents/<kind>", methods=["GET"])
@blueprint.arguments(FileQuerySchema, location="query")
@blueprint.response(200, description="The file, as an attachment",
                    content_type="application/octet-stream")
@policy.requires(Permission.CASE_CONTENT)
def referral_document_file(args, referral_id, kind):
    """The latest version of the kind's document (or `version`), as .docx or PDF."""
    return _file(REFERRAL, referral_id, kind, args)


@blueprint.route("/rectifications/<rectification_id>/documents", methods=["GET"])
@blueprint.response(200, DocumentSchema(many=True))
@policy.requires(Permission.CASE_CONTENT)
def rectification_documents(rectification_id):
    """Every version of every document of the item, newest first (for the issuing agency and
    the audited unit)."""
    return _list(RECTIFICATION, rectification_id)


@blueprint.route("/rectifications/<rectification_id>/documents/<kind>", methods=["POST"])
@blueprint.response(201, DocumentSchema)
@policy.requires(Permission.CASE_CONTENT)
def make_rectification_document(rectification_id, kind):
    """Make the rectification notice (any time), the sign-off sheet (once verified) or the
    letter urging rectification (once the report is overdue), as for a referral."""
    return _make(RECTIFICATION, rectification_id, kind)


@blueprint.route("/rectifications/<rectification_id>/documents/<kind>", methods=["GET"])
@blueprint.arguments(FileQuerySchema, location="query")
@blueprint.response(200, description="The file, as an attachment",
                    content_type="application/octet-stream")
@policy.requires(Permission.CASE_CONTENT)
def rectification_document_file(args, rectification_id, kind):
    """The latest version of the kind's document (or `version`), as .docx or PDF."""
    return _file(RECTIFICATION, rectification_id, kind, args)

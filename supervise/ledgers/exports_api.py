"""The caller's ledgers built in the background, under /api/v1/exports.

A job is its requester's alone: another user's, whoever asks (an administrator included),
answers 404, as does a job whose file is not ready. The file is downloaded while the requester
still passes the ledger's own access rule, checked against its SHA-256, and each download is an
event (`ledger.export_download`).
"""

from __future__ import annotations

from flask import abort, current_app, url_for
from marshmallow import Schema, fields

from supervise import policy
from supervise.attachments import storage
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.ledgers.jobs import ExportJob, ExportState, export_or_404, own_exports
from supervise.ledgers.workbook import XLSX_MIMETYPE, send_recorded
from supervise.policy.core import access_for, refusal
from supervise.schemas import LocalDateTime
from supervise.web import Blueprint, current_actor

blueprint = Blueprint("exports_api", __name__, description="Ledgers built in the background")

# The endpoint whose access rule a ledger's reader must pass, by ledger.
LEDGER_ENDPOINTS = {
    "findings": "ledgers_api.findings_ledger",
    "referrals": "ledgers_api.referrals_ledger",
    "rectifications": "ledgers_api.rectifications_ledger",
}


class ExportJobSchema(Schema):
    id = fields.String(attribute="public_id")
    ledger = fields.String(metadata={"description": "findings, referrals or rectifications"})
    state = fields.Function(lambda job: job.state.value, metadata={
        "description": "pending, building, ready or failed"})
    filter = fields.String(attribute="filter_words")
    rows = fields.Integer(metadata={"description": "Counted at the request; once ready, the "
                                                   "file's"})
    requested_at = LocalDateTime()
    ready_at = LocalDateTime(allow_none=True)
    expires_at = LocalDateTime(allow_none=True, metadata={
        "description": "When the file is deleted"})
    url = fields.Function(lambda job: url_for("exports_api.export_job",
                                              export_id=job.public_id))
    file = fields.Function(lambda job: url_for("exports_api.export_file",
                                               export_id=job.public_id)
                           if job.state == ExportState.READY else None,
                           allow_none=True)


class ExportListSchema(Schema):
    items = fields.List(fields.Nested(ExportJobSchema))


def may_read(user, job: ExportJob) -> bool:
    """Whether the requester still passes the access rule of the ledger the job is of."""
    access = access_for(LEDGER_ENDPOINTS.get(job.ledger))
    return access is not None and refusal(access, user) is None


def send_export(user, job: ExportJob):
    """The job's file, for its requester, once ready; 404 otherwise. Recorded and committed."""
    if job.state != ExportState.READY or not job.storage_name or not may_read(user, job):
        abort(404)
    try:
        fh = storage.open_verified(job.storage_name, job.sha256)
    except FileNotFoundError:
        current_app.logger.error("export %s: stored file %s is missing", job.public_id,
                                 job.storage_name)
        abort(404)
    except storage.FileChanged:
        current_app.logger.error("export %s: stored file %s does not match its SHA-256",
                                 job.public_id, job.storage_name)
        abort(404)
    return send_recorded(fh, job.filename, lambda: record_event(
        "ledger.export_download", actor=user, object_type="ledger", object_id=job.ledger,
        details={"export": job.public_id, "rows": job.rows}))


@blueprint.route("/exports", methods=["GET"])
@blueprint.response(200, ExportListSchema)
@policy.signed_in
def list_exports():
    """The caller's ledgers requested in the background, newest first: waiting, being built,
    ready (until deleted a day later) or failed."""
    user = current_actor()
    jobs = db.session.scalars(own_exports(user).order_by(ExportJob.id.desc())).all()
    return {"items": jobs}


@blueprint.route("/exports/<pid:export_id>", methods=["GET"])
@blueprint.response(200, ExportJobSchema)
@policy.signed_in
def export_job(export_id: str):
    """One of the caller's export jobs; another user's answers 404."""
    return export_or_404(current_actor(), export_id)


@blueprint.route("/exports/<pid:export_id>/file", methods=["GET"])
@blueprint.response(200, description="The ledger, an .xlsx file", content_type=XLSX_MIMETYPE)
@policy.signed_in
def export_file(export_id: str):
    """The built ledger of one of the caller's export jobs, once ready (404 before, and for
    another user's job)."""
    user = current_actor()
    return send_export(user, export_or_404(user, export_id))

"""Sending a stored evidence file to the browser or an API client."""

from flask import abort, current_app, send_file
from flask_babel import gettext as _

from supervise.attachments import storage
from supervise.attachments.models import Attachment
from supervise.attachments.operations import record_download, record_integrity_failure
from supervise.errors import OperationError
from supervise.extensions import db


def send_attachment(attachment: Attachment):
    """The file as a download (never shown inline), with the type judged at upload, once its
    content is checked against the SHA-256 taken at upload (storage.FileChanged if not)."""
    try:
        fh = storage.open_verified(attachment.storage_name, attachment.sha256)
    except FileNotFoundError:
        current_app.logger.error("attachment %s: stored file %s is missing",
                                 attachment.public_id, attachment.storage_name)
        abort(404)
    size = storage.size_of(fh)
    response = send_file(fh, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename, max_age=0, etag=attachment.sha256)
    response.content_length = size
    return response


def serve(user, record, attachment: Attachment):
    """Send a file of `record` that the caller may read (found by the policy), and record the
    download in the event log. A file changed on disk is refused (409, nothing of it sent)
    and the refusal recorded, committed on its own."""
    try:
        response = send_attachment(attachment)
    except storage.FileChanged:
        current_app.logger.error("attachment %s: stored file %s does not match its SHA-256",
                                 attachment.public_id, attachment.storage_name)
        record_integrity_failure(user, record, attachment)
        raise OperationError(_("This file no longer matches what was uploaded, so it is not "
                               "sent. The refusal is recorded in the event log."), 409) from None
    record_download(user, record, attachment)
    db.session.commit()
    return response

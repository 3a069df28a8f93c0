"""Sending a stored evidence file to the browser or an API client."""

from flask import abort, current_app, send_file

from supervise.attachments import storage
from supervise.attachments.models import Attachment
from supervise.attachments.operations import record_download
from supervise.extensions import db


def send_attachment(attachment: Attachment):
    """The file as a download (never shown inline), with the type judged at upload."""
    try:
        path = storage.stored_path(attachment.storage_name)
    except FileNotFoundError:
        current_app.logger.error("attachment %s: stored file %s is missing",
                                 attachment.public_id, attachment.storage_name)
        abort(404)
    return send_file(path, mimetype=attachment.content_type, as_attachment=True,
                     download_name=attachment.filename, max_age=0)


def serve(user, record, attachment: Attachment):
    """Send a file of `record` that the caller may read (found by the policy), and record the
    download in the event log."""
    response = send_attachment(attachment)
    record_download(user, record, attachment)
    db.session.commit()
    return response

"""Storing evidence for any record, and recording its downloads: one way for findings,
referrals and rectification reports alike."""

from __future__ import annotations

from flask_babel import gettext as _

from supervise.attachments import storage
from supervise.attachments.models import Attachment
from supervise.errors import InvalidInput
from supervise.events.log import record_event
from supervise.events.models import Outcome
from supervise.extensions import db
from supervise.settings.models import get_setting


def attach(user, upload, *, record, field: str = "file", **owner) -> Attachment:
    """Store an upload as evidence of `record` (the owner columns, e.g. finding_id=…, say where
    it belongs): typed by its content, limited by the settings, recorded as an event naming
    `record`. The stored file is removed again if anything fails."""
    if upload is None or not getattr(upload, "filename", None):
        raise InvalidInput({field: _("Choose a file.")})
    stored = storage.store_upload(upload.stream, upload.filename,
                                  get_setting("attachment_max_mb") * 1024 * 1024)
    try:
        attachment = Attachment(filename=stored.filename,
                                content_type=stored.file_type.content_type, size=stored.size,
                                sha256=stored.sha256, storage_name=stored.storage_name,
                                uploaded_by=user, **owner)
        db.session.add(attachment)
        db.session.flush()
        record_event("attachment.upload", actor=user, obj=record,
                     details={"attachment": attachment.public_id, "sha256": stored.sha256,
                              "size": stored.size, "type": stored.file_type.extension})
    except BaseException:
        storage.discard(stored.storage_name)
        raise
    return attachment


def copy(user, attachment: Attachment, *, record, **owner) -> Attachment:
    """The same evidence for another record (a revision of a referral), as a file of its own."""
    copied = Attachment(filename=attachment.filename, content_type=attachment.content_type,
                        size=attachment.size, sha256=attachment.sha256,
                        storage_name=storage.duplicate(attachment.storage_name),
                        uploaded_by=attachment.uploaded_by, **owner)
    db.session.add(copied)
    db.session.flush()
    record_event("attachment.copy", actor=user, obj=record,
                 details={"attachment": copied.public_id, "from": attachment.public_id,
                          "sha256": attachment.sha256})
    return copied


def attach_all(user, uploads, *, record, field: str = "files", **owner) -> list[Attachment]:
    """Several files for one step: all of them, or none stays on disk (a refusal rolls the
    session back, and the rollback removes every file stored in it: attachments.storage)."""
    return [attach(user, upload, record=record, field=field, **owner) for upload in uploads]


def record_download(user, record, attachment: Attachment) -> None:
    record_event("attachment.download", actor=user, obj=record,
                 details={"attachment": attachment.public_id, "sha256": attachment.sha256})


def record_integrity_failure(user, record, attachment: Attachment) -> None:
    """A stored file no longer matches its SHA-256: recorded and committed in a transaction of
    its own (whatever the request had pending is dropped first), so the refusal stays recorded
    when the request ends in an error."""
    details = {"attachment": attachment.public_id, "sha256": attachment.sha256}
    object_type, object_id = record.__tablename__, record.public_id
    db.session.rollback()
    record_event("attachment.integrity_failed", actor=user, object_type=object_type,
                 object_id=object_id, outcome=Outcome.FAILURE, details=details)
    db.session.commit()

"""Making documents, and the administration of their templates and number prefixes. Each
operation checks who may do it and when, records its event and flushes; the caller commits
once (so a document, its number, its file and its event are kept together, or none of them)."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from supervise.accounts.models import User
from supervise.attachments import storage
from supervise.attachments.models import Attachment
from supervise.calendar.deadlines import local_date
from supervise.cleaning import clean_input
from supervise.database import now_utc
from supervise.documents import convert, numbers, templates
from supervise.documents.kinds import KINDS, REFERRAL, Kind, context_of
from supervise.documents.models import Document, DocumentKind, DocumentTemplate, NumberPrefix
from supervise.errors import InvalidInput, OperationError
from supervise.events.log import record_event
from supervise.extensions import db
from supervise.policy import documents as document_access
from supervise.vocabulary import DOCUMENT_LOCALE

MAX_TEMPLATE_READ = templates.MAX_TEMPLATE_BYTES + 1


def kind_or_none(value: Any) -> Kind | None:
    try:
        return KINDS[DocumentKind(value)]
    except (ValueError, TypeError):
        return None


def owner_column(record):
    return Document.referral_id if hasattr(record, "receiver_agency_id") \
        else Document.rectification_id


def documents_of(record) -> list[Document]:
    """Every version of every document of the record, newest first."""
    return list(db.session.scalars(
        sa.select(Document).where(owner_column(record) == record.id)
        .options(selectinload(Document.files), selectinload(Document.generated_by))
        .order_by(Document.generated_at.desc(), Document.id.desc())))


def document_of(record, kind: DocumentKind, version: int | None = None) -> Document | None:
    """One version of the record's document of a kind (the latest unless `version`)."""
    query = sa.select(Document).where(owner_column(record) == record.id, Document.kind == kind)
    if version is not None:
        query = query.where(Document.version == version)
    return db.session.scalar(query.options(selectinload(Document.files))
                             .order_by(Document.version.desc()).limit(1))


def latest_numbers(record_ids: list[int], kind: DocumentKind, column) -> dict[int, str]:
    """The number of each record's document of a kind (for the ledgers), in one statement."""
    if not record_ids:
        return {}
    return dict(db.session.execute(
        sa.select(column, Document.number).distinct()
        .where(column.in_(record_ids), Document.kind == kind)).all())


def _parties(kind: Kind, record) -> tuple:
    if kind.record == REFERRAL:
        return record.sender_agency, record.receiver_agency
    return record.owner_agency, record.unit


def generate(user: User, record, kind: Kind) -> Document:
    """A new document of `kind` made from `record` (loaded FOR UPDATE by the caller): its
    first version with the next number of the issuing agency, or, when the record has one, a
    new version under the same number. 403 for a party that does not issue it, 409 when the
    record is not in a state to have it."""
    if not document_access.issues(user, kind, record):
        raise OperationError(_("Only the issuing agency makes this document."), 403)
    now = now_utc()
    refusal = kind.refusal(record, now)
    if refusal:
        raise OperationError(refusal, 409)
    issuer, addressee = _parties(kind, record)
    previous = document_of(record, kind.kind)
    if previous is not None:
        year, sequence, number = previous.year, previous.sequence, previous.number
        version = previous.version + 1
    else:
        year = local_date(now).year
        sequence = numbers.next_sequence(issuer.id, kind.kind, year)
        number = numbers.formatted(numbers.prefix_of(issuer.id, kind.kind), year, sequence)
        version = 1
    content = templates.render(kind.kind, context_of(kind, record, issuer=issuer.name,
                                                      addressee=addressee.name, number=number,
                                                      now=now))
    document = Document(kind=kind.kind, agency_id=issuer.id, year=year, sequence=sequence,
                        number=number, version=version, generated_by=user, generated_at=now,
                        **{owner_column(record).key: record.id})
    db.session.add(document)
    db.session.flush()
    file = _store(user, document, content, storage.DOCX, now)
    record_event("document.generate", actor=user, obj=record,
                 details={"document": document.public_id, "kind": kind.kind.value,
                          "number": number, "version": version, "sha256": file.sha256})
    return document


def _filename(document: Document, file_type: storage.FileType) -> str:
    with force_locale(DOCUMENT_LOCALE):
        name = f"{document.number} {document.kind.label}"
        if document.version > 1:
            name += _(" (version %(version)d)", version=document.version)
    return storage.clean_filename(f"{name}.{file_type.extension}", file_type)


def _store(user: User, document: Document, content: bytes, file_type: storage.FileType,
           now) -> Attachment:
    storage_name, size, sha256 = storage.store_file(io.BytesIO(content))
    file = Attachment(document_id=document.id, filename=_filename(document, file_type),
                      content_type=file_type.content_type, size=size, sha256=sha256,
                      storage_name=storage_name, uploaded_by=user, uploaded_at=now)
    db.session.add(file)
    db.session.flush()
    return file


def pdf_of(user: User, record, document: Document) -> Attachment:
    """The document's PDF: made from its .docx the first time it is asked for, and kept."""
    existing = document.file(storage.PDF.extension)
    if existing is not None:
        return existing
    docx = document.file(storage.DOCX.extension)
    with storage.open_verified(docx.storage_name, docx.sha256) as fh:
        content = convert.to_pdf(fh.read())
    file = _store(user, document, content, storage.PDF, now_utc())
    record_event("document.convert", actor=user, obj=record,
                 details={"document": document.public_id, "sha256": file.sha256})
    db.session.expire(document, ["files"])
    return file


# --- templates and prefixes (administration) ---------------------------------------------------


def replace_template(user: User, kind: DocumentKind, upload) -> DocumentTemplate:
    """The security administrator's template in place of the kind's current one, once it
    passes `templates.check`."""
    if upload is None or not getattr(upload, "filename", None):
        raise InvalidInput({"file": _("Choose a file.")})
    content = upload.stream.read(MAX_TEMPLATE_READ)
    templates.check(kind, upload.filename, content)
    row = templates.uploaded(kind) or DocumentTemplate(kind=kind)
    row.filename = storage.clean_filename(upload.filename, storage.DOCX)
    row.content, row.sha256 = content, templates.sha256(content)
    row.uploaded_by, row.uploaded_at = user, now_utc()
    db.session.add(row)
    db.session.flush()
    record_event("document.template_replace", actor=user, object_type="document_templates",
                 object_id=kind.value, details={"kind": kind.value, "sha256": row.sha256,
                                                "size": len(content)})
    return row


def restore_template(user: User, kind: DocumentKind) -> None:
    """Back to the built-in template of the kind."""
    row = templates.uploaded(kind)
    if row is None:
        raise OperationError(_("This kind already uses the built-in template."), 409)
    db.session.delete(row)
    db.session.flush()
    record_event("document.template_restore", actor=user, object_type="document_templates",
                 object_id=kind.value, details={"kind": kind.value})


def set_prefixes(user: User, values: dict[str, Any]) -> dict[DocumentKind, str]:
    """The user's agency's number prefixes, kind by kind (an empty one: no prefix; a kind not
    given keeps its own); only the ones that changed are written and recorded."""
    kinds = [kind.value for kind in DocumentKind]
    given = clean_input(values, fields=kinds, required=(), partial=True, clean=None,
                        text_limits=dict.fromkeys(kinds, numbers.PREFIX_LIMIT))
    errors = {name: _("A prefix holds no brackets: the year's 〔〕 are added.")
              for name, text in given.items() if any(ch in text for ch in "〔〕[]{}<>")}
    if errors:
        raise InvalidInput(errors)
    current = numbers.prefixes_of(user.agency_id)
    cleaned = {kind: given.get(kind.value, current[kind]) for kind in DocumentKind}
    changed = {kind: text for kind, text in cleaned.items() if current[kind] != text}
    for kind, text in changed.items():
        row = db.session.get(NumberPrefix, (user.agency_id, kind))
        if row is None:
            row = NumberPrefix(agency_id=user.agency_id, kind=kind)
            db.session.add(row)
        row.prefix, row.updated_by_id, row.updated_at = text, user.id, now_utc()
        record_event("document.prefix_update", actor=user, object_type="agencies",
                     object_id=str(user.agency_id),
                     details={"kind": kind.value, "from": current[kind], "to": text})
    return {**current, **changed}

"""Accepting evidence files: the type is judged from the content, never from the name.

Accepted: PDF, JPEG, PNG, DOCX, XLSX and OFD (GB/T 33190, China's fixed-layout e-document:
a ZIP package whose entry point is OFD.xml). Everything else, an executable renamed to .pdf
included, is refused.

A stored file is checked against the SHA-256 taken at upload every time it is read
(`open_verified`): a file changed on disk is never handed out.

A file is stored before the row that names it is committed. Each stored file is noted on the
database session that will commit it: if that session rolls back instead, the file goes too, so
that a failed request leaves no orphan on disk, whatever part of the code it failed in.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from supervise.errors import OperationError
from supervise.extensions import db

PENDING = "stored_files"  # key in Session.info: paths stored since the last commit

CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileType:
    extension: str
    content_type: str


PDF = FileType("pdf", "application/pdf")
JPEG = FileType("jpg", "image/jpeg")
PNG = FileType("png", "image/png")
DOCX = FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
XLSX = FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
OFD = FileType("ofd", "application/ofd")


def sniff(path: Path) -> FileType | None:
    """The type of a stored upload, from its bytes; None when it is not an accepted type."""
    with path.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path)
    return None


def _sniff_zip(path: Path) -> FileType | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    if "OFD.xml" in names:
        return OFD
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
    return None


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class StoredFile:
    storage_name: str
    filename: str
    file_type: FileType
    size: int
    sha256: str

    @property
    def path(self) -> Path:
        return upload_dir() / self.storage_name


def clean_filename(name: str | None, file_type: FileType) -> str:
    """The uploader's name without any path, with the extension the content really has."""
    base = PurePath((name or "").replace("\\", "/")).name.strip() or "attachment"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = "".join(ch for ch in stem if ch.isprintable() and ch not in '<>:"/\\|?*')[:200]
    return f"{stem or 'attachment'}.{file_type.extension}"


def store_upload(stream, filename: str | None, max_bytes: int) -> StoredFile:
    """Write an upload to disk under a random name, hashing it; refuse it if too large or of a
    type not accepted. The caller records the row, and calls `discard` if that fails."""
    storage_name = secrets.token_hex(16)
    path = upload_dir() / storage_name
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("xb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise OperationError(
                        _("The file is larger than %(mb)d MB.", mb=max_bytes // (1024 * 1024)),
                        413)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise OperationError(_("The file is empty."))
        file_type = sniff(path)
        if file_type is None:
            raise OperationError(_("Only PDF, JPEG, PNG, DOCX, XLSX and OFD files are "
                                   "accepted; the type is judged from the content."), 415)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    _note(path)
    return StoredFile(storage_name, clean_filename(filename, file_type), file_type, size,
                      digest.hexdigest())


def duplicate(storage_name: str) -> str:
    """A second stored file with the same content (a hard link where the disk allows), for a
    record of its own; its name."""
    source = stored_path(storage_name)
    name = secrets.token_hex(16)
    target = upload_dir() / name
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    _note(target)
    return name


def _note(path: Path) -> None:
    db.session.info.setdefault(PENDING, []).append(str(path))


@sa.event.listens_for(Session, "after_commit")
def _keep_stored(session) -> None:
    session.info.pop(PENDING, None)


@sa.event.listens_for(Session, "after_rollback")
def _discard_stored(session) -> None:
    for path in session.info.pop(PENDING, []):
        Path(path).unlink(missing_ok=True)


def discard(storage_name: str) -> None:
    (upload_dir() / storage_name).unlink(missing_ok=True)


def stored_path(storage_name: str) -> Path:
    path = upload_dir() / storage_name
    if not path.is_file():
        raise FileNotFoundError(storage_name)
    return path


class FileChanged(Exception):
    """A stored file whose content is no longer what was uploaded."""


def open_verified(storage_name: str, sha256: str):
    """The stored file opened for reading, at its start, once its content has been hashed (in
    chunks, never all in memory) and found to be what was uploaded; FileNotFoundError or
    FileChanged otherwise. What is sent is read from the same open file that was checked."""
    fh = stored_path(storage_name).open("rb")
    try:
        digest = hashlib.sha256()
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
        if not hmac.compare_digest(digest.hexdigest(), sha256):
            raise FileChanged(storage_name)
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    return fh

"""Accepting evidence files, and keeping stored files (evidence, built ledgers) in the storage
backend the installation chose: the type is judged from the content, never from the name.

Accepted: PDF, JPEG, PNG, DOCX, XLSX and OFD (GB/T 33190, China's fixed-layout e-document:
a ZIP package whose entry point is OFD.xml). Everything else, an executable renamed to .pdf
included, is refused.

A stored file is checked against the SHA-256 taken at upload every time it is read
(`open_verified`): a file changed in storage is never handed out.

Two backends, chosen by FILE_STORAGE (`folder`, the default, or `database`):
- `folder`: files under UPLOAD_DIR with random names. One server's disk, or a folder every
  server mounts. A file is written before the row that names it is committed; each stored file
  is noted on the database session that will commit it: if that session rolls back instead, the
  file goes too, so that a failed request leaves no orphan on disk, whatever part of the code
  it failed in. A file removed in a transaction goes once that transaction commits.
- `database`: files as rows of `stored_files`, in parts of PART bytes, written in the same
  transaction as the row that names them, so a rollback takes them with it and every server on
  the same database reads them. They travel with the database's backups.
Reading a file never holds more than a part of it in memory: it is copied, part by part, to a
temporary file of the reading process, which is what gets checked and sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from supervise.attachments.models import StoredPart
from supervise.errors import OperationError
from supervise.extensions import db

PENDING = "stored_files"  # key in Session.info: paths stored since the last commit
REMOVE_ON_COMMIT = "removed_files"  # key in Session.info: paths to remove once committed

CHUNK = 64 * 1024
PART = 1024 * 1024  # bytes of a file per row of stored_files
SPOOL_BYTES = 1024 * 1024  # a file being read or received stays in memory up to this size

FOLDER = "folder"
DATABASE = "database"
BACKENDS = (FOLDER, DATABASE)


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


def sniff(source: Path | IO[bytes]) -> FileType | None:
    """The type of a stored upload (a path, or a seekable file), from its bytes; None when it
    is not an accepted type."""
    if isinstance(source, Path):
        with source.open("rb") as fh:
            return sniff(fh)
    source.seek(0)
    head = source.read(16)
    source.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(source)
    return None


def _sniff_zip(source: IO[bytes]) -> FileType | None:
    try:
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    finally:
        source.seek(0)
    if "OFD.xml" in names:
        return OFD
    if "[Content_Types].xml" in names:
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
    return None


# --- the backends -----------------------------------------------------------------------------


class FolderStorage:
    """Files under UPLOAD_DIR (today's behaviour, the default)."""

    name = FOLDER

    def root(self) -> Path:
        path = Path(current_app.config["UPLOAD_DIR"])
        path.mkdir(parents=True, exist_ok=True)
        return path

    def save(self, storage_name: str, source: IO[bytes]) -> None:
        path = self.root() / storage_name
        try:
            with path.open("xb") as out:
                shutil.copyfileobj(source, out, CHUNK)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        _note(PENDING, path)

    def open(self, storage_name: str) -> IO[bytes]:
        return stored_path(storage_name).open("rb")

    def copy(self, source: str, target: str) -> None:
        """A hard link where the disk allows."""
        source_path, path = stored_path(source), self.root() / target
        try:
            os.link(source_path, path)
        except OSError:
            shutil.copyfile(source_path, path)
        _note(PENDING, path)

    def delete(self, storage_name: str) -> None:
        (self.root() / storage_name).unlink(missing_ok=True)

    def delete_on_commit(self, storage_name: str) -> None:
        _note(REMOVE_ON_COMMIT, self.root() / storage_name)

    def exists(self, storage_name: str) -> bool:
        return (self.root() / storage_name).is_file()


class DatabaseStorage:
    """Files as rows of `stored_files`, PART bytes a row, in the caller's transaction."""

    name = DATABASE

    def save(self, storage_name: str, source: IO[bytes]) -> None:
        part = 0
        while True:
            data = source.read(PART)
            if not data and part:
                break
            db.session.execute(sa.insert(StoredPart).values(
                storage_name=storage_name, part=part, data=data))
            part += 1
            if len(data) < PART:
                break

    def open(self, storage_name: str) -> IO[bytes]:
        """The file copied, part by part, to a temporary file of this process (removed when
        closed); FileNotFoundError when there is none."""
        parts = list(db.session.scalars(
            sa.select(StoredPart.part).where(StoredPart.storage_name == storage_name)
            .order_by(StoredPart.part)))
        if not parts:
            raise FileNotFoundError(storage_name)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned
        try:
            for part in parts:
                spool.write(db.session.scalar(sa.select(StoredPart.data).where(
                    StoredPart.storage_name == storage_name, StoredPart.part == part)))
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return spool

    def copy(self, source: str, target: str) -> None:
        copied = db.session.execute(sa.insert(StoredPart).from_select(
            ["storage_name", "part", "data"],
            sa.select(sa.literal(target, sa.String(64)), StoredPart.part, StoredPart.data)
            .where(StoredPart.storage_name == source)))
        if not copied.rowcount:
            raise FileNotFoundError(source)

    def delete(self, storage_name: str) -> None:
        db.session.execute(sa.delete(StoredPart).where(StoredPart.storage_name == storage_name))

    delete_on_commit = delete  # the deletion is part of the transaction

    def exists(self, storage_name: str) -> bool:
        return db.session.scalar(sa.select(StoredPart.part).where(
            StoredPart.storage_name == storage_name).limit(1)) is not None


def backend(name: str | None = None) -> FolderStorage | DatabaseStorage:
    """The storage backend of the settings (FILE_STORAGE), or the one named."""
    name = name or current_app.config.get("FILE_STORAGE", FOLDER)
    if name == DATABASE:
        return DatabaseStorage()
    return FolderStorage()


def upload_dir() -> Path:
    return FolderStorage().root()


# --- storing --------------------------------------------------------------------------------


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


def new_storage_name() -> str:
    return secrets.token_hex(16)


def receive(stream, max_bytes: int) -> tuple[IO[bytes], int, str]:
    """An upload taken into a temporary file (in memory up to SPOOL_BYTES) and hashed: the
    file at its start, its size and SHA-256; refused (413) beyond `max_bytes`, and when empty.
    The caller closes the file."""
    digest = hashlib.sha256()
    size = 0
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (returned)
    try:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise OperationError(
                    _("The file is larger than %(mb)d MB.", mb=max_bytes // (1024 * 1024)), 413)
            digest.update(chunk)
            spool.write(chunk)
        if size == 0:
            raise OperationError(_("The file is empty."))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size, digest.hexdigest()


def store_upload(stream, filename: str | None, max_bytes: int) -> StoredFile:
    """Receive an upload (`receive`; refused if too large or of a type not accepted), then
    store it in the backend under a random name. The caller records the row, and calls
    `discard` if that fails."""
    spool, size, sha256 = receive(stream, max_bytes)
    with spool:
        file_type = sniff(spool)
        if file_type is None:
            raise OperationError(_("Only PDF, JPEG, PNG, DOCX, XLSX and OFD files are "
                                   "accepted; the type is judged from the content."), 415)
        storage_name = new_storage_name()
        spool.seek(0)
        backend().save(storage_name, spool)
    return StoredFile(storage_name, clean_filename(filename, file_type), file_type, size,
                      sha256)


def store_file(source: IO[bytes], prefix: str = "") -> tuple[str, int, str]:
    """Store a file this process made (a built ledger), read from its start: its storage name,
    size and SHA-256. Kept or gone with the caller's transaction, as an upload. A `prefix`
    marks files that a sweep finds again by name (`stored_names`)."""
    digest = hashlib.sha256()
    size = 0
    source.seek(0)
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    source.seek(0)
    storage_name = prefix + new_storage_name()
    backend().save(storage_name, source)
    return storage_name, size, digest.hexdigest()


def stored_names(prefix: str) -> list[str]:
    """The names of the stored files that begin with `prefix` (see `store_file`)."""
    if not prefix:
        raise ValueError("a prefix is needed")
    if backend().name == DATABASE:
        return list(db.session.scalars(
            sa.select(StoredPart.storage_name).distinct()
            .where(StoredPart.storage_name.startswith(prefix, autoescape=True))))
    return sorted(path.name for path in upload_dir().glob(prefix + "*") if path.is_file())


def duplicate(storage_name: str) -> str:
    """A second stored file with the same content (a hard link where the disk allows, a copy
    of the rows in the database), for a record of its own; its name."""
    name = new_storage_name()
    backend().copy(storage_name, name)
    return name


def _note(key: str, path: Path) -> None:
    db.session.info.setdefault(key, []).append(str(path))


@sa.event.listens_for(Session, "after_commit")
def _keep_stored(session) -> None:
    session.info.pop(PENDING, None)
    for path in session.info.pop(REMOVE_ON_COMMIT, []):
        Path(path).unlink(missing_ok=True)


@sa.event.listens_for(Session, "after_rollback")
def _discard_stored(session) -> None:
    session.info.pop(REMOVE_ON_COMMIT, None)
    for path in session.info.pop(PENDING, []):
        Path(path).unlink(missing_ok=True)


def discard(storage_name: str) -> None:
    """Remove a file stored in a transaction that is failing (on the database, the rollback
    removes it; a transaction that is already broken is left to its rollback)."""
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        backend().delete(storage_name)


def remove(storage_name: str) -> None:
    """Remove a stored file once the current transaction commits (and not if it rolls back)."""
    backend().delete_on_commit(storage_name)


def stored_path(storage_name: str) -> Path:
    """Where the folder backend keeps a file; FileNotFoundError when it is not there."""
    path = upload_dir() / storage_name
    if not path.is_file():
        raise FileNotFoundError(storage_name)
    return path


def size_of(fh: IO[bytes]) -> int:
    """The size of an open file, left at its start."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size


class FileChanged(Exception):
    """A stored file whose content is no longer what was uploaded."""


def open_verified(storage_name: str, sha256: str):
    """The stored file opened for reading, at its start, once its content has been hashed (in
    chunks, never all in memory) and found to be what was uploaded; FileNotFoundError or
    FileChanged otherwise. What is sent is read from the same open file that was checked."""
    fh = backend().open(storage_name)
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

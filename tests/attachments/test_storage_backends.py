"""Both storage backends (FILE_STORAGE=folder, the default, and database) keep a file whole, in
the transaction of the row that names it: uploaded then downloaded with its checksum, refused
or rolled back leaving nothing, copied as a file of its own, removed only once the removal
commits, and a changed file refused. The database backend writes nothing to the folder."""

from __future__ import annotations

import hashlib
import io

import pytest
import sqlalchemy as sa

from supervise.attachments import storage
from supervise.attachments.models import Attachment, StoredPart
from supervise.extensions import db
from tests.factories import FindingFactory
from tests.support.files import EXE, PDF

# More than two parts of the database backend, so that a file spans several rows.
BIG = PDF + b"%" + b"x" * (2 * storage.PART + 12345) + b"\n"


@pytest.fixture(params=[storage.FOLDER, storage.DATABASE])
def backend(request, app, upload_dir, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", request.param)
    return request.param


def stored_names(upload_dir) -> set[str]:
    """Every file kept, by either backend."""
    db.session.expire_all()
    parts = set(db.session.scalars(sa.select(StoredPart.storage_name)))
    return parts | {p.name for p in upload_dir.iterdir()}


def test_an_upload_downloads_whole_from_the_backend(world, as_, upload_dir, backend):
    target = FindingFactory(owner_agency=world.audit, unit=world.edu,
                            created_by=world.audit_staff)
    response = as_("audit_staff").attach(target.public_id, BIG, "大文件.pdf")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["sha256"] == hashlib.sha256(BIG).hexdigest()
    [attachment] = db.session.scalars(sa.select(Attachment)).all()
    if backend == storage.DATABASE:
        assert list(upload_dir.iterdir()) == []
        parts = db.session.scalars(sa.select(StoredPart.part).where(
            StoredPart.storage_name == attachment.storage_name).order_by(StoredPart.part)).all()
        assert parts == [0, 1, 2]
    else:
        assert [p.name for p in upload_dir.iterdir()] == [attachment.storage_name]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredPart)) == 0
    download = as_("audit_staff").get(f"/attachments/{body['id']}", buffered=True)
    assert download.status_code == 200
    assert download.data == BIG and int(download.headers["Content-Length"]) == len(BIG)


def test_a_refused_upload_leaves_nothing(world, as_, upload_dir, backend):
    target = FindingFactory(owner_agency=world.audit, unit=world.edu,
                            created_by=world.audit_staff)
    assert as_("audit_staff").attach(target.public_id, EXE, "证据.pdf").status_code == 415
    assert stored_names(upload_dir) == set()


def test_a_file_goes_with_its_transaction(app, upload_dir, backend):
    with app.test_request_context():
        kept = storage.store_upload(io.BytesIO(BIG), "a.pdf", 10 * 1024 * 1024)
        db.session.commit()
        dropped = storage.store_upload(io.BytesIO(PDF), "b.pdf", 10 * 1024 * 1024)
        db.session.execute(sa.select(1))  # as the row naming it would: a transaction to undo
        db.session.rollback()
        assert stored_names(upload_dir) == {kept.storage_name}
        with storage.open_verified(kept.storage_name, kept.sha256) as fh:
            assert fh.read() == BIG
        with pytest.raises(FileNotFoundError):
            storage.open_verified(dropped.storage_name, hashlib.sha256(PDF).hexdigest())


def test_a_copy_is_a_file_of_its_own_and_a_removal_waits_for_the_commit(app, upload_dir,
                                                                        backend):
    with app.test_request_context():
        original = storage.store_upload(io.BytesIO(BIG), "a.pdf", 10 * 1024 * 1024)
        db.session.commit()
        copy = storage.duplicate(original.storage_name)
        db.session.commit()
        assert stored_names(upload_dir) == {original.storage_name, copy}
        storage.remove(original.storage_name)
        db.session.execute(sa.select(1))
        db.session.rollback()  # the removal did not happen
        assert stored_names(upload_dir) == {original.storage_name, copy}
        storage.remove(original.storage_name)
        db.session.commit()
        assert stored_names(upload_dir) == {copy}
        with storage.open_verified(copy, original.sha256) as fh:
            assert fh.read() == BIG


def test_a_changed_file_in_the_database_is_refused(world, as_, upload_dir, app, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", storage.DATABASE)
    target = FindingFactory(owner_agency=world.audit, unit=world.edu,
                            created_by=world.audit_staff)
    body = as_("audit_staff").attach(target.public_id, BIG, "证据.pdf").get_json()
    [attachment] = db.session.scalars(sa.select(Attachment)).all()
    db.session.execute(sa.update(StoredPart).where(
        StoredPart.storage_name == attachment.storage_name, StoredPart.part == 1)
        .values(data=b"y" * storage.PART))
    db.session.commit()
    response = as_("audit_staff").get(f"/attachments/{body['id']}")
    assert response.status_code == 409
    assert b"y" * 100 not in response.data


def test_a_storage_backend_that_is_none_is_refused_at_start(app_factory):
    from supervise.config import ConfigError

    with pytest.raises(ConfigError, match="FILE_STORAGE"):
        app_factory(FILE_STORAGE="s3")

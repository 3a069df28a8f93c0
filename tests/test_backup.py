"""Backup and restore lose nothing: a backup taken while the app holds data restores into an
empty database and folder where every file downloads with its checksum and the event log
verifies; a changed copy, a non-empty target or another installation's copy is refused with
nothing restored."""

from __future__ import annotations

import contextlib
import contextvars
import json
import uuid

import pytest
import sqlalchemy as sa

from supervise.attachments.models import Attachment
from supervise.attachments.storage import open_verified
from supervise.events.log import verify_chain
from supervise.extensions import db
from tests.factories import FindingFactory
from tests.support.files import PDF, PNG


def invoke(app, *args):
    return contextvars.Context().run(app.test_cli_runner().invoke, args=list(args))


@pytest.fixture
def stored(world, as_):
    """A finding and a referral with evidence files, and the events of their making."""
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff)
    owner = as_("audit_staff")
    assert owner.upload(f"/findings/{finding.public_id}/attachments",
                        {"file": (PDF, "底稿.pdf")}).status_code == 201
    rid = owner.post("/referrals", json={
        "receiver": "discipline", "kind": "clue", "title": "问题线索", "facts": "事实。",
        "persons_involved": [{"name": "张某某", "position": "校长"}]}).get_json()["id"]
    assert owner.upload(f"/referrals/{rid}/attachments",
                        {"file": (PNG, "照片.png")}).status_code == 201
    return rid


@pytest.fixture
def empty_target(app, app_factory, tmp_path):
    """Another installation: an empty database of the same kind and an empty upload folder."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        target_url = f"sqlite:///{tmp_path}/restored.db"
        yield app_factory(SQLALCHEMY_DATABASE_URI=target_url, UPLOAD_DIR=str(tmp_path / "up"))
        return
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield app_factory(SQLALCHEMY_DATABASE_URI=url.set(database=name).render_as_string(
            hide_password=False), UPLOAD_DIR=str(tmp_path / "up"))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def in_app(app, work):
    def run():
        with app.app_context():
            return work()
    return contextvars.Context().run(run)


def test_a_backup_restores_whole_elsewhere(app, stored, empty_target, tmp_path):
    made = invoke(app, "backup", str(tmp_path / "copy"))
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "copy" / "manifest.json").read_text())
    assert len(manifest["files"]) == 2 and manifest["seal"]
    head = manifest["event_head"]["seq"]
    assert f"up to #{head}" in made.output
    # More happens after the backup: the copy keeps its moment.
    FindingFactory()
    restored = invoke(empty_target, "restore", str(tmp_path / "copy"))
    assert restored.exit_code == 0, restored.output

    def read_back():
        attachments = db.session.scalars(sa.select(Attachment)).all()
        assert len(attachments) == 2
        for attachment in attachments:
            with open_verified(attachment.storage_name, attachment.sha256) as fh:
                assert fh.read(4)
        count, problem = verify_chain()
        assert problem is None and count == head
        from supervise.referrals.models import Referral
        [referral] = db.session.scalars(sa.select(Referral)).all()
        assert referral.public_id == stored and referral.persons[0].name == "张某某"
    in_app(empty_target, read_back)


def test_a_changed_copy_is_refused_and_nothing_restored(app, stored, empty_target, tmp_path):
    assert invoke(app, "backup", str(tmp_path / "copy")).exit_code == 0
    name = next((tmp_path / "copy" / "files").iterdir())
    name.write_bytes(name.read_bytes() + b"x")
    refused = invoke(empty_target, "restore", str(tmp_path / "copy"))
    assert refused.exit_code != 0
    assert "checksums fail" in refused.output and name.name in refused.output
    assert in_app(empty_target, lambda: sa.inspect(db.engine).get_table_names()) == []


def test_a_changed_manifest_or_another_installations_copy_is_refused(
        app, app_factory, stored, empty_target, tmp_path):
    assert invoke(app, "backup", str(tmp_path / "copy")).exit_code == 0
    manifest_path = tmp_path / "copy" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["event_head"]["seq"] += 1
    manifest_path.write_text(json.dumps(manifest))
    refused = invoke(empty_target, "restore", str(tmp_path / "copy"))
    assert refused.exit_code != 0 and "seal does not match" in refused.output
    other = app_factory(EVENT_LOG_KEY="another-installation",
                        SQLALCHEMY_DATABASE_URI=empty_target.config["SQLALCHEMY_DATABASE_URI"],
                        UPLOAD_DIR=empty_target.config["UPLOAD_DIR"])
    assert invoke(app, "backup", str(tmp_path / "copy2")).exit_code == 0
    refused = invoke(other, "restore", str(tmp_path / "copy2"))
    assert refused.exit_code != 0 and "seal does not match" in refused.output


def test_a_restore_goes_only_into_an_empty_database_and_a_backup_into_a_new_folder(
        app, stored, tmp_path):
    assert invoke(app, "backup", str(tmp_path / "copy")).exit_code == 0
    again = invoke(app, "backup", str(tmp_path / "copy"))
    assert again.exit_code != 0 and "not empty" in again.output
    refused = invoke(app, "restore", str(tmp_path / "copy"))
    assert refused.exit_code != 0 and "database is not empty" in refused.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 2


def test_with_the_database_backend_the_files_travel_in_the_database(
        app, app_factory, world, as_, tmp_path, monkeypatch):
    """FILE_STORAGE=database: the backup copies no file (they are rows of the database copy),
    restores into another database-backed installation whole, and is refused by one that keeps
    its files in a folder."""
    monkeypatch.setitem(app.config, "FILE_STORAGE", "database")
    finding = FindingFactory(owner_agency=world.audit, unit=world.edu,
                             created_by=world.audit_staff)
    assert as_("audit_staff").upload(f"/findings/{finding.public_id}/attachments",
                                     {"file": (PDF, "底稿.pdf")}).status_code == 201
    made = invoke(app, "backup", str(tmp_path / "copy"))
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "copy" / "manifest.json").read_text())
    assert manifest["storage"] == "database" and manifest["files"] == {}
    assert list((tmp_path / "copy" / "files").iterdir()) == []
    for backend, works in (("folder", False), ("database", True)):
        with _empty_target(app_factory, tmp_path / backend, FILE_STORAGE=backend) as target:
            restored = invoke(target, "restore", str(tmp_path / "copy"))
            if not works:
                assert restored.exit_code != 0 and "FILE_STORAGE=database" in restored.output
                assert in_app(target, lambda: sa.inspect(db.engine).get_table_names()) == []
                continue
            assert restored.exit_code == 0, restored.output

            def read_back():
                [attachment] = db.session.scalars(sa.select(Attachment)).all()
                with open_verified(attachment.storage_name, attachment.sha256) as fh:
                    assert fh.read() == PDF
            in_app(target, read_back)


@contextlib.contextmanager
def _empty_target(app_factory, folder, **config):
    """An empty installation of the same database kind, with these settings."""
    folder.mkdir()
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        yield app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder}/restored.db",
                          UPLOAD_DIR=str(folder / "up"), **config)
        return
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        target = app_factory(SQLALCHEMY_DATABASE_URI=url.set(database=name).render_as_string(
            hide_password=False), UPLOAD_DIR=str(folder / "up"), **config)
        yield target
        contextvars.Context().run(_dispose, target)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _dispose(target):
    with target.app_context():
        db.engine.dispose()

"""Backup and restore that lose nothing: a consistent copy of the database, the stored files it
names and the event chain's head, with a manifest of checksums.

One moment is copied: on SQLite the online backup API copies the database while the application
runs; on PostgreSQL a repeatable-read transaction exports its snapshot, `pg_dump --snapshot`
writes exactly that snapshot, and the same transaction reads the event chain's head and the
stored files' names. Stored files never change once written, so copying them after that moment
is the same as copying them at it.

Stored files follow the storage backend (FILE_STORAGE): with `folder`, the files the database
names are copied beside it; with `database`, they are rows of the database (stored_files) and
travel in its copy, so the backup's files list is empty. A copy restores only into an
installation with the same backend.

The manifest (manifest.json) names every part with its SHA-256 and is sealed with an HMAC under
EVENT_LOG_KEY, so a copy that was changed, or one made by another installation, is refused
before anything is restored. A restore goes only into an empty database and then verifies the
event chain up to the head the manifest names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from supervise.database import now_utc
from supervise.extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
FILES = "files"
SQLITE_COPY = "database.sqlite3"
PG_COPY = "database.pgdump"
CHUNK = 1024 * 1024
FOLDER = "folder"  # the default storage backend (supervise.attachments.storage.FOLDER)


class BackupError(Exception):
    """A backup or a restore that cannot be done; the message says why."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _seal(body: dict) -> str:
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(current_app.config["EVENT_LOG_KEY"].encode(), text.encode(),
                    hashlib.sha256).hexdigest()


def _pg_env(url: sa.URL) -> tuple[list[str], dict]:
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres"]
    return args, {**os.environ, "PGPASSWORD": url.password or ""}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return path


def _url() -> sa.URL:
    return db.engine.url


@dataclass
class Snapshot:
    head_seq: int
    head_hash: str
    revision: str
    storage_names: list[str]


def _read_snapshot(connection) -> Snapshot:
    head = connection.execute(sa.text(
        "SELECT seq, hash FROM event_chain_head WHERE id = 1")).one()
    revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    names = list(connection.execute(sa.text(
        "SELECT storage_name FROM attachments ORDER BY id")).scalars())
    return Snapshot(int(head.seq), head.hash, revision, names)


def backup(target: Path) -> dict:
    """Write a backup into `target` (a new or empty directory); return its manifest."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: a backup goes into a new directory")
    target.mkdir(parents=True, exist_ok=True)
    url = _url()
    if url.get_backend_name() == "sqlite":
        database = target / SQLITE_COPY
        source = sqlite3.connect(url.database)
        copy = sqlite3.connect(database)
        try:
            source.backup(copy)
        finally:
            source.close()
        copy.close()
        engine = sa.create_engine(f"sqlite:///{database}")
        try:
            with engine.connect() as connection:
                snapshot = _read_snapshot(connection)
        finally:
            engine.dispose()
        kind = "sqlite"
    elif url.get_backend_name() == "postgresql":
        database = target / PG_COPY
        engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
        try:
            with engine.connect() as connection:
                snapshot_id = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
                snapshot = _read_snapshot(connection)
                args, env = _pg_env(url)
                done = subprocess.run(  # noqa: S603 - our arguments, no shell
                    [_tool("pg_dump"), *args, "--format=custom", "--no-owner",
                     f"--snapshot={snapshot_id}", "-f", str(database), url.database],
                    capture_output=True, text=True, env=env, check=False)
                if done.returncode != 0:
                    raise BackupError(f"pg_dump failed: {done.stderr.strip()[:500]}")
        finally:
            engine.dispose()
        kind = "postgresql"
    else:
        raise BackupError(f"no backup for a {url.get_backend_name()} database")

    files_dir = target / FILES
    files_dir.mkdir()
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    storage = _storage()
    files = {}
    # With the database backend, the files are in the database copy already.
    for name in snapshot.storage_names if storage == FOLDER else ():
        stored = upload_dir / name
        if not stored.is_file():
            raise BackupError(f"the stored file {name} named by the database is missing")
        shutil.copyfile(stored, files_dir / name)
        files[name] = _sha256(files_dir / name)
    body = {
        "format": FORMAT, "made_at": now_utc().isoformat(), "database": {
            "kind": kind, "file": database.name, "sha256": _sha256(database),
            "revision": snapshot.revision},
        "storage": storage,
        "files": files,
        "event_head": {"seq": snapshot.head_seq, "hash": snapshot.head_hash},
    }
    manifest = {**body, "seal": _seal(body)}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def check(source: Path) -> dict:
    """The manifest of a backup whose every part is as the manifest says; BackupError naming
    what is wrong otherwise."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"no readable {MANIFEST} in {source}: {exc}") from None
    seal = manifest.pop("seal", "") if isinstance(manifest, dict) else ""
    if not isinstance(manifest, dict) or not hmac.compare_digest(str(seal), _seal(manifest)):
        raise BackupError("the manifest's seal does not match: the copy was changed, or was "
                          "made with another EVENT_LOG_KEY")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    problems = []
    database = source / manifest["database"]["file"]
    if not database.is_file() or _sha256(database) != manifest["database"]["sha256"]:
        problems.append(f"the database copy {database.name}")
    for name, digest in manifest["files"].items():
        path = source / FILES / name
        if not path.is_file() or _sha256(path) != digest:
            problems.append(f"the stored file {name}")
    if problems:
        shown = ", ".join(problems[:10]) + (f" and {len(problems) - 10} more"
                                           if len(problems) > 10 else "")
        raise BackupError(f"checksums fail for {shown}: nothing was restored")
    return manifest


def _storage() -> str:
    return current_app.config.get("FILE_STORAGE", FOLDER)


def _empty() -> bool:
    return not sa.inspect(db.engine).get_table_names()


def restore(source: Path) -> dict:
    """Restore a checked backup into this application's empty database and upload folder;
    return the manifest. The event chain is verified afterwards."""
    from supervise.events.log import verify_chain

    source = Path(source)
    manifest = check(source)
    url = _url()
    kind = manifest["database"]["kind"]
    if url.get_backend_name() != kind:
        raise BackupError(f"a {kind} backup restores into a {kind} database, not "
                          f"{url.get_backend_name()}")
    storage = manifest.get("storage", FOLDER)
    if storage != _storage():
        raise BackupError(f"this backup keeps its files in the {storage} storage backend: "
                          f"restore it with FILE_STORAGE={storage}, not {_storage()}")
    if not _empty():
        raise BackupError("the database is not empty: a restore goes into an empty database")
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    clashes = [name for name in manifest["files"] if (upload_dir / name).exists()]
    if clashes:
        raise BackupError(f"the upload folder already holds {clashes[0]}: restore into an "
                          "empty one")
    database = source / manifest["database"]["file"]
    db.session.remove()
    db.engine.dispose()
    if kind == "sqlite":
        shutil.copyfile(database, url.database)
    else:
        args, env = _pg_env(url)
        done = subprocess.run([_tool("pg_restore"), *args,  # noqa: S603 - no shell "--no-owner", "--exit-on-error",
                               "-d", url.database, str(database)],
                              capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()[:500]}")
    for name in manifest["files"]:
        shutil.copyfile(source / FILES / name, upload_dir / name)
    count, problem = verify_chain()
    db.session.remove()
    head = manifest["event_head"]
    if problem is not None:
        raise BackupError(f"restored, but the event log does not verify: {problem}")
    if count != head["seq"]:
        raise BackupError(f"restored, but the log holds {count} events where the backup named "
                          f"{head['seq']}")
    return manifest

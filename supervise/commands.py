"""Command-line tasks: `flask --app wsgi <command>`."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from supervise.config import instance_secret
from supervise.extensions import db


def register_commands(app) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(demo_otp)
    app.cli.add_command(create_admin)
    app.cli.add_command(verify_events)
    app.cli.add_command(rotate_data_key)
    app.cli.add_command(worker)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


def _demo_password() -> str:
    """SUPERVISE_DEMO_PASSWORD, else one generated once and kept in instance/ (mode 0600)."""
    if os.environ.get("SUPERVISE_DEMO_PASSWORD"):
        return os.environ["SUPERVISE_DEMO_PASSWORD"]
    return instance_secret(current_app.instance_path, "demo_password",
                           lambda: secrets.token_urlsafe(9))


@click.command("seed-demo")
@with_appcontext
@click.option("--password", help="Password of every demo account "
              "(default: $SUPERVISE_DEMO_PASSWORD, else generated once into instance/).")
def seed_demo(password: str | None) -> None:
    """Create the demo agencies, accounts, projects and findings. Running it again changes
    nothing."""
    from supervise import demo

    if current_app.config["SUPERVISE_ENV"] == "production":
        raise click.ClickException("seed-demo is refused when SUPERVISE_ENV=production.")
    password = password or _demo_password()
    agencies = demo.seed_accounts(password)
    demo.seed_findings()
    demo.seed_referrals()
    demo.seed_rectifications()
    demo.seed_documents()
    demo.publish_announcement()
    otp_secrets = demo.enrol_second_factors()
    db.session.commit()

    click.echo(f"Demo accounts (password for all: {password}):")
    for username, _name, agency_code, roles in demo.DEMO_USERS:
        line = f"  {username:<18} {','.join(roles):<11} {agencies[agency_code].name}"
        if username in otp_secrets:
            line += f"  second factor key {otp_secrets[username]}"
        click.echo(line)
    click.echo("Accounts with a second factor key sign in with a code too: add the key to an "
               "authenticator app, or run `flask --app wsgi demo-otp USERNAME`.")


@click.command("demo-otp")
@with_appcontext
@click.argument("username")
def demo_otp(username: str) -> None:
    """Print the current second-factor code of a demo account (development only)."""
    import pyotp

    from supervise.accounts.models import User

    if current_app.config["SUPERVISE_ENV"] == "production":
        raise click.ClickException("demo-otp is refused when SUPERVISE_ENV=production.")
    user = db.session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None or user.otp_enrolled_at is None or not user.otp_secret:
        raise click.ClickException(f"{username} has no second factor set up.")
    click.echo(pyotp.TOTP(user.otp_secret).now())


@click.command("create-admin")
@with_appcontext
@click.option("--username", default="sysadmin", show_default=True)
@click.option("--display-name", default="系统管理员", show_default=True)
@click.option("--agency-code", default="platform", show_default=True,
              help="Agency the account belongs to; created (kind department) if missing.")
@click.option("--agency-name", default="系统运维单位", show_default=True)
@click.option("--role", type=click.Choice(["sysadmin", "secadmin", "auditadmin"]),
              default="sysadmin", show_default=True)
@click.password_option(help="Asked for when not given.")
def create_admin(username, display_name, agency_code, agency_name, role, password) -> None:
    """Create an administrator on a new installation (the system administrator first)."""
    from supervise.accounts.auth import hash_password
    from supervise.accounts.models import Agency, AgencyKind, User
    from supervise.accounts.passwords import check_new_password
    from supervise.errors import OperationError
    from supervise.events.log import record_event

    username = username.strip().lower()
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise click.ClickException(f"user {username} exists already")
    try:
        check_new_password(username, password)
    except OperationError as exc:
        raise click.ClickException(exc.message) from None
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == agency_code))
    if agency is None:
        agency = Agency(code=agency_code, name=agency_name, kind=AgencyKind.DEPARTMENT)
        db.session.add(agency)
        db.session.flush()
        record_event("agency.create", obj=agency, details={"code": agency_code, "cli": True})
    user = User(username=username, display_name=display_name, agency=agency,
                password_hash=hash_password(password), must_change_password=False)
    user.set_roles([role])
    db.session.add(user)
    db.session.flush()
    record_event("user.create", obj=user, details={"username": username, "role": role,
                                                    "cli": True})
    db.session.commit()
    click.echo(f"Created {role} {username}.")


@click.command("verify-events")
@with_appcontext
def verify_events() -> None:
    """Check the event log's hash chain; exit 1 naming the first bad row."""
    from supervise.events.log import verify_chain

    count, problem = verify_chain()
    if problem is not None:
        click.echo(f"Event log is NOT intact after {count} good events: {problem}", err=True)
        sys.exit(1)
    click.echo(f"Event log intact: {count} events.")


@click.command("rotate-data-key")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100000),
              help="Rows changed and committed at a time.")
@with_appcontext
def rotate_data_key(batch_size: int) -> None:
    """Wrap every sealed value's data key under DATA_KEY (opening with DATA_KEYS_RETIRED) and
    compute the blind indexes again, batch by batch, while the application runs. Running it
    again changes nothing; a value no configured key opens refuses it before any change."""
    from supervise.crypto import RotationRefused, SealError, keyring, rotate

    ring = keyring()
    try:
        changed = rotate(db.session, ring, batch_size=batch_size, report=click.echo)
    except RotationRefused as exc:
        raise click.ClickException(f"Rotation refused, {exc}") from None
    except SealError as exc:
        db.session.rollback()
        raise click.ClickException(
            f"Rotation stopped at a value that does not open ({exc}). The batches before it "
            "are done; run it again once that row is repaired.") from None
    click.echo(f"Data key rotation done: {changed} row(s) changed; every sealed value is now "
               f"wrapped under key {ring.current.id}. DATA_KEYS_RETIRED may be emptied.")


@click.command("worker")
@click.option("--once", is_flag=True,
              help="Sweep the clocks once, send every email that is due, and exit.")
@with_appcontext
def worker(once: bool) -> None:
    """Deliver the notifications' emails, raise the reminders, build the ledgers requested in
    the background and delete them after their day, until stopped (SIGTERM or Ctrl-C finish
    the message or ledger in hand first). Several workers may run at once, on several hosts:
    each email and each ledger is claimed by one of them."""
    import logging
    import signal
    import threading
    import time

    from supervise.findings import importing
    from supervise.health import beat
    from supervise.ledgers import exports
    from supervise.notifications.delivery import deliver
    from supervise.reminders import sweep

    log = logging.getLogger("supervise.worker")
    config = current_app.config
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_args: stop.set())
    next_sweep = next_beat = next_export_sweep = 0.0

    def heartbeat():
        nonlocal next_beat
        if time.monotonic() >= next_beat:  # /healthz reads it; twice a minute is plenty
            beat()
            db.session.commit()
            next_beat = time.monotonic() + 30

    while not stop.is_set():
        try:
            heartbeat()
            if time.monotonic() >= next_sweep:
                raised = sweep()
                if raised:
                    click.echo(f"Reminders raised: {dict(raised)}")
                next_sweep = time.monotonic() + config["REMINDER_SWEEP_SECONDS"]
            if time.monotonic() >= next_export_sweep:
                deleted = exports.sweep()
                if deleted:
                    click.echo(f"Exports deleted after their day: {deleted}")
                if importing.sweep_uploads():
                    db.session.commit()
                next_export_sweep = time.monotonic() + 60
            while not stop.is_set():
                delivered = deliver()
                if delivered.counts:
                    click.echo("Emails: " + ", ".join(
                        f"{state.value} {n}" for state, n in sorted(delivered.counts.items())))
                # One ledger at a time, the mail that is due in between.
                built = exports.build_next()
                if built is not None:
                    click.echo(f"Export {built.public_id}: {built.state.value}")
                if not delivered.counts and built is None:
                    break
                heartbeat()
        except Exception:  # the worker outlives one bad round; the next one tries again
            db.session.rollback()
            log.exception("worker round failed")
            if once:
                raise
        finally:
            db.session.remove()
        if once:
            break
        stop.wait(config["WORKER_POLL_SECONDS"])


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(directory: Path) -> None:
    """Write a consistent copy of the database, its stored files and the event chain's head,
    with a manifest of checksums, into DIRECTORY (new or empty). Safe while the app runs."""
    from supervise.backup import BackupError, backup

    try:
        manifest = backup(directory)
    except BackupError as exc:
        raise click.ClickException(f"Backup refused: {exc}") from None
    head = manifest["event_head"]
    click.echo(f"Backup written to {directory}: the {manifest['database']['kind']} database, "
               f"{len(manifest['files'])} stored file(s), the event chain up to #{head['seq']} "
               f"(head {head['hash']}). Keep this head line apart from the backup.")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(directory: Path) -> None:
    """Restore a backup into this installation's empty database and upload folder, after
    checking every checksum; then verify the event chain."""
    from supervise.backup import BackupError, restore

    try:
        manifest = restore(directory)
    except BackupError as exc:
        raise click.ClickException(f"Restore refused: {exc}") from None
    click.echo(f"Restored from {directory}: {len(manifest['files'])} stored file(s); the event "
               f"log verifies up to #{manifest['event_head']['seq']}.")

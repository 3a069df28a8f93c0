"""How long the reminder sweep takes over many open clocks (issue 10: 100,000 in under 10 s).

Builds a database of its own (SQLite in a temporary directory, or the PostgreSQL database named
by --database, which is emptied), fills it with open referrals and rectification items whose
deadlines are spread over the past and the future, as a district's would be after some years,
and times the sweep: the first run finds every reminder and escalation of the whole backlog due
at once (as on the day the platform starts over existing records), the second finds nothing new
(the every-15-minutes case), the third runs a day later (what one day crosses).

    .venv/bin/python bench/sweep.py [--clocks 100000] [--database postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from supervise import create_app  # noqa: E402
from supervise.accounts.auth import hash_password  # noqa: E402
from supervise.accounts.models import Agency, AgencyKind, User  # noqa: E402
from supervise.calendar import deadlines  # noqa: E402
from supervise.calendar.models import load_calendar  # noqa: E402
from supervise.database import new_public_id, now_utc  # noqa: E402
from supervise.extensions import db  # noqa: E402
from supervise.findings.models import Finding, FindingStatus  # noqa: E402
from supervise.notifications.models import Notification  # noqa: E402
from supervise.policy.findings import refresh_access  # noqa: E402
from supervise.rectifications.models import Plan, Rectification, RectificationState  # noqa: E402
from supervise.referrals.models import Referral, ReferralKind, ReferralState  # noqa: E402
from supervise.reminders import sweep  # noqa: E402

UNITS = 40
BATCH = 5000


def empty_postgres(url: str) -> None:
    url = sa.make_url(url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def people():
    password = hash_password("bench-password-2026")
    audit = Agency(code="audit", name="区审计局", kind=AgencyKind.AUDIT)
    discipline = Agency(code="discipline", name="区纪委监委", kind=AgencyKind.DISCIPLINE)
    units = [Agency(code=f"unit-{i}", name=f"被审计单位{i}", kind=AgencyKind.AUDITED_UNIT)
             for i in range(UNITS)]
    db.session.add_all([audit, discipline, *units])
    users = {}
    for name, agency, roles in [("audit.staff", audit, ["staff"]),
                                ("audit.leader", audit, ["leader"]),
                                ("disc.staff", discipline, ["staff"]),
                                ("disc.leader", discipline, ["leader"])]:
        users[name] = User(username=name, display_name=name, agency=agency,
                           password_hash=password, must_change_password=False)
        users[name].set_roles(roles)
    for unit in units:
        contact = User(username=f"contact.{unit.code}", display_name=unit.name, agency=unit,
                       password_hash=password, must_change_password=False)
        contact.set_roles(["staff"])
        users[contact.username] = contact
    db.session.add_all(users.values())
    db.session.commit()
    return audit, discipline, units, users


def fill(clocks: int) -> tuple[int, int]:
    """Open referrals (each sent one runs two clocks until acknowledged) and rectification
    items; returns how many of each."""
    rng = random.Random(2026)
    cal = load_calendar()
    now = now_utc()
    audit, discipline, units, users = people()
    n_referrals = clocks * 2 // 5
    n_items = clocks - n_referrals
    rows = []
    for i in range(n_referrals):
        state = rng.choices([ReferralState.SENT, ReferralState.ACKNOWLEDGED,
                             ReferralState.IN_HANDLING], [2, 3, 5])[0]
        sent = now - timedelta(days=rng.uniform(0, 240))
        ack = deadlines.add_working_days(sent, 3, cal).due_at
        answer = deadlines.add_months(sent, 3, cal).due_at
        rows.append({
            "public_id": new_public_id(), "sender_agency_id": audit.id,
            "receiver_agency_id": discipline.id, "kind": ReferralKind.CLUE, "state": state,
            "title": f"问题线索{i}", "facts": "事实", "created_by_id": users["audit.staff"].id,
            "created_at": sent - timedelta(days=1), "sent_at": sent, "first_sent_at": sent,
            "acknowledged_at": None if state == ReferralState.SENT else sent,
            "handler_id": users["disc.staff"].id if state == ReferralState.IN_HANDLING
            else None,
            "acknowledge_by": ack,
            "acknowledge_warn_at": deadlines.warning_start(ack, 5, cal),
            "answer_by": answer, "answer_warn_at": deadlines.warning_start(answer, 5, cal),
            "answer_limit": deadlines.add_months(sent, 6, cal).due_at})
        if len(rows) == BATCH:
            db.session.execute(sa.insert(Referral), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(Referral), rows)
    db.session.commit()
    category = db.session.scalar(sa.text("SELECT code FROM categories LIMIT 1"))
    for start in range(0, n_items, BATCH):
        findings, items = [], []
        for i in range(start, min(start + BATCH, n_items)):
            unit = units[i % UNITS]
            issued = now - timedelta(days=rng.uniform(0, 200))
            findings.append({"public_id": new_public_id(), "owner_agency_id": audit.id,
                             "unit_id": unit.id, "title": f"问题{i}", "facts": "事实",
                             "category_code": category, "status": FindingStatus.ISSUED,
                             "created_by_id": users["audit.staff"].id,
                             "created_at": issued, "updated_at": issued, "issued_at": issued})
        db.session.execute(sa.insert(Finding), findings)
        ids = db.session.scalars(sa.select(Finding.id, ).order_by(Finding.id.desc())
                                 .limit(len(findings))).all()[::-1]
        refresh_access(db.session.connection(), ids)  # written around the ORM's hook
        for i, finding_id in zip(range(start, start + len(ids)), ids, strict=True):
            issued = findings[i - start]["issued_at"]
            due = deadlines.end_of_day(deadlines.local_date(issued) + timedelta(days=60))
            items.append({"public_id": new_public_id(), "finding_id": finding_id,
                          "unit_id": units[i % UNITS].id, "owner_agency_id": audit.id,
                          "plan": Plan.STAGED,
                          "state": rng.choice([RectificationState.NOT_STARTED,
                                               RectificationState.IN_PROGRESS]),
                          "title": f"问题{i}", "facts": "事实",
                          "issued_by_id": users["audit.staff"].id, "issued_at": issued,
                          "due_at": due, "warn_at": deadlines.warning_start(due, 5, cal)})
        db.session.execute(sa.insert(Rectification), items)
        db.session.commit()
    return n_referrals, n_items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clocks", type=int, default=100_000)
    parser.add_argument("--database", help="a PostgreSQL URL (emptied); default SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/bench.db"
        if args.database:
            empty_postgres(url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "EVENT_LOG_KEY": "bench", "SMTP_HOST": ""})
        with app.app_context():
            upgrade(directory=str(Path(__file__).resolve().parents[1] / "migrations"))
            started = time.perf_counter()
            n_referrals, n_items = fill(args.clocks)
            if args.database:  # as a live database is: its statistics up to date
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
            print(f"{sa.make_url(url).get_backend_name()}: {n_referrals} referrals and "
                  f"{n_items} rectification items made in "
                  f"{time.perf_counter() - started:.1f} s")
            now = now_utc()
            runs = [("first, the whole backlog", now), ("again, nothing new", now),
                    ("a day later", now + timedelta(days=1))]
            for run, at in runs:
                started = time.perf_counter()
                raised = sweep(at)
                took = time.perf_counter() - started
                total = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
                print(f"  sweep ({run}): {took:.2f} s, raised {dict(sorted(raised.items()))}, "
                      f"{total} notifications in all")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()

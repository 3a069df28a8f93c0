"""What waits for one person: the counts of the to-do centre (工作台), each with the list that
shows the same records.

Every item is declared once: the records it counts (a clause on one kind of record, within what
the user may see) and the page that lists them with the same clause (the referral board and
inbox take `need=`, the findings and rectification lists their status and clock filters). All
items on one kind of record are counted in one statement (COUNT … FILTER), so the centre runs a
fixed number of statements whatever the data size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from supervise import policy
from supervise.database import now_utc
from supervise.extensions import db
from supervise.findings import queries as finding_queries
from supervise.findings.models import Finding, FindingStatus
from supervise.policy import Permission
from supervise.policy.findings import visible_findings_clause
from supervise.policy.rectifications import visible_rectifications_clause
from supervise.policy.referrals import visible_referrals_clause
from supervise.rectifications import queries as rectification_queries
from supervise.rectifications.models import Rectification, RectificationState
from supervise.referrals import queries as referral_queries
from supervise.referrals.models import Referral


@dataclass(frozen=True)
class Todo:
    kind: str
    label: Any
    model: Any
    clause: Callable[[Any, datetime], sa.ColumnElement]  # (user, now) -> which records
    endpoint: str
    args: dict = field(default_factory=dict)
    applies: Callable[[Any], bool] = lambda user: True


@dataclass(frozen=True)
class Item:
    kind: str
    label: str
    count: int
    url: str


def _leader(user) -> bool:
    return policy.can(user, Permission.APPROVE)


def _referral(name: str) -> Todo:
    need = referral_queries.NEEDS[name]
    sent = need.side == "sent"

    def applies(user) -> bool:
        mine = policy.records_findings(user) if sent else policy.reads_cases(user)
        return mine and (_leader(user) or not need.leaders_only)

    return Todo(f"referrals_{name}", need.label, Referral,
                lambda user, now: sa.and_(referral_queries.side_clause(user, need.side),
                                          need.clause(now)),
                "referrals.board" if sent else "referrals.inbox", {"need": name}, applies)


def _finding(kind, label, status: FindingStatus, leaders_only=False) -> Todo:
    return Todo(kind, label, Finding,
                lambda user, now: sa.and_(Finding.owner_agency_id == user.agency_id,
                                          Finding.status == status),
                "findings.findings", {"scope": "own", "status": status.value},
                lambda user: policy.records_findings(user) and (_leader(user) or not leaders_only))


def _rectification(kind, label, *, state=None, clock=None, who="owner",
                   leaders_only=False) -> Todo:
    def clause(user, now):
        return Rectification.state == state if state else \
            rectification_queries.CLOCK_FILTERS[clock](now)

    def applies(user):
        side = policy.records_findings(user) if who == "owner" else policy.is_unit_contact(user)
        return side and (_leader(user) or not leaders_only)

    args = {"state": state.value} if state else {"clock": clock}
    return Todo(kind, label, Rectification, clause, "rectifications.rectifications", args,
                applies)


R = RectificationState
TODOS = [
    # What other agencies sent us.
    *(_referral(name) for name in ("acknowledge", "answer", "acknowledge_due_soon",
                                   "acknowledge_overdue", "answer_due_soon", "answer_overdue",
                                   "chased")),
    # Our own findings and referrals on their way out, and what came back.
    _finding("findings_submit", _l("Finding drafts to submit"), FindingStatus.DRAFT),
    _finding("findings_issue", _l("Findings to issue"), FindingStatus.PENDING_ISSUE,
             leaders_only=True),
    *(_referral(name) for name in ("submit", "approve", "decide_extension", "confirm_answer",
                                   "revise", "escalated")),
    # Rectification: the issuing agency's side, then the audited unit's.
    _rectification("rectifications_verify", _l("Reports to verify"),
                   state=R.PENDING_VERIFICATION),
    _rectification("rectifications_sign_off", _l("Sign-offs to approve"),
                   state=R.SIGN_OFF_PENDING, leaders_only=True),
    _rectification("rectifications_due_soon", _l("Rectification due soon"), clock="due_soon"),
    _rectification("rectifications_overdue", _l("Rectification overdue"), clock="overdue"),
    _rectification("reports_due", _l("Rectification reports due"), clock="running", who="unit"),
    _rectification("reports_due_soon", _l("Reports due soon"), clock="due_soon", who="unit"),
    _rectification("reports_overdue", _l("Reports overdue"), clock="overdue", who="unit"),
]

SCOPES = {Referral: visible_referrals_clause, Finding: visible_findings_clause,
          Rectification: visible_rectifications_clause}
RECORD_PAGES = {Referral: "referrals.referral", Finding: "findings.finding",
                Rectification: "rectifications.rectification"}


def _counted(user, todos: list[Todo], now: datetime) -> dict[str, int]:
    # Findings: as the list each item links to counts them (the maintained totals).
    counts = {t.kind: finding_queries.count_and_total(
        user, finding_queries.FindingFilter.from_args(t.args))[0]
        for t in todos if t.model is Finding}
    for model, scope in SCOPES.items():
        mine = [t for t in todos if t.model is model]
        if not mine or model is Finding:
            continue
        clauses = [t.clause(user, now) for t in mine]
        # The rows none of the items counts are left out first (the same counts), so that an
        # index serves the pass instead of every record in the user's scope being read.
        row = db.session.execute(
            sa.select(*(sa.func.count().filter(clause) for clause in clauses))
            .select_from(model).where(scope(user), sa.or_(*clauses))).one()
        counts.update({t.kind: n for t, n in zip(mine, row, strict=True)})
    return counts


def items_for(user, now: datetime | None = None) -> list[Item]:
    """The to-do items of this user, in their order, with their counts and links."""
    now = now or now_utc()
    todos = [t for t in TODOS if t.applies(user)]
    counts = _counted(user, todos, now)
    items = [Item(t.kind, str(t.label), counts[t.kind], url_for(t.endpoint, **t.args))
             for t in todos]
    if policy.can(user, Permission.MANAGE_SETTINGS):
        items.append(Item("calendar_missing", str(_l("Live deadlines in a year without a "
                                                     "calendar")),
                          live_deadlines_without_calendar(), url_for("calendar.arrangement")))
    return items


def live_deadlines_without_calendar() -> int:
    """Running clocks counted with weekends only, for want of a year's official calendar: a
    count across agencies, with no record's content (for the security administrator)."""
    referrals = db.session.scalar(sa.select(sa.func.count()).select_from(Referral).where(sa.or_(
        sa.and_(Referral.state == referral_queries.S.SENT,
                Referral.acknowledge_calendar_complete.is_(False)),
        sa.and_(Referral.state.in_(referral_queries.ANSWER_RUNNING),
                Referral.answer_calendar_complete.is_(False)))))
    rectifications = db.session.scalar(sa.select(sa.func.count()).select_from(Rectification)
                                       .where(Rectification.state.in_(rectification_queries
                                                                      .RUNNING),
                                              Rectification.calendar_complete.is_(False)))
    return referrals + rectifications


@dataclass(frozen=True)
class Waiting:
    """A few of the records behind an item, for the centre's short lists."""

    item: Item
    records: list[tuple[str, str]]  # title, link


SHORT_LISTS = 4  # items with a short list, the first that have something waiting
SHORT_LIST_ROWS = 3


def short_lists(user, items: list[Item], now: datetime | None = None) -> list[Waiting]:
    """The oldest few records of the first items that have any: one statement a list."""
    now = now or now_utc()
    todos = {t.kind: t for t in TODOS}
    waiting = []
    for item in (i for i in items if i.count and i.kind in todos):
        todo = todos[item.kind]
        records = list(db.session.scalars(
            sa.select(todo.model).where(SCOPES[todo.model](user), todo.clause(user, now))
            .order_by(todo.model.id).limit(SHORT_LIST_ROWS)))
        page = RECORD_PAGES[todo.model]
        waiting.append(Waiting(item, [(r.title, url_for(page, public_id=r.public_id))
                                      for r in records]))
        if len(waiting) == SHORT_LISTS:
            break
    return waiting

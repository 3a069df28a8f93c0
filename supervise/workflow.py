"""One workflow engine for every record that lives through steps: referrals, rectifications and
the finding's own life.

A domain describes its life as data (`Transition`: the action, the party that takes it, the
states it starts from, the state it leads to, the fields it cannot go without, a guard on the
record) and gives each action a small `apply` function. `Workflow.run` then checks every step in
one fixed order, the same for every record:

1. an unknown action answers 404;
2. a party the table does not name answers 403 (the chokepoint has already answered 404 to
   whoever may not see the record at all);
3. a state the step does not start from answers 409, naming the state;
4. a stale version answers 409;
5. a guard on the record that does not hold answers with its own message and status;
6. the texts the step needs are there and not too long (422, field by field);
7. the step applies (and may refuse its own input, 422);
8. the state moves on, the step is written to the record's timeline, the session is flushed
   (a concurrent change, `StaleDataError`, is the same 409 as a stale version), the event is
   recorded, and the step's notices go to the parties they name (the workflow's `notify`).

Nothing commits here: the request commits once, or rolls back and nothing has changed, neither
the record, nor its event, nor its notifications.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship
from sqlalchemy.orm.exc import StaleDataError

from supervise.database import UTCDateTime, now_utc
from supervise.errors import ConflictError, InvalidInput, OperationError, check_version
from supervise.events.log import record_event
from supervise.extensions import db

COMMENT_LIMIT = 4000
# A step of the platform itself: a deadline counted again after the calendar changed.
RECOUNT = "recount"

# What a missing text is called, by the name of the field.
MISSING_TEXT = {
    "reason": _l("Give a reason."),
    "comment": _l("Write a message."),
    "result": _l("Describe the result."),
    "measures": _l("Describe the measures taken."),
}


@dataclass(frozen=True)
class Guard:
    """A condition on the record beyond its state (an extension request waiting, a revision
    made), with the answer when it does not hold."""

    holds: Callable[[Any], bool]
    message: Any
    status: int = 409


@dataclass(frozen=True)
class Notice:
    """What a step tells whom: a kind of notification for the accounts playing `party` in the
    record (of one agency only, where `agency_id` names it)."""

    kind: Any
    party: Any
    agency_id: int | None = None


@dataclass(frozen=True)
class Transition:
    action: Any
    sources: frozenset
    target: Any  # the state it leads to; None: unchanged, or set by `apply`
    party: Any
    needs: frozenset[str] = frozenset()  # texts it cannot go without
    internal: bool = False  # the acting party's own: never shown to the other party
    guard: Guard | None = None
    apply: Callable[[Step], None] | None = None
    notify: tuple[Notice, ...] = ()


def transition(action, sources, target, party, needs=(), *, internal=False, guard=None,
               apply=None, notify=()) -> Transition:
    """`notify`: (kind, party) pairs, the notices every run of the step sends."""
    return Transition(action, frozenset(sources), target, party, frozenset(needs), internal,
                      guard, apply, tuple(Notice(kind, to) for kind, to in notify))


def table(*transitions: Transition) -> dict[Any, Transition]:
    return {t.action: t for t in transitions}


def with_steps(transitions: dict, steps: dict[Any, Callable]) -> dict[Any, Transition]:
    """The table with each action's apply function (kept apart from the data, which the pages,
    the policy and the tests read without the domain's code)."""
    unknown = set(steps) - set(transitions)
    if unknown:
        raise KeyError(f"steps for actions not in the table: {sorted(map(str, unknown))}")
    return {action: replace(t, apply=steps.get(action)) for action, t in transitions.items()}


def available(transitions: dict, parties: frozenset, record) -> list:
    """What a user holding `parties` may do to the record now: the right party, the right
    state, the guard holding."""
    return [action for action, t in transitions.items()
            if t.party in parties and record.state in t.sources
            and (t.guard is None or t.guard.holds(record))]


@dataclass
class Step:
    """One run of a transition, as its apply function sees it and fills it in."""

    user: Any
    record: Any
    action: Any
    transition: Transition
    data: Any
    now: datetime
    before: Any
    target: Any
    text: str = ""  # the timeline's comment; by default the reason or comment given
    details: dict = field(default_factory=dict)  # for the event
    errors: dict = field(default_factory=dict)
    after_flush: list[Callable[[Any], None]] = field(default_factory=list)  # gets the step row
    row: Any = None  # the timeline row written, once written
    result: Any = None  # what else the step made (a revision, a report), for the caller
    notices: list[Notice] = field(default_factory=list)  # the table's, and any the step adds
    notified: list = field(default_factory=list)  # the notifications written

    def refuse(self, **errors) -> None:
        self.errors.update(errors)
        raise InvalidInput(self.errors)


def clean_text(value, limit: int = COMMENT_LIMIT) -> str | None:
    """Stripped text, "" for nothing, None when it is not text or too long."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > limit:
        return None
    return value.strip()


def text_field(data, name: str, errors: dict, *, required: bool,
               limit: int = COMMENT_LIMIT) -> str:
    """One text of a step's input, checked; problems go to `errors`."""
    value = clean_text(getattr(data, name, ""), limit)
    if value is None:
        raw = getattr(data, name, "")
        errors[name] = (_("Too long: at most %(n)d characters.", n=limit)
                        if isinstance(raw, str) else _("Must be text."))
        return ""
    if required and not value:
        errors[name] = str(MISSING_TEXT.get(name, _l("This field is required.")))
    return value


def flush() -> None:
    """Flush; a row changed by someone else meanwhile is a conflict, as a stale version is."""
    try:
        db.session.flush()
    except StaleDataError:
        raise ConflictError() from None


@dataclass
class Workflow:
    """The life of one kind of record.

    name: the prefix of its events (`referral.approve`).
    transitions: the table, with apply functions (`with_steps`).
    parties: (user, record) -> the parties the user plays in this record.
    refuse_state: (state, action) -> the message for a step from the wrong state.
    add_step: (record, user, action, before, after, comment, internal) -> the timeline row, or
      None for a record without a timeline.
    texts: the texts every step may carry (checked against `needs`).
    notify: (workflow, actor, record, notices) -> the notifications written
      (supervise.notifications.outbox.Audience).
    """

    name: str
    transitions: dict
    parties: Callable[[Any, Any], frozenset]
    refuse_state: Callable[[Any, Any], str]
    add_step: Callable[..., Any] | None = None
    texts: tuple[str, ...] = ("comment", "reason")
    notify: Callable[..., list] | None = None

    def tell(self, actor, record, notices) -> list:
        """Send notices about a record (after a step; or outside one: its creation, a
        reminder); the notifications written."""
        if self.notify is None:
            return []
        return self.notify(self, actor, record, list(notices))

    def available(self, user, record) -> list:
        return available(self.transitions, self.parties(user, record), record)

    def run(self, user, record, action, data, version: Any = None) -> Step:
        try:
            action = next(a for a in self.transitions if a == action)
        except StopIteration:
            raise OperationError(_("Unknown action."), 404) from None
        t = self.transitions[action]
        if t.party not in self.parties(user, record):
            raise OperationError(_("You may not do this."), 403)
        if record.state not in t.sources:
            raise OperationError(str(self.refuse_state(record.state, action)), 409)
        check_version(record, version)
        if t.guard is not None and not t.guard.holds(record):
            raise OperationError(str(t.guard.message), t.guard.status)

        step = Step(user=user, record=record, action=action, transition=t, data=data,
                    now=now_utc(), before=record.state, target=t.target,
                    notices=list(t.notify))
        texts = {name: text_field(data, name, step.errors, required=name in t.needs)
                 for name in self.texts if hasattr(data, name)}
        step.text = texts.get("reason") or texts.get("comment") or ""
        if t.apply is not None:
            t.apply(step)
        if step.errors:
            raise InvalidInput(step.errors)

        if step.target is not None:
            record.state = step.target
        if self.add_step is not None:
            step.row = self.add_step(record, user, action.value, step.before, step.target,
                                     step.text, t.internal)
        flush()
        for then in step.after_flush:
            then(step.row)
        if step.target is not None and step.target != step.before:
            step.details = {**step.details, "from": step.before.value,
                            "to": step.target.value}
        record_event(f"{self.name}.{action.value}", actor=user, obj=record,
                     details=step.details)
        step.notified = self.tell(user, record, step.notices)
        return step


# --- the timeline ---------------------------------------------------------------------------


class StepMixin:
    """One step of a record's history: the action, the states before and after, who, for which
    agency, when, and a comment. Referral timelines and rectification steps are rows of this
    shape, each in a table of its own. A step of the platform itself has no actor."""

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    from_state: Mapped[str | None] = mapped_column(sa.String(24))
    to_state: Mapped[str | None] = mapped_column(sa.String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    # Both empty for a step of the platform itself (an automatic chaser of the escalation).
    @declared_attr
    def actor_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("users.id"))

    @declared_attr
    def agency_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("agencies.id"))

    @declared_attr
    def actor(cls):
        return relationship("User")

    @declared_attr
    def agency(cls):
        return relationship("Agency")


def chasers(step_model, record_column, record_ids: Iterable[int]
            ) -> dict[int, tuple[int, datetime]]:
    """How many times each record was chased, and when last: one statement for a page."""
    ids = list(record_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(record_column, sa.func.count(), sa.func.max(step_model.at))
        .where(record_column.in_(ids), step_model.action == "chase")
        .group_by(record_column))
    return {rid: (n, last) for rid, n, last in rows}


def step_labels(actions, states, **own) -> dict:
    """What a history shows for its steps: each action's and each state's label by value, with
    `own` words for steps that are no transition (the record's creation, say)."""
    return {"action_labels": {a.value: a.label for a in actions} | own,
            "state_labels": {s.value: s.label for s in states}}

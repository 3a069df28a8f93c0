"""The referral workflow as data: one table that the operations, the pages (which buttons to
show) and the tests all read.

draft → pending approval → sent → acknowledged → in handling → answered → closed, with the side
paths of domain.md: a leader sends a submission back to draft; the sender withdraws before
acknowledgement; the receiver returns with a reason; the sender reopens an insufficient answer.
Notes, chasers and extensions change no state.

What was sent is never changed. The receiver keeps seeing what it received, as it was, after it
returns it; so the sender revises a returned referral as a new draft (`revise`), which is
approved and sent like any other before anyone outside the sending agency sees it, whether it
goes to the same receiver or another, with the same facts and persons or others.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from supervise.notifications.models import Kind as N
from supervise.referrals.models import ReferralState as S
from supervise.vocabulary import LabelledEnum
from supervise.workflow import RECOUNT, Guard, table, transition


class Party(StrEnum):
    SENDER = "sender"  # staff or leader of the sending agency
    SENDER_LEADER = "sender_leader"
    RECEIVER = "receiver"  # staff or leader of the receiving agency
    RECEIVER_LEADER = "receiver_leader"


class Action(LabelledEnum):
    SUBMIT = "submit", _l("Submit for approval")
    APPROVE = "approve", _l("Approve and send")
    SEND_BACK = "send-back", _l("Send back")
    WITHDRAW = "withdraw", _l("Withdraw")
    ACKNOWLEDGE = "acknowledge", _l("Acknowledge")
    RETURN = "return", _l("Return")
    ASSIGN = "assign", _l("Assign a handler")
    NOTE = "note", _l("Add a progress note")
    ANSWER = "answer", _l("Answer")
    CLOSE = "close", _l("Close")
    REOPEN = "reopen", _l("Reopen")
    CHASE = "chase", _l("Chase")
    REQUEST_EXTENSION = "request-extension", _l("Request an extension")
    DECIDE_EXTENSION = "decide-extension", _l("Decide on the extension")
    REVISE = "revise", _l("Revise as a new draft")


def _waiting(referral) -> bool:
    return any(e.decision is None for e in referral.extensions)


# A chaser asks for the acknowledgement or the answer: never once the answer is in.
CHASEABLE = (S.SENT, S.ACKNOWLEDGED, S.IN_HANDLING)
HANDLING = (S.ACKNOWLEDGED, S.IN_HANDLING)

ONE_REQUEST_AT_A_TIME = Guard(lambda r: not _waiting(r),
                              _l("An extension request is already waiting for a decision."))
A_REQUEST_WAITING = Guard(_waiting, _l("No such extension request is waiting for a decision."),
                          404)
NOT_YET_REVISED = Guard(lambda r: r.revision is None,
                        _l("This referral has already been revised as a new draft."))

TRANSITIONS = table(
    transition(Action.SUBMIT, (S.DRAFT,), S.PENDING_APPROVAL, Party.SENDER,
               notify=[(N.REFERRAL_PENDING, Party.SENDER_LEADER)]),
    transition(Action.APPROVE, (S.PENDING_APPROVAL,), S.SENT, Party.SENDER_LEADER,
               notify=[(N.REFERRAL_RECEIVED, Party.RECEIVER)]),
    transition(Action.SEND_BACK, (S.PENDING_APPROVAL,), S.DRAFT, Party.SENDER_LEADER,
               ("reason",), notify=[(N.SENT_BACK, Party.SENDER)]),
    transition(Action.WITHDRAW, (S.SENT,), S.WITHDRAWN, Party.SENDER,
               notify=[(N.REFERRAL_WITHDRAWN, Party.RECEIVER)]),
    transition(Action.ACKNOWLEDGE, (S.SENT,), S.ACKNOWLEDGED, Party.RECEIVER,
               notify=[(N.ACKNOWLEDGED, Party.SENDER)]),
    transition(Action.RETURN, (S.SENT,), S.RETURNED, Party.RECEIVER, ("reason",),
               notify=[(N.RETURNED, Party.SENDER)]),
    transition(Action.ASSIGN, HANDLING, S.IN_HANDLING, Party.RECEIVER_LEADER, ("handler",),
               notify=[(N.ASSIGNED, Party.RECEIVER)]),
    transition(Action.NOTE, HANDLING, None, Party.RECEIVER, ("comment",), internal=True),
    transition(Action.ANSWER, HANDLING, S.ANSWERED, Party.RECEIVER, ("disposition", "result"),
               notify=[(N.ANSWERED, Party.SENDER)]),
    transition(Action.CLOSE, (S.ANSWERED,), S.CLOSED, Party.SENDER,
               notify=[(N.CLOSED, Party.RECEIVER)]),
    transition(Action.REOPEN, (S.ANSWERED,), S.IN_HANDLING, Party.SENDER, ("reason",),
               notify=[(N.REOPENED, Party.RECEIVER)]),
    transition(Action.CHASE, CHASEABLE, None, Party.SENDER, ("comment",),
               notify=[(N.CHASED, Party.RECEIVER)]),
    transition(Action.REQUEST_EXTENSION, HANDLING, None, Party.RECEIVER, ("until", "reason"),
               guard=ONE_REQUEST_AT_A_TIME, notify=[(N.EXTENSION_REQUESTED, Party.SENDER)]),
    transition(Action.DECIDE_EXTENSION, HANDLING, None, Party.SENDER, ("decision",),
               guard=A_REQUEST_WAITING, notify=[(N.EXTENSION_DECIDED, Party.RECEIVER)]),
    transition(Action.REVISE, (S.RETURNED,), None, Party.SENDER, guard=NOT_YET_REVISED),
)

# States in which the sender may still change the content (of a referral never sent).
EDITABLE = frozenset({S.DRAFT})
# States in which the receiver has it: from the sending on. (A referral sent once and then in
# one of the other states exists only in data from before revisions; the receiver does not see
# it until it is sent again.)
DELIVERED = frozenset({S.SENT, S.ACKNOWLEDGED, S.IN_HANDLING, S.ANSWERED, S.CLOSED,
                       S.RETURNED, S.WITHDRAWN})

# A step of the platform itself: the escalation ladder telling the receiver's leader.
ESCALATE = "escalate"

# Steps of one party that the other party reads in the timeline; the rest of a party's steps
# (drafting, submitting, a leader sending back, revising; the receiver's notes) stay inside it.
SHARED_STEPS = frozenset({Action.APPROVE, Action.WITHDRAW, Action.ACKNOWLEDGE, Action.RETURN,
                          Action.ASSIGN, Action.ANSWER, Action.CLOSE, Action.REOPEN,
                          Action.CHASE, Action.REQUEST_EXTENSION, Action.DECIDE_EXTENSION,
                          ESCALATE, RECOUNT})
# ...and of those, the ones whose comment is the acting party's own: the leader's approval,
# which the receiver reads as the sending.
PRIVATE_COMMENT = frozenset({Action.APPROVE})
SENT = "sent"
SHOWN_AS = {Action.APPROVE: SENT}

"""A finding's own life as data, run by the engine (supervise.workflow) like referrals and
rectifications: a draft is submitted to a leader of the agency that owns it (报领导签发), who
issues it or sends it back with a reason (a leader may also issue a draft directly); an issued
finding is shared with other agencies, and a share withdrawn."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from supervise.findings.models import FindingStatus as S
from supervise.notifications.models import Kind as N
from supervise.vocabulary import LabelledEnum
from supervise.workflow import table, transition


class Party(StrEnum):
    OWNER = "owner"  # staff or leader of the agency that recorded it
    OWNER_LEADER = "owner_leader"
    RECIPIENT = "recipient"  # staff or leader of an agency it is shared with


class Action(LabelledEnum):
    SUBMIT = "submit", _l("Submit for issue")
    SEND_BACK = "send-back", _l("Send back")
    ISSUE = "issue", _l("Issue")
    SHARE = "share", _l("Share")
    WITHDRAW_SHARE = "share_withdraw", _l("Withdraw")


UNISSUED = (S.DRAFT, S.PENDING_ISSUE)

TRANSITIONS = table(
    transition(Action.SUBMIT, (S.DRAFT,), S.PENDING_ISSUE, Party.OWNER,
               notify=[(N.SUBMITTED_FOR_ISSUE, Party.OWNER_LEADER)]),
    transition(Action.SEND_BACK, (S.PENDING_ISSUE,), S.DRAFT, Party.OWNER_LEADER, ("reason",),
               notify=[(N.SENT_BACK, Party.OWNER)]),
    transition(Action.ISSUE, UNISSUED, S.ISSUED, Party.OWNER_LEADER),
    # SHARE notifies the one agency it shares with (operations._share).
    transition(Action.SHARE, (S.ISSUED,), None, Party.OWNER),
    transition(Action.WITHDRAW_SHARE, (S.ISSUED,), None, Party.OWNER),
)

# Why a step is refused in the state the finding is in.
WRONG_STATE = {
    Action.SUBMIT: _l("Only a draft can be submitted for issue."),
    Action.SEND_BACK: _l("Only a finding awaiting issue can be sent back."),
    Action.ISSUE: _l("This finding has already been issued."),
    Action.SHARE: _l("Only issued findings can be shared."),
    Action.WITHDRAW_SHARE: _l("Only issued findings can be shared."),
}

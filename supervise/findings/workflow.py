"""A finding's own life as data, run by the engine (supervise.workflow) like referrals and
rectifications: a draft is issued by a leader of the agency that owns it; an issued finding is
shared with other agencies, and a share withdrawn."""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from supervise.findings.models import FindingStatus as S
from supervise.vocabulary import LabelledEnum
from supervise.workflow import table, transition


class Party(StrEnum):
    OWNER = "owner"  # staff or leader of the agency that recorded it
    OWNER_LEADER = "owner_leader"


class Action(LabelledEnum):
    ISSUE = "issue", _l("Issue")
    SHARE = "share", _l("Share")
    WITHDRAW_SHARE = "share_withdraw", _l("Withdraw")


TRANSITIONS = table(
    transition(Action.ISSUE, (S.DRAFT,), S.ISSUED, Party.OWNER_LEADER),
    transition(Action.SHARE, (S.ISSUED,), None, Party.OWNER),
    transition(Action.WITHDRAW_SHARE, (S.ISSUED,), None, Party.OWNER),
)

# Why a step is refused in the state the finding is in.
WRONG_STATE = {
    Action.ISSUE: _l("This finding has already been issued."),
    Action.SHARE: _l("Only issued findings can be shared."),
    Action.WITHDRAW_SHARE: _l("Only issued findings can be shared."),
}

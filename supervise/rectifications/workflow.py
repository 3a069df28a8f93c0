"""The rectification workflow as data, read by the operations, the pages and the tests.

未整改 → 整改中 (or 长期整改 for a long-term plan, with periodic reports) → 已整改待核实 when the
unit's report says it is done → verified by audit staff → sign-off requested → 已销号 on the audit
leader's approval; 退回重改 (send-back, with a reason) from any step after the unit's final report.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from supervise.notifications.models import Kind as N
from supervise.rectifications.models import RectificationState as S
from supervise.vocabulary import LabelledEnum
from supervise.workflow import RECOUNT, Notice, table, transition


class Party(StrEnum):
    OWNER = "owner"  # staff or leader of the agency that issued it
    OWNER_LEADER = "owner_leader"
    UNIT = "unit"  # the audited unit's contact


class Action(LabelledEnum):
    REPORT = "report", _l("Report progress")
    VERIFY = "verify", _l("Verify")
    SIGN_OFF = "sign-off", _l("Request sign-off")
    APPROVE_SIGN_OFF = "approve-sign-off", _l("Approve sign-off")
    SEND_BACK = "send-back", _l("Send back for rework")
    CHASE = "chase", _l("Chase")


OPEN = (S.NOT_STARTED, S.IN_PROGRESS, S.LONG_TERM)

# REPORT and SEND_BACK lead to a state their step decides (target None): back to work, or up
# for verification after a final report.
TRANSITIONS = table(
    transition(Action.REPORT, OPEN, None, Party.UNIT, ("measures",),
               notify=[(N.REPORT_SUBMITTED, Party.OWNER)]),
    transition(Action.VERIFY, (S.PENDING_VERIFICATION,), S.VERIFIED, Party.OWNER),
    transition(Action.SIGN_OFF, (S.VERIFIED,), S.SIGN_OFF_PENDING, Party.OWNER,
               notify=[(N.SIGN_OFF_PENDING, Party.OWNER_LEADER)]),
    transition(Action.APPROVE_SIGN_OFF, (S.SIGN_OFF_PENDING,), S.SIGNED_OFF,
               Party.OWNER_LEADER, notify=[(N.SIGNED_OFF, Party.OWNER),
                                           (N.SIGNED_OFF, Party.UNIT)]),
    transition(Action.SEND_BACK, (S.PENDING_VERIFICATION, S.VERIFIED, S.SIGN_OFF_PENDING), None,
               Party.OWNER, ("reason",), notify=[(N.REWORK, Party.UNIT)]),
    transition(Action.CHASE, OPEN, None, Party.OWNER, ("comment",),
               notify=[(N.CHASED, Party.UNIT)]),
)
# Issuing creates the item (operations.issue_rectification); it tells the unit.
ISSUED = (Notice(N.RECTIFICATION_ISSUED, Party.UNIT),)

# The step that creates the item (operations.issue_rectification).
ISSUE = "issue"
# What the audited unit reads of the item's history: the issue, its own reports and what is
# addressed to it (a send-back, a chaser, the sign-off, a deadline counted again). The issuing
# agency's internal steps (verifying, asking its leader for sign-off, the escalation to that
# leader) and the leader's comment on the sign-off stay inside the agency.
UNIT_STEPS = frozenset({ISSUE, Action.REPORT, Action.SEND_BACK, Action.APPROVE_SIGN_OFF,
                        Action.CHASE, RECOUNT})
UNIT_COMMENTS = frozenset({Action.SEND_BACK, Action.CHASE, RECOUNT})

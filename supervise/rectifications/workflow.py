"""The rectification workflow as data, read by the operations, the pages and the tests.

未整改 → 整改中 (or 长期整改 for a long-term plan, with periodic reports) → 已整改待核实 when the
unit's report says it is done → verified by audit staff → sign-off requested → 已销号 on the audit
leader's approval; 退回重改 (send-back, with a reason) from any step after the unit's final report.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from supervise.rectifications.models import RectificationState as S


class Party(StrEnum):
    OWNER = "owner"  # staff or leader of the agency that issued it
    OWNER_LEADER = "owner_leader"
    UNIT = "unit"  # the audited unit's contact


class Action(StrEnum):
    REPORT = "report"
    VERIFY = "verify"
    SIGN_OFF = "sign-off"
    APPROVE_SIGN_OFF = "approve-sign-off"
    SEND_BACK = "send-back"
    CHASE = "chase"

    @property
    def label(self) -> str:
        return str({
            Action.REPORT: _l("Report progress"),
            Action.VERIFY: _l("Verify"),
            Action.SIGN_OFF: _l("Request sign-off"),
            Action.APPROVE_SIGN_OFF: _l("Approve sign-off"),
            Action.SEND_BACK: _l("Send back for rework"),
            Action.CHASE: _l("Chase"),
        }[self])


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[S]
    target: S | None  # None: decided by the action (a report) or unchanged (a chaser)
    party: Party
    needs: frozenset[str] = frozenset()


OPEN = (S.NOT_STARTED, S.IN_PROGRESS, S.LONG_TERM)

TRANSITIONS: dict[Action, Transition] = {t.action: t for t in [
    Transition(Action.REPORT, frozenset(OPEN), None, Party.UNIT, frozenset({"measures"})),
    Transition(Action.VERIFY, frozenset({S.PENDING_VERIFICATION}), S.VERIFIED, Party.OWNER),
    Transition(Action.SIGN_OFF, frozenset({S.VERIFIED}), S.SIGN_OFF_PENDING, Party.OWNER),
    Transition(Action.APPROVE_SIGN_OFF, frozenset({S.SIGN_OFF_PENDING}), S.SIGNED_OFF,
               Party.OWNER_LEADER),
    Transition(Action.SEND_BACK, frozenset({S.PENDING_VERIFICATION, S.VERIFIED,
                                            S.SIGN_OFF_PENDING}), None, Party.OWNER,
               frozenset({"reason"})),
    Transition(Action.CHASE, frozenset(OPEN), None, Party.OWNER, frozenset({"comment"})),
]}

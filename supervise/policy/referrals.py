"""Who sees a referral and what part each plays in it. A referral and its persons involved:
staff and leaders of the sending agency, and of the receiving agency once the sending leader
approved it and it was sent to that agency. Nobody else, not even an agency that can see a
finding it was made from. What was sent never changes (a returned referral is revised as a new
one), so the receiver named on a sent referral is the agency it was sent to, and what it reads
is what it received."""

from __future__ import annotations

import sqlalchemy as sa

from supervise import workflow
from supervise.accounts.models import Role
from supervise.attachments.models import Attachment
from supervise.policy import core
from supervise.policy.core import one_or_404, reads_cases
from supervise.referrals.models import Referral
from supervise.referrals.workflow import (
    DELIVERED,
    EDITABLE,
    PRIVATE_COMMENT,
    SHARED_STEPS,
    SHOWN_AS,
    TRANSITIONS,
    Action,
    Party,
)


def received_clause(agency_id):
    """Referrals sent to this agency: from the sending on, whatever happened next."""
    return sa.and_(Referral.receiver_agency_id == agency_id,
                   Referral.first_sent_at.is_not(None), Referral.state.in_(DELIVERED))


def visible_referrals_clause(user):
    if not reads_cases(user):
        return sa.false()
    return sa.or_(Referral.sender_agency_id == user.agency_id, received_clause(user.agency_id))


def persons_visible_clause(user):
    """Referrals whose persons involved the user may read, and so may find by a person's name:
    the referral's own readers (the staff and leaders of the sending agency, and of the
    receiving agency once it was sent to it), as the referral's page shows them. Nobody else,
    whatever else of the referral or its findings they see."""
    return visible_referrals_clause(user)


def visible_referrals(user) -> sa.Select:
    return sa.select(Referral).where(visible_referrals_clause(user))


def referral_or_404(user, public_id: str, *, for_update: bool = False) -> Referral:
    return one_or_404(visible_referrals(user), Referral, public_id, for_update)


def parties(user, referral: Referral) -> frozenset[Party]:
    """The roles the user plays in this referral."""
    if not reads_cases(user):
        return frozenset()
    leader = user.has_role(Role.LEADER)
    found = set()
    if referral.sender_agency_id == user.agency_id:
        found |= {Party.SENDER, Party.SENDER_LEADER} if leader else {Party.SENDER}
    if referral.receiver_agency_id == user.agency_id and referral.first_sent_at is not None \
            and referral.state in DELIVERED:
        found |= {Party.RECEIVER, Party.RECEIVER_LEADER} if leader else {Party.RECEIVER}
    return frozenset(found)


def party_key(referral: Referral) -> tuple:
    """Everything of the referral that `parties` reads: two referrals with the same key give
    every user the same parties (the reminder sweep works out each key's people once)."""
    return (referral.sender_agency_id, referral.receiver_agency_id,
            referral.first_sent_at is not None, referral.state)


def may_take(user, referral: Referral, action: Action) -> bool:
    """Is the user the party the transition table names? (The state is checked separately.)"""
    return TRANSITIONS[action].party in parties(user, referral)


def attachment_or_404(user, public_id: str, attachment_id: str) -> tuple[Referral, Attachment]:
    """A referral the user may see and one of its files the user may read."""
    referral = referral_or_404(user, public_id)
    return referral, core.attachment_or_404(readable_attachments(user, referral), attachment_id)


def may_edit(user, referral: Referral) -> bool:
    """The sending agency edits its referral while it is a draft."""
    return may_take(user, referral, Action.SUBMIT) and referral.state in EDITABLE


def may_take_now(user, referral: Referral, action: Action) -> bool:
    """May the user take this one step now (party, state and guard)?"""
    return bool(workflow.available({action: TRANSITIONS[action]}, parties(user, referral),
                                   referral))


def available_actions(user, referral: Referral) -> list[Action]:
    """What the user may do now: the right party, the right state, the guard holding."""
    return workflow.available(TRANSITIONS, parties(user, referral), referral)


def timeline_for(user, referral: Referral) -> list:
    """The steps the user may read: every step of the user's own agency; of the other party's,
    those that concern both (from the sending on), never their internal ones. The sending
    leader's approval is, to the receiver, the sending, without the leader's comment."""
    mine = parties(user, referral)
    if not mine:
        return []
    shown = []
    for entry in referral.entries:
        if entry.agency_id == user.agency_id:
            shown.append(entry)
        elif entry.action in SHARED_STEPS and not entry.internal:
            shown.append(core.OtherPartysStep(entry, SHOWN_AS.get(entry.action))
                         if entry.action in PRIVATE_COMMENT else entry)
    return shown


def readable_attachments(user, referral: Referral) -> list[Attachment]:
    """Evidence of the referral, of the findings it cites as sent, and the files of the
    timeline steps the user may read."""
    return [*referral.attachments, *(a for cited in referral.cited for a in cited.attachments),
            *(a for entry in timeline_for(user, referral) for a in entry.attachments)]

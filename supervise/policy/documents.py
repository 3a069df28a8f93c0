"""Who reads and who makes the documents of a record. A document's readers are the record's
parties, and nobody else: the two agencies of a referral (the receiver from the sending on),
the issuing agency and the audited unit of a rectification item. Its maker is the issuing side:
the sending agency of a referral, the issuing agency of an item. Whoever may see the record sees
it through the record's own policy, so a record outside the user's reach answers 404."""

from __future__ import annotations

from flask import abort

from supervise.documents.kinds import REFERRAL, Kind
from supervise.documents.models import Document
from supervise.policy import core
from supervise.policy import rectifications as rectification_access
from supervise.policy import referrals as referral_access
from supervise.rectifications.workflow import Party as RParty
from supervise.referrals.workflow import Party


def record_or_404(user, record_type: str, public_id: str, *, for_update: bool = False):
    if record_type == REFERRAL:
        return referral_access.referral_or_404(user, public_id, for_update=for_update)
    return rectification_access.rectification_or_404(user, public_id, for_update=for_update)


def issues(user, kind: Kind, record) -> bool:
    """Does the user's agency issue this kind of document for the record?"""
    if kind.record == REFERRAL:
        return Party.SENDER in referral_access.parties(user, record)
    return RParty.OWNER in rectification_access.rectification_parties(user, record)


def reads(user, record) -> bool:
    """Is the user a party of the record (and so a reader of its documents)?"""
    if hasattr(record, "receiver_agency_id"):
        return bool(referral_access.parties(user, record))
    return bool(rectification_access.rectification_parties(user, record))


def document_or_404(user, record, documents: list[Document], public_id: str) -> Document:
    """One of the record's documents, for a party of the record."""
    if not reads(user, record):
        abort(404)
    return core.attachment_or_404(documents, public_id)

"""What each kind of document is made from: the record it belongs to, who issues it, when it may
be made, and the fields its template fills (the only names a template may use).

A document is always in Chinese (公文), whatever language its maker reads. What reaches a
document is chosen here field by field, from what its readers may read: the referral letter
goes to the two parties of the referral, who read the persons involved; the documents of a
rectification item go to the audited unit, and carry only the text issued to it — never a
person, never anything of a referral.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _

from supervise.calendar.deadlines import local_date
from supervise.documents.models import DocumentKind
from supervise.money import format_yuan
from supervise.rectifications.models import Rectification, RectificationState
from supervise.rectifications.queries import RUNNING
from supervise.referrals.models import Referral, ReferralState
from supervise.referrals.workflow import CHASEABLE
from supervise.vocabulary import DOCUMENT_LOCALE, chinese

REFERRAL = "referral"
RECTIFICATION = "rectification"

# Every document has these: the 版头, 发文字号, 标题, 主送机关 and 成文日期 of GB/T 9704-2012.
COMMON = ("issuer", "number", "title", "addressee", "date")


@dataclass(frozen=True)
class Kind:
    kind: DocumentKind
    record: str  # REFERRAL or RECTIFICATION
    fields: tuple[str, ...]  # what the template may use, COMMON included
    required: tuple[str, ...]  # ... and what it must use
    # None when a document of this kind may be made from the record now, else why not.
    refusal: Callable[[object, datetime], str | None]
    context: Callable[[object, datetime], dict]  # the kind's own fields

    @property
    def label(self) -> str:
        return self.kind.label


def long_date(day: date | datetime | None) -> str:
    """2026年12月7日: the 成文日期 in Arabic numerals, as GB/T 9704-2012 has them."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = local_date(day)
    return format_date(day, "long", locale=DOCUMENT_LOCALE)


def paragraphs(text: str | None) -> list[str]:
    """A text as its paragraphs, for a template's paragraph loop (blank lines dropped)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# --- referrals -------------------------------------------------------------------------------

def _referral_letter_refusal(referral: Referral, now: datetime) -> str | None:
    if referral.first_sent_at is None or referral.state in (
            ReferralState.DRAFT, ReferralState.PENDING_APPROVAL, ReferralState.WITHDRAWN):
        return _("A referral letter is made once the leader has approved and sent the "
                 "referral.")
    return None


def _referral_letter(referral: Referral, now: datetime) -> dict:
    return {
        "subject": referral.title,
        "referral_kind": chinese(referral.kind),
        "audit_scope": paragraphs(referral.audit_scope),
        "facts": paragraphs(referral.facts),
        "classification": paragraphs(referral.classification),
        "opinion": paragraphs(referral.opinion),
        "basis": paragraphs(referral.basis),
        "feedback_request": paragraphs(referral.feedback_request),
        "persons": [{"name": p.name, "position": p.title} for p in referral.persons],
        "findings": [cited.title for cited in referral.cited],
        "sent_date": long_date(referral.first_sent_at),
        "acknowledge_by": long_date(referral.acknowledge_by),
        "answer_by": long_date(referral.answer_by),
    }


def _overdue_clock(referral: Referral, now: datetime) -> tuple[str, datetime] | None:
    if referral.state == ReferralState.SENT and referral.acknowledge_by is not None \
            and referral.acknowledge_by < now:
        return _("acknowledgement"), referral.acknowledge_by
    if referral.answer_by is not None and referral.answer_by < now:
        return _("answer"), referral.answer_by
    return None


def _chaser_refusal(referral: Referral, now: datetime) -> str | None:
    if referral.state not in CHASEABLE or _overdue_clock(referral, now) is None:
        return _("A chaser letter is made for a referral whose acknowledgement or answer is "
                 "overdue.")
    return None


def _chaser(referral: Referral, now: datetime) -> dict:
    clock, due = _overdue_clock(referral, now)
    return {
        "subject": referral.title,
        "sent_date": long_date(referral.first_sent_at),
        "overdue": clock,
        "deadline": long_date(due),
        "answer_by": long_date(referral.answer_by),
    }


# --- rectification items ---------------------------------------------------------------------

def _rectification_notice(item: Rectification, now: datetime) -> dict:
    return {
        "subject": item.title,
        "facts": paragraphs(item.facts),
        "legal_basis": paragraphs(item.legal_basis),
        "recommendation": paragraphs(item.recommendation),
        "amount": format_yuan(item.amount),
        "plan": chinese(item.plan),
        "issued_date": long_date(item.issued_at),
        "deadline": long_date(item.due_at),
    }


SIGN_OFF_STATES = (RectificationState.VERIFIED, RectificationState.SIGN_OFF_PENDING,
                   RectificationState.SIGNED_OFF)


def _sign_off_refusal(item: Rectification, now: datetime) -> str | None:
    if item.state not in SIGN_OFF_STATES:
        return _("A sign-off sheet is made once the rectification has been verified.")
    return None


def _sign_off_sheet(item: Rectification, now: datetime) -> dict:
    return {
        "subject": item.title,
        "amount": format_yuan(item.amount),
        "amount_recovered": format_yuan(item.amount_recovered),
        "issued_date": long_date(item.issued_at),
        "deadline": long_date(item.due_at),
        "reports": [{"date": long_date(r.submitted_at), "measures": r.measures,
                     "amount": format_yuan(r.amount_recovered)} for r in item.reports],
        "state": chinese(item.state),
        "signed_off_date": long_date(item.signed_off_at),
    }


def _urge_refusal(item: Rectification, now: datetime) -> str | None:
    if item.state not in RUNNING or item.due_at >= now:
        return _("A letter urging rectification is made for an item whose report is overdue.")
    return None


def _urge_notice(item: Rectification, now: datetime) -> dict:
    return {
        "subject": item.title,
        "issued_date": long_date(item.issued_at),
        "deadline": long_date(item.due_at),
    }


def _always(record, now) -> None:
    return None


KINDS: dict[DocumentKind, Kind] = {k.kind: k for k in [
    Kind(DocumentKind.REFERRAL_LETTER, REFERRAL,
         (*COMMON, "subject", "referral_kind", "audit_scope", "facts", "classification",
          "opinion", "basis", "feedback_request", "persons", "findings", "sent_date",
          "acknowledge_by", "answer_by"),
         (*COMMON, "facts", "answer_by"), _referral_letter_refusal, _referral_letter),
    Kind(DocumentKind.CHASER, REFERRAL,
         (*COMMON, "subject", "sent_date", "overdue", "deadline", "answer_by"),
         (*COMMON, "subject", "deadline"), _chaser_refusal, _chaser),
    Kind(DocumentKind.RECTIFICATION_NOTICE, RECTIFICATION,
         (*COMMON, "subject", "facts", "legal_basis", "recommendation", "amount", "plan",
          "issued_date", "deadline"),
         (*COMMON, "facts", "deadline"), _always, _rectification_notice),
    Kind(DocumentKind.SIGN_OFF_SHEET, RECTIFICATION,
         (*COMMON, "subject", "amount", "amount_recovered", "issued_date", "deadline",
          "reports", "state", "signed_off_date"),
         (*COMMON, "subject", "amount_recovered"), _sign_off_refusal, _sign_off_sheet),
    Kind(DocumentKind.URGE_NOTICE, RECTIFICATION,
         (*COMMON, "subject", "issued_date", "deadline"),
         (*COMMON, "subject", "deadline"), _urge_refusal, _urge_notice),
]}


def kinds_for(record_type: str) -> list[Kind]:
    return [k for k in KINDS.values() if k.record == record_type]


def context_of(kind: Kind, record, *, issuer: str, addressee: str, number: str,
               now: datetime) -> dict:
    """Everything the template of `kind` reads of `record`, in Chinese."""
    with force_locale(DOCUMENT_LOCALE):
        return {"issuer": issuer, "addressee": addressee, "number": number,
                "title": kind.label, "date": long_date(now), **kind.context(record, now)}

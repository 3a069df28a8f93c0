"""一果多用 across the domains: what referrals and rectification made of a finding, for the
finding's page. It reads findings, referrals and rectifications, so it lives above all three;
the finding's page asks for it through the template global `case_uses`."""

from __future__ import annotations

from dataclasses import dataclass, field

from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.policy import rectifications as rectification_access
from supervise.policy import referrals as referral_access
from supervise.rectifications.models import Plan, Rectification
from supervise.referrals.models import Referral
from supervise.web import current_actor


@dataclass
class CaseUses:
    # Referrals citing the finding that the reader is a party to, with their outcome.
    referrals: list[Referral] = field(default_factory=list)
    # The rectification by the audited unit, for the agency that issued it.
    rectification: Rectification | None = None
    # How far its rectification is, for an agency the finding is shared with.
    shared_progress: object | None = None
    may_issue_rectification: bool = False
    plans: tuple[Plan, ...] = tuple(Plan)


def case_uses_of(user, finding: Finding) -> CaseUses:
    referrals = db.session.scalars(referral_access.visible_referrals(user).where(
        Referral.findings.any(Finding.id == finding.id)).order_by(Referral.created_at)).all()
    rectification = db.session.scalar(rectification_access.visible_rectifications(user).where(
        Rectification.finding_id == finding.id, Rectification.owner_agency_id == user.agency_id))
    return CaseUses(
        referrals=list(referrals), rectification=rectification,
        shared_progress=rectification_access.progress_of_shared(user, [finding.id]).get(
            finding.id),
        may_issue_rectification=rectification_access.may_issue_rectification(user, finding))


def init_app(app) -> None:
    app.jinja_env.globals["case_uses"] = lambda finding: case_uses_of(
        current_actor(), finding)
    # For a list of findings shared with the reader: how far each one's rectification is.
    app.jinja_env.globals["shared_progress"] = lambda findings: \
        rectification_access.progress_of_shared(current_actor(), [f.id for f in findings])

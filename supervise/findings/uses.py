"""一果多用: every use made of a finding and every outcome that came back, as its reader may
see them. Referrals and rectifications add their sections here as they arrive."""

from __future__ import annotations

from dataclasses import dataclass, field

from supervise import policy
from supervise.extensions import db
from supervise.findings.models import Finding, FindingLink, Share
from supervise.rectifications.models import Rectification
from supervise.referrals.models import Referral


@dataclass
class Related:
    link: FindingLink
    other: Finding
    visible: bool  # may the reader open the other finding?


@dataclass
class Uses:
    shares: list[Share] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)
    # Referrals citing the finding that the reader is a party to, with their outcome.
    referrals: list[Referral] = field(default_factory=list)
    # The rectification by the audited unit, for the agency that issued it.
    rectification: Rectification | None = None


def uses_of(user, finding: Finding) -> Uses:
    links = policy.links_of(finding)
    others = [link.related if link.finding_id == finding.id else link.finding for link in links]
    visible = policy.visible_finding_ids(user, (o.id for o in others))
    referrals = db.session.scalars(policy.visible_referrals(user).where(
        Referral.findings.any(Finding.id == finding.id)).order_by(Referral.created_at)).all()
    rectification = db.session.scalar(policy.visible_rectifications(user).where(
        Rectification.finding_id == finding.id)) if policy.owns_finding(user, finding) else None
    return Uses(
        rectification=rectification,
        shares=policy.visible_shares(user, finding),
        referrals=list(referrals),
        related=[Related(link, other, other.id in visible) for link, other in zip(links, others,
                                                                                   strict=True)],
    )

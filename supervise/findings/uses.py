"""一果多用: every use made of a finding and every outcome that came back, as its reader may
see them. Referrals and rectifications add their sections here as they arrive."""

from __future__ import annotations

from dataclasses import dataclass, field

from supervise import policy
from supervise.findings.models import Finding, FindingLink, Share


@dataclass
class Related:
    link: FindingLink
    other: Finding
    visible: bool  # may the reader open the other finding?


@dataclass
class Uses:
    shares: list[Share] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)


def uses_of(user, finding: Finding) -> Uses:
    links = policy.links_of(finding)
    others = [link.related if link.finding_id == finding.id else link.finding for link in links]
    visible = policy.visible_finding_ids(user, (o.id for o in others))
    return Uses(
        shares=policy.visible_shares(user, finding),
        related=[Related(link, other, other.id in visible) for link, other in zip(links, others,
                                                                                   strict=True)],
    )

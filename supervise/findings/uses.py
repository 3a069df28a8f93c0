"""一果多用 within findings: the shares of a finding and the findings linked to it, as its reader
may see them. What referrals and rectification made of it is read above the domains, in
`supervise.uses`."""

from __future__ import annotations

from dataclasses import dataclass, field

from supervise.findings.models import Finding, FindingLink, Share
from supervise.policy import findings as finding_access


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
    links = finding_access.links_of(finding)
    others = [link.related if link.finding_id == finding.id else link.finding for link in links]
    visible = finding_access.visible_finding_ids(user, (o.id for o in others))
    return Uses(
        shares=finding_access.visible_shares(user, finding),
        related=[Related(link, other, other.id in visible) for link, other in zip(links, others,
                                                                                   strict=True)],
    )

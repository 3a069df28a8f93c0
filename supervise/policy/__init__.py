"""The access chokepoint (see `core`). Endpoints declare what they need with the decorators
re-exported here; record scopes live in one module per domain: `supervise.policy.findings`,
`.projects`, `.referrals`, `.rectifications`."""

from supervise.policy.core import (
    BUILTIN_ACCESS,
    CAPABILITIES,
    ROLE_PERMISSIONS,
    Access,
    Capability,
    Permission,
    access_for,
    attachment_or_404,
    can,
    capabilities_of,
    case_partners,
    enforce,
    has,
    init_app,
    is_unit_contact,
    permissions_of,
    public,
    reachable,
    reads_cases,
    records_findings,
    requires,
    signed_in,
)

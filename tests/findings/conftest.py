"""The findings' district and its API callers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from supervise.accounts.models import AgencyKind
from tests.factories import AgencyFactory, ProjectFactory, UserFactory
from tests.support.api import callers


@pytest.fixture
def world(client):
    """Its own district: an inspection leader, a second audited unit and a project, no
    finance department or neighbouring audit bureau."""
    audit = AgencyFactory(code="audit", name="区审计局", kind=AgencyKind.AUDIT)
    inspection = AgencyFactory(code="inspection", name="区委巡察办", kind=AgencyKind.INSPECTION)
    discipline = AgencyFactory(code="discipline", name="区纪委监委", kind=AgencyKind.DISCIPLINE)
    org = AgencyFactory(code="org", name="区委组织部", kind=AgencyKind.ORGANIZATION)
    edu = AgencyFactory(code="edu", name="区教育局", kind=AgencyKind.AUDITED_UNIT)
    health = AgencyFactory(code="health", name="区卫健委", kind=AgencyKind.AUDITED_UNIT)
    users = {
        "audit_staff": UserFactory(username="audit.staff", agency=audit),
        "audit_leader": UserFactory(username="audit.leader", agency=audit, roles=["leader"]),
        "insp_staff": UserFactory(username="insp.staff", agency=inspection),
        "insp_leader": UserFactory(username="insp.leader", agency=inspection,
                                   roles=["leader"]),
        "disc_staff": UserFactory(username="disc.staff", agency=discipline),
        "org_staff": UserFactory(username="org.staff", agency=org),
        "unit_contact": UserFactory(username="unit.contact", agency=edu),
    }
    project = ProjectFactory(lead_agency=audit, year=2020, name="2020年度区教育局部门预算执行审计",
                             created_by_id=users["audit_staff"].id)
    return SimpleNamespace(audit=audit, inspection=inspection, discipline=discipline, org=org,
                           edu=edu, health=health, project=project, client=client, **users)


@pytest.fixture
def as_(world):
    """as_("insp_staff") -> a Caller for that user; its list() and ids() read /findings."""
    return callers(world, listing="/findings")

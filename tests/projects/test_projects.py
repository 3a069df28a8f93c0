"""Projects: an agency that records findings runs them; others do not see them."""

import sqlalchemy as sa

from supervise.accounts.models import AgencyKind
from supervise.extensions import db
from supervise.projects.models import Project
from tests.conftest import page_text
from tests.factories import AgencyFactory, ProjectFactory, UserFactory


def test_auditor_creates_a_project_covering_units(app):
    audit = AgencyFactory(code="audit", kind=AgencyKind.AUDIT)
    AgencyFactory(code="unit-education", name="区教育局", kind=AgencyKind.AUDITED_UNIT)
    UserFactory(username="auditor", agency=audit)
    client = app.test_client()
    client.sign_in("auditor")
    response = client.post_form("/projects/new", {
        "year": "2020", "kind": "audit", "name": "2020年度区教育局部门预算执行审计",
        "units": ["unit-education"], "team": ["auditor"]})
    assert response.status_code == 302
    project = db.session.scalar(sa.select(Project))
    assert [u.code for u in project.units] == ["unit-education"]
    page = page_text(client.get(response.headers["Location"]))
    assert "2020年度区教育局部门预算执行审计" in page and "区教育局" in page


def test_bad_project_input_is_refused(app):
    audit = AgencyFactory(code="audit", kind=AgencyKind.AUDIT)
    UserFactory(username="auditor", agency=audit)
    client = app.test_client()
    client.sign_in("auditor")
    for data in ({"year": "20x0", "kind": "audit", "name": "x", "units": ["unit-x"]},
                 {"year": "2020", "kind": "war", "name": "x", "units": []},
                 {"year": "2020", "kind": "audit", "name": "", "units": []}):
        assert client.post_form("/projects/new", data).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0


def test_projects_of_another_agency_are_not_found(app):
    project = ProjectFactory()
    inspection = AgencyFactory(kind=AgencyKind.INSPECTION)
    UserFactory(username="inspector", agency=inspection)
    client = app.test_client()
    client.sign_in("inspector")
    assert client.get(f"/projects/{project.public_id}").status_code == 404
    assert project.name not in page_text(client.get("/projects"))


def test_agencies_that_record_no_findings_have_no_projects(app):
    UserFactory(username="commissioner", agency=AgencyFactory(kind=AgencyKind.DISCIPLINE))
    client = app.test_client()
    client.sign_in("commissioner")
    assert client.get("/projects").status_code == 404

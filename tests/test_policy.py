"""The access chokepoint: every route declared, deny by default, CSRF on every form."""

import re

import pytest

from supervise.accounts.models import AgencyKind, Role
from supervise.policy import (
    ROLE_PERMISSIONS,
    Access,
    Capability,
    Permission,
    access_for,
    can,
    capabilities_of,
)
from supervise.web import PublicIdConverter
from tests.factories import UserFactory
from tests.support.walk import fill

# Every endpoint and the rule it must declare: the permissions its roles need (403 without) and the
# capabilities the user's agency kind must give (404 without: for that agency the page does not
# exist). A new route fails this test until it is added here, so nobody adds a route without
# deciding who may use it.
EXPECTED = {
    "static": "public",
    "api-docs.openapi_json": "public",
    "health.healthz": "public",
    "accounts.login": "public",
    "accounts.second_factor": "public",  # after the password, for the pending account only
    "accounts.enrol": "public",
    "accounts.set_language": "public",
    "accounts.logout": "signed_in",
    "accounts.change_password": "signed_in",
    "accounts.sessions": "signed_in",
    "accounts.end_session": "signed_in",
    "accounts.end_other_sessions": "signed_in",
    "todo.home": "signed_in",
    "todo.approvals": {Permission.APPROVE, Capability.RECORDS_FINDINGS},
    "todo_api.todo": "signed_in",
    "notifications.notifications": "signed_in",
    "notifications.notification": "signed_in",
    "notifications.read": "signed_in",
    "notifications.read_all": "signed_in",
    "notifications.preferences": "signed_in",
    "notifications.mail_status": {Permission.MANAGE_ACCOUNTS},
    "notifications_api.get_preferences": "signed_in",
    "notifications_api.put_preferences": "signed_in",
    "notifications_api.list_notifications": "signed_in",
    "notifications_api.read_notification": "signed_in",
    "notifications_api.read_all_notifications": "signed_in",
    "accounts_api.create_token": "public",
    "accounts_api.revoke_token": "signed_in",
    "accounts_api.me": "signed_in",
    "admin.agencies": {Permission.MANAGE_ACCOUNTS},
    "admin.agency": {Permission.MANAGE_ACCOUNTS},
    "admin.agency_active": {Permission.MANAGE_ACCOUNTS},
    "admin.users": {Permission.MANAGE_ACCOUNTS},
    "admin.user": {Permission.MANAGE_ACCOUNTS},
    "admin.user_active": {Permission.MANAGE_ACCOUNTS},
    "admin.user_end_sessions": {Permission.MANAGE_ACCOUNTS},
    "admin.user_reset_password": {Permission.MANAGE_ACCOUNTS},
    "admin.roles": {Permission.ASSIGN_ROLES},
    "admin.user_roles": {Permission.ASSIGN_ROLES},
    "admin.user_reset_second_factor": {Permission.RESET_SECOND_FACTOR},
    "admin.user_approve_password_reset": {Permission.APPROVE_PASSWORD_RESET},
    "admin.user_refuse_password_reset": {Permission.APPROVE_PASSWORD_RESET},
    "events.events": {Permission.READ_EVENTS},
    "events.export": {Permission.READ_EVENTS},
    "events.export_csv": {Permission.READ_EVENTS},
    "events.check_export": {Permission.READ_EVENTS},
    "calendar.calculator": {Permission.CASE_CONTENT},
    "calendar.arrangement": {Permission.MANAGE_SETTINGS},
    "calendar.remove": {Permission.MANAGE_SETTINGS},
    "calendar_api.deadline": {Permission.CASE_CONTENT},
    "referrals_api.list_referrals": {Permission.CASE_CONTENT},
    "referrals_api.find_by_person": {Permission.CASE_CONTENT},
    # The unit dossier: as the findings list (for an audited unit it does not exist).
    "dossier.units": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "dossier.dossier": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "search.search": {Permission.CASE_CONTENT},
    # The leader's figures and the records behind each: agencies that read cases.
    # Official documents: a record's parties, as the record's own policy finds it (404 for
    # anyone else); the number prefixes for an agency's leader; the templates for the
    # security administrator.
    "documents.make": {Permission.CASE_CONTENT},
    "documents.download": {Permission.CASE_CONTENT},
    "documents.numbering": {Permission.APPROVE, Capability.READS_CASES},
    "documents.document_templates": {Permission.MANAGE_SETTINGS},
    "documents.template_file": {Permission.MANAGE_SETTINGS},
    "documents.replace_template": {Permission.MANAGE_SETTINGS},
    "documents.restore_template": {Permission.MANAGE_SETTINGS},
    "documents_api.referral_documents": {Permission.CASE_CONTENT},
    "documents_api.make_referral_document": {Permission.CASE_CONTENT},
    "documents_api.referral_document_file": {Permission.CASE_CONTENT},
    "documents_api.rectification_documents": {Permission.CASE_CONTENT},
    "documents_api.make_rectification_document": {Permission.CASE_CONTENT},
    "documents_api.rectification_document_file": {Permission.CASE_CONTENT},
    "statistics.statistics": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "statistics.records": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "statistics.download": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "statistics.annual": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "search_api.search": {Permission.CASE_CONTENT},
    "search_api.search_by_post": {Permission.CASE_CONTENT},
    "referrals_api.get_referral": {Permission.CASE_CONTENT},
    "referrals_api.create_referral": {Permission.CASE_CONTENT},
    "referrals_api.update_referral": {Permission.CASE_CONTENT},
    "referrals_api.take_action": {Permission.CASE_CONTENT},
    "referrals_api.chase": {Permission.CASE_CONTENT},
    "referrals_api.revise": {Permission.CASE_CONTENT},
    "referrals_api.request_extension": {Permission.CASE_CONTENT},
    "referrals_api.decide_extension": {Permission.CASE_CONTENT},
    "referrals_api.upload_attachment": {Permission.CASE_CONTENT},
    "referrals_api.download_attachment": {Permission.CASE_CONTENT},
    "referrals_api.list_dispositions": {Permission.CASE_CONTENT},
    "announcements.publish": {Permission.APPROVE},
    "announcements.unpublish": {Permission.APPROVE},
    "announcements.public_list": "public",
    "announcements.public_page": "public",
    "rectifications_api.issue_rectification": {Permission.CASE_CONTENT},
    "rectifications_api.list_rectifications": {Permission.CASE_CONTENT},
    "rectifications_api.get_rectification": {Permission.CASE_CONTENT},
    "rectifications_api.download_attachment": {Permission.CASE_CONTENT},
    "rectifications_api.submit_report": {Permission.CASE_CONTENT},
    "rectifications_api.take_action": {Permission.CASE_CONTENT},
    "ledgers_api.findings_ledger": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "ledgers_api.referrals_ledger": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "ledgers_api.rectifications_ledger": {Permission.CASE_CONTENT},
    # The leader's figures: staff and leaders of the agencies that read cases.
    "statistics_api.referral_statistics": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "statistics_api.rectification_statistics": {Permission.CASE_CONTENT,
                                                Capability.READS_CASES},
    "statistics_api.finding_statistics": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "statistics_api.monthly_statistics": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "statistics_api.annual_statistics": {Permission.CASE_CONTENT, Capability.READS_CASES},
    # A person's own ledgers built in the background: anyone else's job answers 404.
    "exports.exports": "signed_in",
    "exports_api.list_exports": "signed_in",
    "exports_api.export_job": "signed_in",
    "exports_api.export_file": "signed_in",
    "rectifications.rectifications": {Permission.CASE_CONTENT, Capability.RECTIFICATION},
    "rectifications.issue": {Permission.CASE_CONTENT, Capability.RECTIFICATION},
    "rectifications.rectification": {Permission.CASE_CONTENT, Capability.RECTIFICATION},
    "rectifications.act": {Permission.CASE_CONTENT, Capability.RECTIFICATION},
    "rectifications.download": {Permission.CASE_CONTENT, Capability.RECTIFICATION},
    "referrals.board": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "referrals.inbox": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "referrals.named": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "referrals.new": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "referrals.edit": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "referrals.referral": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "referrals.act": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "referrals.upload": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "referrals.download": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "settings.settings": {Permission.MANAGE_SETTINGS},
    "settings.categories": {Permission.MANAGE_SETTINGS},
    "settings.two_factor": {Permission.MANAGE_SETTINGS},
    "settings.category_active": {Permission.MANAGE_SETTINGS},
    "projects.projects": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "projects.new_project": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings.project": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings.findings": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.new_finding": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings.import_upload": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings.import_preview": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings.import_confirm": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings.import_result": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings.import_refused": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings.import_template": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings.edit_finding": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.finding": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.issue": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.submit": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.send_back": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.share": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.withdraw": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.comment": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.link": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.unlink": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.upload": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings.download": {Permission.CASE_CONTENT, Capability.READS_CASES},
    "findings_api.list_findings": {Permission.CASE_CONTENT},
    "findings_api.create_finding": {Permission.CASE_CONTENT},
    "findings_api.import_findings": {Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS},
    "findings_api.similar_findings": {Permission.CASE_CONTENT},
    "findings_api.get_finding": {Permission.CASE_CONTENT},
    "findings_api.update_finding": {Permission.CASE_CONTENT},
    "findings_api.issue_finding": {Permission.CASE_CONTENT},
    "findings_api.submit_finding": {Permission.CASE_CONTENT},
    "findings_api.send_back_finding": {Permission.CASE_CONTENT},
    "findings_api.share_finding": {Permission.CASE_CONTENT},
    "findings_api.withdraw_share": {Permission.CASE_CONTENT},
    "findings_api.upload_attachment": {Permission.CASE_CONTENT},
    "findings_api.download_attachment": {Permission.CASE_CONTENT},
    "findings_api.list_categories": {Permission.CASE_CONTENT},
    "findings_api.finding_uses": {Permission.CASE_CONTENT},
    "findings_api.list_comments": {Permission.CASE_CONTENT},
    "findings_api.add_comment": {Permission.CASE_CONTENT},
    "findings_api.link_finding": {Permission.CASE_CONTENT},
    "findings_api.unlink_finding": {Permission.CASE_CONTENT},
    "findings_api.list_projects": {Permission.CASE_CONTENT},
    "findings_api.create_project": {Permission.CASE_CONTENT},
}


def _describe(access: Access):
    if access.public:
        return "public"
    return set(access.permissions) | set(access.capabilities) or "signed_in"


def test_every_endpoint_declares_its_access_rule(app):
    with app.test_request_context():
        declared = {rule.endpoint: access_for(rule.endpoint) for rule in app.url_map.iter_rules()}
    undeclared = sorted(endpoint for endpoint, access in declared.items() if access is None)
    assert undeclared == [], f"endpoints without an access rule: {undeclared}"
    assert {e: _describe(a) for e, a in declared.items()} == EXPECTED


def test_an_undeclared_endpoint_is_refused(app_factory):
    app = app_factory()
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    response = app.test_client().get("/forgotten")
    assert response.status_code == 404
    assert b"secret" not in response.data


def _placeholder(rule, name):
    """A value the rule's converter takes for a record that does not exist."""
    return "A" * 16 if isinstance(rule._converters[name], PublicIdConverter) else 1


def _urls(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = fill(rule, {name: _placeholder(rule, name) for name in rule.arguments})
        yield rule.endpoint, url, sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_signed_out_visitor_reaches_only_public_endpoints(app, client):
    for endpoint, url, methods in _urls(app):
        if EXPECTED[endpoint] == "public":
            continue
        for method in methods:
            response = client.open(url, method=method, data={"csrf_token": client.csrf_token()})
            if url.startswith("/api/"):
                assert response.status_code == 401, (method, url)
            else:
                assert response.status_code == 302, (method, url)
                assert response.headers["Location"].startswith("/login"), (method, url)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_only_what_its_permissions_allow(app, client, role):
    user = UserFactory(roles=[role])
    client.sign_in(user.username)
    granted = ROLE_PERMISSIONS[role]
    for endpoint, url, methods in _urls(app):
        needed = EXPECTED[endpoint]
        if not isinstance(needed, set) or "GET" not in methods:
            continue
        response = client.get(url)
        response.close()  # a download (a ledger) streams from a temporary file
        if {n for n in needed if isinstance(n, Permission)} <= granted:
            # 404: no record with id 1; 422: a query argument the API requires is missing
            assert response.status_code in (200, 404, 422), url
        else:
            assert response.status_code == 403, (role, url)


R = Capability
CAPABILITIES = {  # (agency kind, role) -> what the user may do besides the role's permissions
    (AgencyKind.AUDIT, Role.STAFF): {R.READS_CASES, R.RECORDS_FINDINGS, R.RECTIFICATION},
    (AgencyKind.INSPECTION, Role.LEADER): {R.READS_CASES, R.RECORDS_FINDINGS, R.RECTIFICATION},
    (AgencyKind.DISCIPLINE, Role.STAFF): {R.READS_CASES},
    (AgencyKind.ORGANIZATION, Role.LEADER): {R.READS_CASES},
    (AgencyKind.DEPARTMENT, Role.STAFF): {R.READS_CASES},
    (AgencyKind.AUDITED_UNIT, Role.STAFF): {R.UNIT_PORTAL, R.RECTIFICATION},
    (AgencyKind.AUDIT, Role.SYSADMIN): set(),
    (AgencyKind.AUDITED_UNIT, Role.AUDITADMIN): set(),
}


@pytest.mark.parametrize(("kind", "role"), list(CAPABILITIES))
def test_capabilities_follow_role_and_agency_kind(app, kind, role):
    user = UserFactory(roles=[role], agency__kind=kind)
    assert capabilities_of(user) == CAPABILITIES[kind, role]


@pytest.mark.parametrize(("kind", "role"), list(CAPABILITIES))
def test_a_page_the_agency_kind_does_not_have_answers_404(app, client, kind, role):
    """Endpoints without a record in the path: the capability alone decides between the page
    and 404 (a missing permission still answers 403)."""
    user = UserFactory(roles=[role], agency__kind=kind)
    client.sign_in(user.username)
    held = CAPABILITIES[kind, role]
    for endpoint, url, methods in _urls(app):
        needed = EXPECTED[endpoint]
        capabilities = {n for n in needed if isinstance(n, Capability)} if isinstance(
            needed, set) else set()
        if not capabilities or "GET" not in methods or "<" in app.url_map._rules_by_endpoint[
                endpoint][0].rule:
            continue
        response = client.get(url)
        response.close()
        if not needed - held - ROLE_PERMISSIONS[role]:
            assert response.status_code in (200, 422), (kind, role, url)
        elif needed - ROLE_PERMISSIONS[role] - set(Capability):
            assert response.status_code == 403, (kind, role, url)
        else:
            assert response.status_code == 404, (kind, role, url)


def test_refusals_are_recorded(client):
    from tests.helpers import events

    user = UserFactory(roles=["staff"])
    client.sign_in(user.username)
    assert client.get("/audit/events").status_code == 403
    [event] = events("access.denied")
    assert event.actor_username == user.username
    assert event.outcome == "denied"


def test_administrators_never_hold_case_content():
    for role in (Role.SYSADMIN, Role.SECADMIN, Role.AUDITADMIN):
        assert Permission.CASE_CONTENT not in ROLE_PERMISSIONS[role]
        assert Permission.APPROVE not in ROLE_PERMISSIONS[role]


def test_case_roles_hold_no_administration():
    for role in (Role.STAFF, Role.LEADER):
        assert not ROLE_PERMISSIONS[role] & {Permission.MANAGE_ACCOUNTS, Permission.ASSIGN_ROLES,
                                             Permission.MANAGE_SETTINGS, Permission.READ_EVENTS,
                                             Permission.RESET_SECOND_FACTOR,
                                             Permission.APPROVE_PASSWORD_RESET}


def test_a_password_reset_and_its_approval_are_two_roles():
    """Whoever resets passwords neither approves a reset nor resets a second factor: no single
    role can enter an account (issue 12)."""
    holders = {permission: {role for role, granted in ROLE_PERMISSIONS.items()
                            if permission in granted}
               for permission in (Permission.MANAGE_ACCOUNTS, Permission.APPROVE_PASSWORD_RESET,
                                  Permission.RESET_SECOND_FACTOR)}
    assert holders[Permission.MANAGE_ACCOUNTS] == {Role.SYSADMIN}
    assert holders[Permission.APPROVE_PASSWORD_RESET] == {Role.SECADMIN}
    assert holders[Permission.RESET_SECOND_FACTOR] == {Role.SECADMIN}


def test_can_is_false_for_anonymous_users():
    from flask_login import AnonymousUserMixin

    assert not can(AnonymousUserMixin(), Permission.CASE_CONTENT)


def test_forms_without_csrf_token_are_refused(client):
    user = UserFactory(roles=["sysadmin"])
    client.sign_in(user.username)
    response = client.post("/admin/agencies", data={"code": "x-unit", "name": "X", "kind": "audit"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    response = client.post("/admin/agencies", data={"code": "x-unit", "name": "X",
                                                    "kind": "audit", "csrf_token": "forged"})
    assert response.status_code == 400
    from supervise.accounts.models import Agency
    from supervise.extensions import db

    assert db.session.query(Agency).filter_by(code="x-unit").count() == 0


def test_sign_in_form_needs_csrf_too(client):
    UserFactory(username="wang")
    response = client.post("/login", data={"username": "wang", "password": "x"})
    assert response.status_code == 400


def test_every_form_on_every_page_carries_a_csrf_token(app, client):
    user = UserFactory(roles=["sysadmin"])
    client.sign_in(user.username)
    for url in ("/", "/admin/agencies", "/admin/users", f"/admin/users/{user.id}",
                f"/admin/agencies/{user.agency_id}", "/account/password"):
        html = client.get(url).get_data(as_text=True)
        for form in re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S):
            if re.search(r'method="get"', form):
                continue
            assert 'name="csrf_token"' in form, (url, form[:200])

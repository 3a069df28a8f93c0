"""A walk over every route of `app.url_map` as the demo accounts: the accounts signed in, the
rules each account's permissions admit, and each rule's path filled in from records the account
can reach. The hostile-input walk and the Chinese-interface walk share it."""

from __future__ import annotations

import sqlalchemy as sa

from supervise import policy
from supervise.accounts import auth
from supervise.accounts.models import Agency, CredentialKind, User
from supervise.attachments.models import Attachment
from supervise.extensions import db
from supervise.findings.models import Finding, FindingLink, Share
from supervise.policy import findings as finding_access
from supervise.policy import projects as project_access
from supervise.policy import rectifications as rectification_access
from supervise.policy import referrals as referral_access
from supervise.rectifications.models import Rectification, RectificationReport
from supervise.referrals.models import Extension, Referral
from supervise.settings.models import Category

DEMO_PASSWORD = "demo-pass-2026"


def seed_demo(app) -> None:
    """The demo district, made by the real `flask seed-demo`."""
    result = app.test_cli_runner().invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output


def fill(rule, values: dict) -> str | None:
    """The rule's address with these values (None if one is missing); a segment that takes
    one of a few words (werkzeug's `any`) gets the value given if it is one, else the first."""
    args = {}
    for name in rule.arguments:
        if name not in values:
            return None
        words = getattr(rule._converters.get(name), "items", None)
        args[name] = values[name] if words is None or values[name] in words else min(words)
    return rule.build(args, append_unknown=False)[1]


FINDING_ENDPOINTS = ("rectifications.issue", "rectifications_api.issue_rectification")


def record_kind(endpoint: str) -> str:
    blueprint = endpoint.split(".")[0].removesuffix("_api")
    if endpoint in FINDING_ENDPOINTS:
        return "findings"
    return blueprint


def path_values(user: User, endpoint: str) -> dict:
    """Ids of records this user can reach, for the kind of record the endpoint is about. The
    accounts and agencies named are ones whose change would not end the walk's own sessions."""
    street = db.session.scalar(sa.select(User).where(User.username == "street.contact"))
    values: dict = {"agency_id": street.agency_id, "user_id": street.id,
                    "code": db.session.scalar(sa.select(Category.code).order_by(Category.code)),
                    "attachment_id": "no-such-file",
                    # An audited unit (its dossier): the one the demo has the most about.
                    "unit": db.session.scalar(sa.select(Agency.code).join(
                        User, User.agency_id == Agency.id).where(
                        User.username == "unit.contact"))}
    kind = record_kind(endpoint)
    if kind == "findings":
        finding = db.session.scalar(finding_access.visible_findings(user).order_by(Finding.id))
        if finding is None:
            return values
        values.update(public_id=finding.public_id, finding_id=finding.public_id)
        values["attachment_id"] = db.session.scalar(sa.select(Attachment.public_id).where(
            Attachment.finding_id == finding.id)) or "no-such-file"
        values["share_id"] = db.session.scalar(sa.select(Share.public_id).where(
            Share.finding_id == finding.id)) or "no-such-share"
        link = db.session.scalar(sa.select(FindingLink).where(sa.or_(
            FindingLink.finding_id == finding.id, FindingLink.related_id == finding.id)))
        values["related_id"] = "no-such-finding"
        if link is not None:
            other = link.related_id if link.finding_id == finding.id else link.finding_id
            values["related_id"] = db.session.get(Finding, other).public_id
    elif kind == "referrals":
        referral = db.session.scalar(referral_access.visible_referrals(user).order_by(Referral.id))
        if referral is None:
            return values
        actions = referral_access.available_actions(user, referral)
        values.update(public_id=referral.public_id, referral_id=referral.public_id,
                      action=actions[0].value if actions else "chase", decision="approve")
        values["attachment_id"] = db.session.scalar(sa.select(Attachment.public_id).where(
            Attachment.referral_id == referral.id)) or "no-such-file"
        values["extension_id"] = db.session.scalar(sa.select(Extension.public_id).where(
            Extension.referral_id == referral.id)) or "no-such-extension"
    elif kind == "rectifications":
        rectification = db.session.scalar(
            rectification_access.visible_rectifications(user).order_by(Rectification.id))
        if rectification is None:
            return values
        actions = rectification_access.rectification_actions(user, rectification)
        values.update(public_id=rectification.public_id,
                      rectification_id=rectification.public_id,
                      action=actions[0].value if actions else "verify")
        values["attachment_id"] = db.session.scalar(
            sa.select(Attachment.public_id)
            .join(RectificationReport, Attachment.rectification_report_id == RectificationReport.id)
            .where(RectificationReport.rectification_id == rectification.id)) or "no-such-file"
    elif kind in ("projects", "announcements"):
        project = db.session.scalar(project_access.visible_projects(user))
        if project is not None:
            values["public_id"] = project.public_id
    return values


class Account:
    """A demo account signed in twice: a browser session and an API token."""

    def __init__(self, app, username: str | None):
        self.username = username
        self.user = None
        self.page = app.test_client()
        self.api_headers = {}
        if username:
            self.user = db.session.scalar(sa.select(User).where(User.username == username))
            response = self.page.sign_in(username, DEMO_PASSWORD)
            assert response.status_code == 302, username
            token, _credential = auth.issue_credential(self.user, CredentialKind.API)
            db.session.commit()
            self.api_headers = {"Authorization": f"Bearer {token}"}

    def send(self, request):
        """`request`: a method, url and kwargs (for a form, `form`: a dict or an encoded string)."""
        kwargs = dict(request.kwargs)
        if request.url.startswith("/api/"):
            kwargs["headers"] = {**self.api_headers, **kwargs.get("headers", {})}
        elif request.method != "GET" and "form" in kwargs:
            form = kwargs.pop("form")
            if isinstance(form, str):  # already encoded, as a browser would send it
                kwargs["data"] = f"csrf_token={self.page.csrf_token()}&{form}"
                kwargs["content_type"] = "application/x-www-form-urlencoded"
            else:
                kwargs["data"] = {**form, "csrf_token": self.page.csrf_token()}
        return self.page.open(request.url, method=request.method, **kwargs)


def admitted(app, account: Account, endpoint: str) -> bool:
    access = policy.access_for(endpoint)
    if access.public:
        return True
    return account.user is not None and access.permissions <= policy.permissions_of(account.user)


def routes(app):
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
            if rule.endpoint == "static":
                continue
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method, policy.access_for(rule.endpoint)

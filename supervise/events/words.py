"""The event log in words, for the audit administrator: what each action code means, what its
object is, and its details as a short list of "key: value".

The audit administrator reads the log and nothing of the cases (三员分立): an object is named by
what that reader may see of it — an account's display name, an agency's name, a category, a
setting, a year — and a case record (finding, referral, rectification item, project) only by its
public code, never by its title. Details are shown by a list of the keys that may be shown
(`DETAILS`); a key withheld from this reader is listed in `WITHHELD` (a disposition says what
became of a clue, an amount recovered is case content); any other key is not shown at all, so a
key added to an event tomorrow stays out until someone decides about it. Persons involved never
reach an event in the first place (`supervise.events.log.FORBIDDEN_DETAIL_KEYS`).

Every action recorded anywhere has a label: the steps of the three workflows take their record's
word and the step's own label; every other code is listed in `ACTIONS`. tests/events/test_words.py
collects the codes from the source and from the demo seed and fails on one without a label.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from supervise.accounts.models import Agency, AgencyKind, Role, User
from supervise.database import BEIJING_TIME
from supervise.documents.models import DocumentKind
from supervise.events.models import Event, Outcome
from supervise.extensions import db
from supervise.findings import workflow as finding_workflow
from supervise.findings.models import FindingStatus, Handling
from supervise.notifications.models import Kind as NotificationKind
from supervise.projects.models import ProjectKind
from supervise.rectifications import workflow as rectification_workflow
from supervise.rectifications.models import Plan, RectificationState
from supervise.referrals import workflow as referral_workflow
from supervise.referrals.models import ReferralKind, ReferralState
from supervise.settings.models import DEFINITIONS as SETTINGS
from supervise.settings.models import Category

# --- actions --------------------------------------------------------------------------------

# The codes that are not a workflow step, by area.
ACTIONS = {
    "auth.sign_in": _l("Sign-in"),
    "auth.sign_out": _l("Sign-out"),
    "auth.lock_out": _l("Sign-in locked after failed attempts"),
    "auth.unlock": _l("Sign-in lock lifted"),
    "auth.token_issued": _l("API token issued"),
    "auth.token_revoked": _l("API token revoked"),
    "auth.second_factor": _l("Second-factor code checked"),
    "access.denied": _l("Access refused"),
    "agency.create": _l("Agency created"),
    "agency.update": _l("Agency changed"),
    "agency.enable": _l("Agency enabled"),
    "agency.disable": _l("Agency disabled"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.email": _l("Email address changed"),
    "user.enable": _l("Account enabled"),
    "user.disable": _l("Account disabled"),
    "user.reset_password": _l("Password reset"),
    "user.request_password_reset": _l("Password reset requested, awaiting approval"),
    "user.approve_password_reset": _l("Password reset approved"),
    "user.refuse_password_reset": _l("Password reset refused"),
    "user.set_roles": _l("Roles changed"),
    "user.enrol_second_factor": _l("Second factor set up"),
    "user.recovery_code_used": _l("Recovery code used"),
    "user.reset_second_factor": _l("Second factor reset"),
    "user.end_session": _l("Own session or token ended"),
    "user.end_other_sessions": _l("Own other sessions and tokens ended"),
    "user.end_sessions": _l("Every session and token of the account ended"),
    "auth.session_limit": _l("Oldest sessions ended at the concurrent-session limit"),
    "user.resets_flagged": _l("Password and second factor reset within a day"),
    "user.password_check": _l("Current password checked"),
    "user.change_password": _l("Password changed"),
    "user.password_expired": _l("Password expired: to be changed at sign-in"),
    "notification.preferences": _l("Email preferences changed"),
    "settings.change": _l("Setting changed"),
    "settings.two_factor": _l("Who needs a second factor changed"),
    "category.create": _l("Finding category added"),
    "category.enable": _l("Finding category enabled"),
    "category.disable": _l("Finding category disabled"),
    "calendar.import": _l("Holiday arrangement entered"),
    "calendar.remove": _l("Holiday arrangement removed"),
    "project.create": _l("Project created"),
    "finding.create": _l("Finding: recorded"),
    "finding.import": _l("Findings: imported from a spreadsheet"),
    "finding.update": _l("Finding: changed"),
    "finding.read": _l("Finding: read"),
    "finding.comment": _l("Finding: comment added"),
    "finding.link": _l("Finding: linked to another finding"),
    "finding.unlink": _l("Finding: link removed"),
    "finding.share_withdraw": _l("Finding: share withdrawn"),
    "attachment.upload": _l("Attachment uploaded"),
    "attachment.copy": _l("Attachment copied to a revision"),
    "attachment.download": _l("Attachment downloaded"),
    "attachment.integrity_failed": _l("Attachment refused: the stored file was changed"),
    "announcement.publish": _l("Results announcement published"),
    "announcement.unpublish": _l("Results announcement withdrawn"),
    "referral.create": _l("Referral: drafted"),
    "referral.update": _l("Referral: draft changed"),
    "referral.read": _l("Referral: read"),
    "referral.person_lookup": _l("Referrals looked up by person involved"),
    "referral.recount": _l("Referral: deadline counted again"),
    "referral.escalate": _l("Referral: escalated"),
    "rectification.issue": _l("Rectification: issued to the unit"),
    "rectification.recount": _l("Rectification: deadline counted again"),
    "rectification.escalate": _l("Rectification: escalated"),
    "ledger.export": _l("Ledger exported"),
    "ledger.export_request": _l("Ledger requested, to be built in the background"),
    "ledger.export_build": _l("Ledger built in the background"),
    "ledger.export_download": _l("Ledger built in the background downloaded"),
    "ledger.export_fail": _l("Ledger could not be built in the background"),
    "ledger.export_delete": _l("Ledger built in the background deleted after its day"),
    "document.generate": _l("Official document made"),
    "document.convert": _l("Official document converted to PDF"),
    "document.template_replace": _l("Document template replaced"),
    "document.template_restore": _l("Document template back to the built-in one"),
    "document.prefix_update": _l("Document number prefixes changed"),
    "event.export": _l("Event log exported"),
    "event.export_check": _l("Export of the event log checked"),
}

# The workflows whose steps are recorded as `<name>.<action>` (supervise.workflow.Workflow), with
# the word for their record and their states.
WORKFLOWS = {
    "finding": (_l("Finding"), finding_workflow.TRANSITIONS, FindingStatus),
    "referral": (_l("Referral"), referral_workflow.TRANSITIONS, ReferralState),
    "rectification": (_l("Rectification"), rectification_workflow.TRANSITIONS,
                      RectificationState),
}

# The areas the action filter groups the codes in: the first part of a code.
AREAS = {
    "auth": _l("Sign-in"),
    "access": _l("Access"),
    "agency": _l("Agencies"),
    "user": _l("Accounts"),
    "notification": _l("Notifications"),
    "settings": _l("Settings"),
    "category": _l("Finding categories"),
    "calendar": _l("Working-day calendar"),
    "project": _l("Projects"),
    "finding": _l("Findings"),
    "attachment": _l("Attachments"),
    "announcement": _l("Results announcements"),
    "referral": _l("Referrals"),
    "rectification": _l("Rectification"),
    "ledger": _l("Ledgers"),
    "document": _l("Official documents"),
    "event": _l("Event log"),
}


def _step_label(record, action) -> str:
    return _("%(record)s: %(step)s", record=record, step=action.label)


def action_label(code: str) -> str | None:
    """The words for an action code, or None for a code nobody has named."""
    if code in ACTIONS:
        return str(ACTIONS[code])
    name, _dot, step = code.partition(".")
    if name in WORKFLOWS:
        record, transitions, _states = WORKFLOWS[name]
        for action in transitions:
            if action.value == step:
                return _step_label(record, action)
    return None


def all_actions() -> list[str]:
    """Every code the product records, by area: the named ones in their order, then the
    workflow steps in the order of their table."""
    codes = list(ACTIONS)
    for name, (_record, transitions, _states) in WORKFLOWS.items():
        codes += [f"{name}.{action.value}" for action in transitions
                  if f"{name}.{action.value}" not in ACTIONS]
    areas = list(AREAS)
    return sorted(codes, key=lambda c: areas.index(c.split(".")[0])
                  if c.split(".")[0] in AREAS else len(areas))


def action_choices() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The action filter's choices: (area prefix, area label, [(code, label)]) by area."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code in all_actions():
        groups.setdefault(code.split(".")[0], []).append((code, action_label(code) or code))
    return [(f"{area}.", str(AREAS.get(area, area)), codes) for area, codes in groups.items()]


# --- objects --------------------------------------------------------------------------------

OBJECT_TYPES = {
    "users": _l("User"),
    "agencies": _l("Agency"),
    "findings": _l("Finding"),
    "referrals": _l("Referral"),
    "rectifications": _l("Rectification item"),
    "projects": _l("Project"),
    "settings": _l("Setting"),
    "categories": _l("Finding category"),
    "calendar_years": _l("Working-day calendar"),
    "ledger": _l("Ledger"),
    "events": _l("Event log"),
    "document_templates": _l("Document template"),
    "finding_import": _l("Import of findings"),
}

LEDGERS = {
    "findings": _l("Findings ledger"),
    "referrals": _l("Referrals ledger"),
    "rectifications": _l("Rectification ledger"),
}

# Case records: named by their public code only.
CASE_RECORDS = frozenset({"findings", "referrals", "rectifications", "projects"})
STATES = {"findings": FindingStatus, "referrals": ReferralState,
          "rectifications": RectificationState}


# --- details --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    label: object
    kind: str = "text"  # how the value is written; see Describer.value
    enum: type | None = None


YES_NO = "yes_no"
AGENCY, AGENCIES = "agency", "agencies"
CODES = "codes"
TIME, DAY = "time", "day"
ENUM, ENUMS = "enum", "enums"
WORDS = "words"
FILTER = "filter"

REASONS = {
    "bad_credentials": _l("wrong user name or password"),
    "locked": _l("locked"),
    "disabled": _l("account disabled"),
}
LOCK_SCOPES = {
    "address": _l("this name from this address"),
    "name": _l("this name"),
    "address_all_names": _l("every name from this address"),
}
UNLOCKED_BY = {"sign_in": _l("the holder signed in")}
EXPORT_FAILURES = {
    "not_permitted": _l("the requester may no longer read this ledger"),
    "filter": _l("the filter no longer applies"),
    "error": _l("an error while building, three times"),
    "attempts": _l("three attempts did not finish"),
}
DECISIONS = {"approved": _l("Approved"), "refused": _l("Refused")}
CLOCKS = {"acknowledge": _l("Acknowledgement"), "answer": _l("Answer"),
          "report": _l("Rectification report")}
ESCALATION_STEPS = {
    "escalate_chase": _l("chased automatically, the sender's leader told"),
    "escalate_leader": _l("the receiver's leader told"),
}
FILTER_KEYS = {
    "scope": _l("Scope"), "unit": _l("Unit"), "project": _l("Project"), "year": _l("Year"),
    "category": _l("Category"), "q": _l("Search"), "sort": _l("Sort"), "role": _l("Role"),
    "state": _l("State"), "clock": _l("Deadline"), "actor": _l("User"),
    "action": _l("Action"), "outcome": _l("Outcome"), "object_type": _l("Object type"),
    "object_id": _l("Object id"), "ip": _l("IP"), "from": _l("From"), "to": _l("To"),
    "reads": _l("Reads"),
}
SENSITIVE_READS_WORDS = _l("Reads of sensitive records only")

# The fields of a finding or a referral, named in "fields changed" (what changed, never how).
FIELD_NAMES = {
    "unit": _l("Audited unit"), "project": _l("Project"), "title": _l("Title"),
    "facts": _l("Facts"), "category": _l("Category"), "amount": _l("Amount involved"),
    "legal_basis": _l("Legal basis"), "recommendation": _l("Recommendation"),
    "sensitivity": _l("Sensitivity"), "receiver": _l("Receiver"), "kind": _l("Kind"),
    "audit_scope": _l("When and what was audited"),
    "classification": _l("Classification and its basis"), "opinion": _l("Sender's opinion"),
    "basis": _l("Legal basis for referring"), "feedback_request": _l("Request to report back"),
    "persons_involved": _l("Persons involved"), "findings": _l("Findings"),
}

# A rule of who needs a second factor, as settings.two_factor names it ("scope:value").
TWO_FACTOR_RULES = {**{f"role:{r.value}": r.label for r in Role},
                    **{f"agency_kind:{k.value}": k.label for k in AgencyKind}}

# What each detail key is called and how its value is written, whichever event carries it.
DETAILS = {
    "username": Detail(_l("User name")),
    "code": Detail(_l("Code")),
    "name": Detail(_l("Name")),
    "name_en": Detail(_l("English name")),
    "display_name": Detail(_l("Display name")),
    "agency": Detail(_l("Agency"), AGENCY),
    "receiver": Detail(_l("Receiver"), AGENCY),
    "units": Detail(_l("Units"), AGENCIES),
    "role": Detail(_l("Role"), ENUM, Role),
    "added": Detail(_l("Roles added"), ENUMS, Role),
    "removed": Detail(_l("Roles removed"), ENUMS, Role),
    "seed": Detail(_l("Demo data"), YES_NO),
    "cli": Detail(_l("From the command line"), YES_NO),
    "set": Detail(_l("Address set"), YES_NO),
    "sessions_revoked": Detail(_l("Sessions ended"), "int"),
    "left": Detail(_l("Recovery codes left"), "int"),
    "lifetime_days": Detail(_l("Password lifetime (days)"), "int"),
    "requested_by": Detail(_l("Requested by")),
    "approved_by": Detail(_l("Approved by")),
    "earlier_approval_expired": Detail(_l("An earlier approval ran out unused"), YES_NO),
    "reason": Detail(_l("Reason"), WORDS, REASONS),
    "scope": Detail(_l("Locked"), WORDS, LOCK_SCOPES),
    "until": Detail(_l("Until"), TIME),
    "by": Detail(_l("How"), WORDS, UNLOCKED_BY),
    "credential": Detail(_l("Credential no."), "int"),
    "endpoint": Detail(_l("Page")),
    "method": Detail(_l("Method")),
    "email_off": Detail(_l("No email for"), ENUMS, NotificationKind),
    "year": Detail(_l("Year"), "int"),
    "holidays": Detail(_l("Holidays from Monday to Friday"), "int"),
    "workdays": Detail(_l("Weekend working days"), "int"),
    "weekend_holidays": Detail(_l("Holidays on a weekend"), "int"),
    "moved": Detail(_l("Deadlines counted again"), "int"),
    "findings": Detail(_l("Findings"), CODES),
    "finding": Detail(_l("Finding")),
    "related": Detail(_l("Related finding")),
    "previous": Detail(_l("Revises")),
    "revision": Detail(_l("Revision")),
    "project": Detail(_l("Project")),
    "share": Detail(_l("Share")),
    "attachment": Detail(_l("Attachment")),
    "extension": Detail(_l("Extension request")),
    "comment": Detail(_l("Comment no."), "int"),
    "fields": Detail(_l("Fields changed"), WORDS, FIELD_NAMES),
    "after_issue": Detail(_l("After issue"), YES_NO),
    "handling": Detail(_l("Handling"), ENUM, Handling),
    "plan": Detail(_l("Plan"), ENUM, Plan),
    "due": Detail(_l("Report by"), DAY),
    "final": Detail(_l("Final report"), YES_NO),
    "handler": Detail(_l("Handler")),
    "decision": Detail(_l("Decision"), WORDS, DECISIONS),
    "clock": Detail(_l("Deadline"), WORDS, CLOCKS),
    "step": Detail(_l("Escalation"), WORDS, ESCALATION_STEPS),
    "working_days": Detail(_l("Overdue by (working days)"), "int"),
    "sha256": Detail(_l("SHA-256")),
    "size": Detail(_l("Size (bytes)"), "int"),
    "type": Detail(_l("File type")),
    "from": Detail(_l("From")),
    "to": Detail(_l("To")),
    "items": Detail(_l("Results published"), "int"),
    "unverified": Detail(_l("Not yet verified"), "int"),
    "republished": Detail(_l("Published again"), YES_NO),
    "rows": Detail(_l("Rows"), "int"),
    "ended": Detail(_l("Ended"), "int"),
    "limit": Detail(_l("Limit"), "int"),
    "matched": Detail(_l("Rows as in the log"), "int"),
    "head": Detail(_l("Chain head (event no.)"), "int"),
    "format": Detail(_l("Format")),
    "found": Detail(_l("Referrals found"), "int"),
    "columns": Detail(_l("Columns"), "count"),
    "filter": Detail(_l("Filter"), FILTER),
    "export": Detail(_l("Export job")),
    "document": Detail(_l("Document")),
    "number": Detail(_l("Document number")),
    "version": Detail(_l("Version"), "int"),
    "imported": Detail(_l("Rows imported"), "int"),
    "refused": Detail(_l("Rows refused"), "int"),
}
# The same key meaning something else in one event.
ACTION_DETAILS = {
    ("project.create", "kind"): Detail(_l("Kind"), ENUM, ProjectKind),
    ("agency.create", "kind"): Detail(_l("Kind"), ENUM, AgencyKind),
    ("referral.create", "kind"): Detail(_l("Kind"), ENUM, ReferralKind),
    ("referral.request-extension", "until"): Detail(_l("Answer by"), DAY),
    ("attachment.copy", "from"): Detail(_l("Copied from")),
    ("document.generate", "kind"): Detail(_l("Kind"), ENUM, DocumentKind),
    ("document.template_replace", "kind"): Detail(_l("Kind"), ENUM, DocumentKind),
    ("document.template_restore", "kind"): Detail(_l("Kind"), ENUM, DocumentKind),
    ("document.prefix_update", "kind"): Detail(_l("Kind"), ENUM, DocumentKind),
    ("ledger.export_fail", "error"): Detail(_l("Reason"), WORDS, EXPORT_FAILURES),
    ("settings.two_factor", "added"): Detail(_l("Now need a second factor"), WORDS,
                                             TWO_FACTOR_RULES),
    ("settings.two_factor", "removed"): Detail(_l("No longer need a second factor"), WORDS,
                                               TWO_FACTOR_RULES),
}
# Keys some events carry that the audit administrator does not read: case content.
WITHHELD = frozenset({
    "disposition",  # what became of a clue (a case opened, say)
    "amount_recovered",  # money recovered by the unit
})
# Keys that come in pairs and read as one "before → after".
PAIRS = (("from", "to"),)


def parse_details(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _detail(action: str, key: str) -> Detail | None:
    return ACTION_DETAILS.get((action, key)) or DETAILS.get(key)


@dataclass(frozen=True)
class Described:
    """One event as the page and the export show it."""

    event: Event
    action: str
    actor: str
    agency: str
    object: str
    outcome: str
    details: list[tuple[str, str]]

    @property
    def details_text(self) -> str:
        return _("; ").join(_("%(key)s: %(value)s", key=k, value=v) for k, v in self.details)


class Describer:
    """Describes a batch of events, with the names they refer to read in a fixed number of
    statements (accounts, agencies, categories) whatever the size of the batch."""

    def __init__(self, events: Iterable[Event]):
        self.events = list(events)
        self.parsed = {e.seq: parse_details(e.details) for e in self.events}
        user_ids, agency_ids, agency_codes, category_codes = set(), set(), set(), set()
        for e in self.events:
            if e.actor_id is not None:
                user_ids.add(e.actor_id)
            if e.agency_code:
                agency_codes.add(e.agency_code)
            if e.object_type == "users" and (e.object_id or "").isdigit():
                user_ids.add(int(e.object_id))
            elif e.object_type == "agencies" and (e.object_id or "").isdigit():
                agency_ids.add(int(e.object_id))
            elif e.object_type == "categories" and e.object_id:
                category_codes.add(e.object_id)
            agency_codes |= self._agency_codes(e.action, self.parsed[e.seq])
        self.users = {}
        if user_ids:
            self.users = {row.id: row for row in db.session.execute(
                sa.select(User.id, User.username, User.display_name)
                .where(User.id.in_(user_ids)))}
        self.agencies_by_id, self.agencies_by_code = {}, {}
        if agency_ids or agency_codes:
            for row in db.session.execute(
                    sa.select(Agency.id, Agency.code, Agency.name).where(sa.or_(
                        Agency.id.in_(agency_ids), Agency.code.in_(agency_codes)))):
                self.agencies_by_id[row.id] = row.name
                self.agencies_by_code[row.code] = row.name
        self.categories = {}
        if category_codes:
            self.categories = {c.code: c.label for c in db.session.scalars(
                sa.select(Category).where(Category.code.in_(category_codes)))}

    @staticmethod
    def _agency_codes(action: str, details: dict) -> set[str]:
        codes = set()
        for key, value in details.items():
            detail = _detail(action, key)
            if detail is None:
                continue
            if isinstance(value, dict) and detail.kind != FILTER:
                value = [value.get("from"), value.get("to")]
            if detail.kind in (AGENCY, AGENCIES) or key == "agency":
                values = value if isinstance(value, list) else [value]
                codes |= {v for v in values if isinstance(v, str)}
            elif detail.kind == FILTER and isinstance(value, dict) \
                    and isinstance(value.get("unit"), str):
                codes.add(value["unit"])
        return codes

    def describe(self) -> list[Described]:
        return [self.one(e) for e in self.events]

    def one(self, e: Event) -> Described:
        return Described(
            event=e, action=action_label(e.action) or e.action, actor=self.actor(e),
            agency=self.agencies_by_code.get(e.agency_code or "", e.agency_code or ""),
            object=self.object(e), outcome=self.outcome(e),
            details=self.details(e, self.parsed[e.seq]))

    def user_name(self, user_id: int | None, fallback: str | None = None) -> str:
        row = self.users.get(user_id)
        if row is None:
            return fallback or ""
        return _("%(name)s (%(username)s)", name=row.display_name, username=row.username)

    def actor(self, e: Event) -> str:
        if e.actor_id is None and not e.actor_username:
            return ""
        return self.user_name(e.actor_id, e.actor_username)

    @staticmethod
    def outcome(e: Event) -> str:
        try:
            return Outcome(e.outcome).label
        except ValueError:
            return e.outcome

    def object(self, e: Event) -> str:
        if not e.object_type:
            return ""
        kind = OBJECT_TYPES.get(e.object_type, e.object_type)
        oid = e.object_id or ""
        if e.object_type == "users":
            name = self.user_name(int(oid), "#" + oid) if oid.isdigit() else oid
        elif e.object_type == "agencies":
            name = self.agencies_by_id.get(int(oid), "#" + oid) if oid.isdigit() else oid
        elif e.object_type == "settings":
            name = str(SETTINGS[oid].label) if oid in SETTINGS else oid
        elif e.object_type == "categories":
            name = self.categories.get(oid, oid)
        elif e.object_type == "ledger":
            name = str(LEDGERS.get(oid, oid))
        else:  # a case record: its public code, never its title
            name = oid
        return _("%(kind)s %(name)s", kind=kind, name=name).strip()

    # -- details --

    def details(self, e: Event, details: dict) -> list[tuple[str, str]]:
        shown = []
        done = set()
        for first, second in PAIRS:
            if first in details and second in details:
                shown.append(self._pair(e, details[first], details[second]))
                done |= {first, second}
        for key, value in details.items():
            if key in done or key in WITHHELD:
                continue
            detail = _detail(e.action, key)
            if detail is None:
                continue
            if isinstance(value, dict) and set(value) == {"from", "to"}:
                text = _("%(before)s → %(after)s",
                         before=self.value(detail, value["from"]) or "—",
                         after=self.value(detail, value["to"]) or "—")
            else:
                text = self.value(detail, value)
            if text != "":
                shown.append((str(detail.label), text))
        return shown

    def _pair(self, e: Event, before, after) -> tuple[str, str]:
        """A change of state (a workflow step), of a setting's value, or of a deadline."""
        if e.action.endswith(".recount"):
            label, detail = _("Deadline"), Detail("", DAY)
        elif e.action == "settings.change":
            label, detail = _("Value"), Detail("", "int")
        elif e.object_type in STATES:
            label, detail = _("State"), Detail("", ENUM, STATES[e.object_type])
        else:
            label, detail = _("Change"), Detail("")
        return label, _("%(before)s → %(after)s", before=self.value(detail, before) or "—",
                        after=self.value(detail, after) or "—")

    def value(self, detail: Detail, value) -> str:
        if value is None:
            return ""
        kind = detail.kind
        if kind == YES_NO:
            return _("yes") if value else _("no")
        if kind == "count":
            return str(len(value)) if isinstance(value, list) else str(value)
        if kind == AGENCY:
            return self.agencies_by_code.get(value, str(value))
        if kind == AGENCIES:
            values = value if isinstance(value, list) else [value]
            return _(", ").join(self.agencies_by_code.get(v, str(v)) for v in values)
        if kind == ENUM:
            return _enum_label(detail.enum, value)
        if kind == ENUMS:
            values = value if isinstance(value, list) else [value]
            return _(", ").join(_enum_label(detail.enum, v) for v in values) or _("none")
        if kind == WORDS:
            values = value if isinstance(value, list) else [value]
            return _(", ").join(str(detail.enum.get(v, v)) for v in values)
        if kind == CODES:
            values = value if isinstance(value, list) else [value]
            return _(", ").join(str(v) for v in values) or _("none")
        if kind == TIME:
            return _local_time(value)
        if kind == DAY:
            return _day(value)
        if kind == FILTER:
            return self._filter(value)
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    def _filter(self, value) -> str:
        if not isinstance(value, dict) or not value:
            return _("none")
        parts = []
        for key, given in value.items():
            if key == "q":
                given = _("given")
            elif key == "unit":
                given = self.agencies_by_code.get(given, given)
            elif key == "outcome":
                given = _enum_label(Outcome, given)
            parts.append(_("%(key)s = %(value)s", key=FILTER_KEYS.get(key, key), value=given))
        return _(", ").join(parts)


def _enum_label(enum, value) -> str:
    try:
        return enum(value).label
    except ValueError:
        return str(value)


def _local_time(value) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(BEIJING_TIME).strftime("%Y-%m-%d %H:%M")


def _day(value) -> str:
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        return str(value)

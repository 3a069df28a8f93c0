"""Referral pages: the sender's tracking board, the receiver's inbox, the leader's approval
queue, the referral with its clocks and timeline, and the forms that act on it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from supervise import policy
from supervise.accounts.models import Role, User
from supervise.attachments.web import serve
from supervise.errors import InvalidInput
from supervise.extensions import db
from supervise.findings.models import Finding
from supervise.pages import attempt, done, take_step
from supervise.pagination import paginate
from supervise.policy import Capability, Permission
from supervise.policy import findings as finding_access
from supervise.policy import referrals as referral_access
from supervise.referrals import operations, queries
from supervise.referrals.models import Referral, ReferralKind, ReferralState, dispositions_for
from supervise.referrals.workflow import Action
from supervise.web import current_actor
from supervise.workflow import step_labels

blueprint = Blueprint("referrals", __name__)
S = ReferralState


# The board's own arguments: a chaser sent from the board comes back to the same view of it.
BOARD_ARGS = ("state", "clock", "page")


def _board_args(args) -> dict:
    return {name: args[name] for name in BOARD_ARGS if args.get(name)}


# The text a chaser starts from, by what it asks for; the sender edits it before sending.
CHASE_TEXT = {
    S.SENT: _l("Please acknowledge this referral before its deadline."),
    S.ACKNOWLEDGED: _l("Please handle this referral and answer in writing before the answer "
                       "deadline."),
    S.IN_HANDLING: _l("Please handle this referral and answer in writing before the answer "
                      "deadline."),
}


@blueprint.app_template_global()
def chase_text(referral) -> str:
    return str(CHASE_TEXT.get(referral.state, ""))


def _rows(user, referrals):
    """What every list row shows beside the referral: its clocks, its chasers, and whether the
    user may chase it from the list."""
    chasers = queries.chasers(r.id for r in referrals)
    return [(r, queries.clocks(r), chasers.get(r.id),
             referral_access.may_take_now(user, r, Action.CHASE)) for r in referrals]


# --- lists --------------------------------------------------------------------------------

@blueprint.route("/referrals")
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def board():
    """Every referral the agency sent, counted and filtered by state and clock, or what waits
    for the agency (`need`, as the to-do centre counts it)."""
    user = current_actor()
    state, clock = request.args.get("state", ""), request.args.get("clock", "")
    need, errors = _need(request.args, "sent")
    if state and state not in {s.value for s in S}:
        errors.append(_("Unknown state."))
    if clock and clock not in queries.CLOCK_FILTERS:
        errors.append(_("Unknown clock filter."))
    sent = queries.sent_by(user)
    if errors:
        query = sent.where(sa.false())
    elif need:
        query = queries.needing(user, need)
    else:
        query = queries.filtered(user, role="sent", state=state, clock=clock)
    page = paginate(queries.for_list(query).order_by(Referral.created_at.desc(),
                                                     Referral.id.desc()))
    return render_template("referrals/board.html", rows=_rows(user, page.items), page=page,
                           state=state, clock=clock, need=need and queries.NEEDS[need],
                           errors=errors, states=list(S), state_counts=queries.state_counts(sent),
                           clock_counts=queries.clock_counts(sent),
                           board_args=_board_args(request.args)), 400 if errors else 200


def _need(args, side: str) -> tuple[str, list[str]]:
    """The `need` a list was asked for, if it is one of this side's."""
    need = args.get("need", "")
    if need and (need not in queries.NEEDS or queries.NEEDS[need].side != side):
        return "", [_("Unknown filter.")]
    return need, []


# Each tab: which received referrals it lists (None: all), and in what order.
INBOX_TABS = {
    "all": (None, (Referral.sent_at.desc(), Referral.id.desc())),
    "acknowledge": (lambda now: Referral.state == S.SENT,
                    (Referral.acknowledge_by.asc(), Referral.id)),
    "handling": (lambda now: Referral.state.in_((S.ACKNOWLEDGED, S.IN_HANDLING)),
                 (Referral.answer_by.asc(), Referral.id)),
    "due_soon": (queries.due_soon_clause, (Referral.answer_by.asc(), Referral.id)),
    "overdue": (queries.overdue_clause, (Referral.answer_by.asc(), Referral.id)),
    "answered": (lambda now: Referral.state.in_((S.ANSWERED, S.CLOSED)),
                 (Referral.answered_at.desc(), Referral.id.desc())),
    "returned": (lambda now: Referral.state.in_((S.RETURNED, S.WITHDRAWN)),
                 (Referral.sent_at.desc(), Referral.id.desc())),
}


@blueprint.route("/referrals/inbox")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def inbox():
    """What other agencies referred to the user's agency, by what needs doing; or one thing
    that waits (`need`, as the to-do centre counts it)."""
    from supervise.database import now_utc

    user = current_actor()
    tab = request.args.get("tab", "acknowledge")
    if tab not in INBOX_TABS:
        tab = "acknowledge"
    need, errors = _need(request.args, "received")
    text, mine = (request.args.get("q") or "").strip(), request.args.get("mine") == "1"
    if len(text) > 200:
        errors.append(_("Too long: at most %(n)d characters.", n=200))
    now = now_utc()
    received = queries.received_by(user)
    if text and not errors:
        received = received.where(queries.text_clause(text))
    if mine:
        received = received.where(Referral.handler_id == user.id)
    narrow, order = INBOX_TABS[tab]
    query = queries.needing(user, need, now) if need else \
        received.where(narrow(now)) if narrow else received
    if errors:
        query = received.where(sa.false())
    # Every tab's count in one pass over the agency's received referrals.
    counted = db.session.execute(received.order_by(None).with_only_columns(*(
        sa.func.count().filter(narrow(now)) if narrow else sa.func.count()
        for narrow, _order in INBOX_TABS.values()))).one()
    counts = dict(zip(INBOX_TABS, counted, strict=True))
    page = paginate(queries.for_list(query).order_by(*order),
                    total=None if need or errors else counts[tab])
    return render_template("referrals/inbox.html", rows=_rows(user, page.items), page=page,
                           tab=None if need else tab, need=need and queries.NEEDS[need],
                           counts=counts, errors=errors, q=text, mine=mine), \
        400 if errors else 200


# The most rows a lookup by person shows: a person is named in a few referrals, not hundreds.
NAMED_LIMIT = 100


@blueprint.route("/referrals/named", methods=["GET", "POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def named():
    """The referrals the agency sent or received that name a person involved. The name is
    posted, never put in a URL (which logs keep); the lookup is recorded without it."""
    user = current_actor()
    name, rows, found, errors = "", None, 0, []
    if request.method == "POST":
        try:
            query, found = operations.find_by_person(user, request.form.get("name"))
        except InvalidInput as exc:
            db.session.rollback()
            errors = [str(message) for message in exc.errors.values()]
        else:
            db.session.commit()
            name = request.form["name"].strip()
            rows = _rows(user, list(db.session.scalars(
                queries.for_list(query).order_by(Referral.created_at.desc(), Referral.id.desc())
                .limit(NAMED_LIMIT)).unique()))
    return render_template("referrals/named.html", name=name, rows=rows, found=found,
                           limit=NAMED_LIMIT, errors=errors), 422 if errors else 200


# --- create and edit ----------------------------------------------------------------------

def _persons_from_text(text: str) -> list[dict]:
    """One person a line: the name, then the position after a space or a tab."""
    persons = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        name, _sep, position = line.replace("\t", " ").partition(" ")
        persons.append({"name": name.strip(), "position": position.strip()})
    return persons


def _form_data() -> dict:
    form = request.form
    data = {name: form.get(name, "") for name in (
        "receiver", "kind", "title", "audit_scope", "facts", "classification", "opinion",
        "basis", "feedback_request")}
    data["persons_involved"] = _persons_from_text(form.get("persons", ""))
    data["findings"] = form.getlist("findings")
    return data


def _form_choices(user, referral: Referral | None):
    receivers = db.session.scalars(policy.case_partners(user)).all()
    findings = db.session.scalars(sa.select(Finding).where(
        finding_access.referrable_findings_clause(user)).order_by(Finding.created_at.desc())
        .limit(300)).all()
    return {"receivers": receivers, "findings": findings, "kinds": list(ReferralKind)}


def _form_page(user, referral: Referral | None, values, operate, success):
    """The referral form, new or of a draft: shown with `values()`; posted, `operate(data)`
    runs and the referral's page follows with `success(result)`, or the form again with why
    not."""
    def show(status, errors, shown):
        return render_template("referrals/form.html", referral=referral, values=shown,
                               errors=errors, **_form_choices(user, referral)), status

    if request.method != "POST":
        return show(200, {}, values())
    data = _form_data()
    return attempt(
        lambda: operate(data),
        done=lambda result: done(success(result), url_for(
            "referrals.referral", public_id=(referral or result).public_id)),
        show=lambda status, errors: show(status, errors, {**request.form,
                                                          "findings": data["findings"]}))


@blueprint.route("/referrals/new", methods=["GET", "POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def new():
    user = current_actor()

    def values():
        prefilled = {"kind": "clue", "findings": [], "receiver": "discipline"}
        finding_id = request.args.get("finding")
        if finding_id:
            finding = db.session.scalar(sa.select(Finding).where(
                Finding.public_id == finding_id,
                finding_access.referrable_findings_clause(user)))
            if finding is None:
                abort(404)
            prefilled.update(title=finding.title, facts=finding.facts,
                             classification=finding.legal_basis, findings=[finding.public_id],
                             audit_scope=str(finding.project or ""))
        return prefilled

    return _form_page(
        user, None, values, lambda data: operations.create_referral(user, data),
        lambda _referral: _("Referral saved as a draft. Submit it for your leader's approval."))


@blueprint.route("/referrals/<public_id>/edit", methods=["GET", "POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def edit(public_id: str):
    user = current_actor()
    referral = referral_access.referral_or_404(user, public_id, for_update=request.method == "POST")
    if not referral_access.may_edit(user, referral):
        abort(403)

    def values():
        shown = {name: getattr(referral, name) for name in (
            "kind", "title", "audit_scope", "facts", "classification", "opinion", "basis",
            "feedback_request")}
        shown.update(receiver=referral.receiver_agency.code, version=referral.version,
                     persons="\n".join(f"{p.name} {p.title}".strip() for p in referral.persons),
                     findings=[f.public_id for f in referral.findings])
        return shown

    return _form_page(
        user, referral, values,
        lambda data: operations.update_referral(user, referral, data, request.form.get("version")),
        lambda changed: _("Saved.") if changed else _("Nothing was changed."))


# --- a referral ---------------------------------------------------------------------------

def _detail(referral: Referral, status: int = 200, errors: dict | None = None):
    user = current_actor()
    entries = referral_access.timeline_for(user, referral)
    handlers = []
    if Action.ASSIGN in referral_access.available_actions(user, referral):
        handlers = db.session.scalars(sa.select(User).where(
            User.agency_id == referral.receiver_agency_id, User.active.is_(True),
            User.role_rows.any()).order_by(User.display_name)).all()
        handlers = [u for u in handlers if u.roles & {Role.STAFF, Role.LEADER}]
    return render_template(
        "referrals/detail.html", referral=referral, clocks=queries.clocks(referral),
        entries=entries, actions=referral_access.available_actions(user, referral),
        parties=referral_access.parties(user, referral), handlers=handlers,
        dispositions=dispositions_for(referral.receiver_agency.kind), errors=errors or {},
        canonical_url=url_for("referrals.referral", public_id=referral.public_id),
        pending_extension=next((e for e in referral.extensions if e.decision is None), None),
        **step_labels(Action, S, create=_("Drafted"), sent=_("Sent to the receiver"),
                      escalate=_("Escalated to the leader"),
                      recount=_("Deadline counted again")),
    ), status


@blueprint.route("/referrals/<public_id>")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def referral(public_id: str):
    user = current_actor()
    referral = operations.open_referral(user, public_id)
    db.session.commit()
    return _detail(referral)


@blueprint.route("/referrals/<public_id>/act/<action>", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def act(public_id: str, action: str):
    user = current_actor()
    referral = referral_access.referral_or_404(user, public_id, for_update=True)

    def next_url(step):
        if step.action == Action.REVISE:
            return url_for("referrals.edit", public_id=referral.revision.public_id)
        if request.form.get("next") == "board":
            return url_for("referrals.board", **_board_args(request.args))
        return url_for("referrals.referral", public_id=public_id)

    return take_step(
        lambda data, version: operations.take_action(user, referral, action, data, version),
        operations.ActionInput, next_url=next_url,
        show=lambda status, errors: _detail(
            referral_access.referral_or_404(user, public_id), status, errors))


@blueprint.route("/referrals/<public_id>/attachments", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def upload(public_id: str):
    user = current_actor()
    referral = referral_access.referral_or_404(user, public_id, for_update=True)
    return attempt(
        lambda: operations.add_attachment(user, referral, request.files.get("file")),
        done=lambda _result: done(_("Evidence uploaded."),
                                  url_for("referrals.referral", public_id=public_id)),
        show=lambda status, _errors: _detail(referral_access.referral_or_404(user, public_id),
                                             status),
        flash_invalid=True, invalid_status=422)


@blueprint.route("/referrals/<public_id>/attachments/<attachment_id>")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def download(public_id: str, attachment_id: str):
    user = current_actor()
    return serve(user, *referral_access.attachment_or_404(user, public_id, attachment_id))

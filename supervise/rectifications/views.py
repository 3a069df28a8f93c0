"""Rectification pages: the issuing agency's list and items, and the audited unit's portal —
the same pages, shaped by what each reader may see."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from supervise import policy
from supervise.attachments.web import serve
from supervise.pages import AllowList, attempt, done, take_step
from supervise.pagination import paginate
from supervise.policy import Capability, Permission
from supervise.policy import findings as finding_access
from supervise.policy import rectifications as rectification_access
from supervise.rectifications import operations, queries
from supervise.rectifications.models import Plan, RectificationState
from supervise.rectifications.workflow import Action
from supervise.web import current_actor
from supervise.workflow import step_labels

blueprint = Blueprint("rectifications", __name__)

# What the audited unit's pages show of an item (its API view is schemas.UNIT_VIEW): the text as
# issued, plan, state, clock, its reports and the history's steps without the people who took
# them. Nothing of the finding.
UNIT_PAGE = {
    "public_id": None, "version": None, "title": None, "state": None, "plan": None,
    "owner_agency": {"name": None}, "issued_at": None, "due_at": None,
    "calendar_complete": None, "amount": None, "amount_recovered": None, "signed_off_at": None,
    "facts": None, "legal_basis": None, "recommendation": None,
    "reports": {"final": None, "submitted_by": {"display_name": None}, "submitted_at": None,
                "measures": None, "amount_recovered": None, "rules": None,
                "attachments": {"public_id": None, "filename": None}},
    "steps": {"action": None, "from_state": None, "to_state": None, "agency": {"name": None},
              "at": None, "comment": None},
}


def _shown(user, rectification):
    """The item as the page may show it to this user: through UNIT_PAGE for the unit."""
    return AllowList(rectification, UNIT_PAGE) if policy.is_unit_contact(user) else rectification


@blueprint.route("/rectifications")
@policy.requires(Permission.CASE_CONTENT, Capability.RECTIFICATION)
def rectifications():
    user = current_actor()
    args = {name: (request.args.get(name) or "").strip() for name in ("state", "clock", "unit")}
    errors = []
    if args["state"] and args["state"] not in {s.value for s in RectificationState}:
        errors.append(_("Unknown state."))
    if args["clock"] and args["clock"] not in queries.CLOCK_FILTERS:
        errors.append(_("Unknown clock filter."))
    query = queries.filtered(user, **args) if not errors else \
        rectification_access.visible_rectifications(user).where(False)
    page = paginate(queries.for_list(query))
    unit_view = policy.is_unit_contact(user)
    counts = queries.state_counts(user, clock=args["clock"], unit=args["unit"]) \
        if not errors else dict.fromkeys(RectificationState, 0)
    return render_template("rectifications/list.html", page=page, args=args, errors=errors,
                           rows=[(_shown(user, r), queries.clock(r)) for r in page.items],
                           states=list(RectificationState), unit_view=unit_view,
                           counts=counts, units=[] if unit_view else queries.units(user)), \
        400 if errors else 200


@blueprint.route("/findings/<public_id>/rectification", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.RECTIFICATION)
def issue(public_id: str):
    user = current_actor()
    finding = finding_access.finding_or_404(user, public_id, for_update=True)
    return attempt(
        lambda: operations.issue_rectification(user, finding, request.form.get("plan"),
                                               request.form.get("due_at")),
        done=lambda r: done(_("Issued to %(unit)s for rectification.", unit=r.unit.name),
                            url_for("rectifications.rectification", public_id=r.public_id)),
        show=lambda _status, _errors: redirect(
            url_for("findings.finding", public_id=public_id) + "#rectification"),
        flash_invalid=True)


def _detail(rectification, status: int = 200, errors: dict | None = None):
    user = current_actor()
    return render_template(
        "rectifications/detail.html", r=_shown(user, rectification),
        steps=[AllowList(s, UNIT_PAGE["steps"]) if policy.is_unit_contact(user) else s
               for s in rectification_access.steps_for(user, rectification)],
        canonical_url=url_for("rectifications.rectification", public_id=rectification.public_id),
        clock=queries.clock(rectification),
        actions=rectification_access.rectification_actions(user, rectification),
        unit_view=policy.is_unit_contact(user), errors=errors or {}, plans=list(Plan),
        **step_labels(Action, RectificationState, issue=_("Issued for rectification"),
                      escalate=_("Escalated to the leader"),
                      recount=_("Deadline counted again")),
    ), status


@blueprint.route("/rectifications/<public_id>")
@policy.requires(Permission.CASE_CONTENT, Capability.RECTIFICATION)
def rectification(public_id: str):
    user = current_actor()
    return _detail(rectification_access.rectification_or_404(user, public_id))


@blueprint.route("/rectifications/<public_id>/act/<action>", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.RECTIFICATION)
def act(public_id: str, action: str):
    user = current_actor()
    rectification = rectification_access.rectification_or_404(user, public_id, for_update=True)
    return take_step(
        lambda data, version: operations.take_action(user, rectification, action, data, version),
        operations.ActionInput,
        next_url=lambda _step: url_for("rectifications.rectification", public_id=public_id),
        show=lambda status, errors: _detail(
            rectification_access.rectification_or_404(user, public_id), status, errors))


@blueprint.route("/rectifications/<public_id>/attachments/<attachment_id>")
@policy.requires(Permission.CASE_CONTENT, Capability.RECTIFICATION)
def download(public_id: str, attachment_id: str):
    user = current_actor()
    return serve(user, *rectification_access.attachment_or_404(user, public_id, attachment_id))

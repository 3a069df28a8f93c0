"""Rectification pages: the issuing agency's list and items, and the audited unit's portal —
the same pages, shaped by what each reader may see."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from supervise import policy
from supervise.attachments.web import send_attachment
from supervise.errors import InvalidInput, OperationError
from supervise.extensions import db
from supervise.pagination import paginate
from supervise.policy import Permission
from supervise.rectifications import operations, queries
from supervise.rectifications.models import Plan, RectificationState
from supervise.rectifications.workflow import Action

blueprint = Blueprint("rectifications", __name__)


def _reader():
    user = current_user._get_current_object()
    if not (policy.reads_cases(user) or policy.is_unit_contact(user)):
        abort(404)
    return user


@blueprint.route("/rectifications")
@policy.requires(Permission.CASE_CONTENT)
def rectifications():
    user = _reader()
    args = {name: (request.args.get(name) or "").strip() for name in ("state", "clock", "unit")}
    errors = []
    if args["state"] and args["state"] not in {s.value for s in RectificationState}:
        errors.append(_("Unknown state."))
    if args["clock"] and args["clock"] not in queries.CLOCK_FILTERS:
        errors.append(_("Unknown clock filter."))
    query = queries.filtered(user, **args) if not errors else \
        policy.visible_rectifications(user).where(False)
    page = paginate(queries.for_list(query))
    unit_view = policy.is_unit_contact(user)
    return render_template("rectifications/list.html", page=page, args=args, errors=errors,
                           rows=[(r, queries.clock(r)) for r in page.items],
                           states=list(RectificationState), unit_view=unit_view), \
        400 if errors else 200


@blueprint.route("/findings/<public_id>/rectification", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT)
def issue(public_id: str):
    user = _reader()
    finding = policy.finding_or_404(user, public_id, for_update=True)
    try:
        rectification = operations.issue_rectification(user, finding, request.form.get("plan"),
                                                        request.form.get("due_at"))
        db.session.commit()
    except OperationError as exc:
        db.session.rollback()
        message = " ".join(exc.errors.values()) if isinstance(exc, InvalidInput) else exc.message
        flash(message, "error")
        return redirect(url_for("findings.finding", public_id=public_id) + "#rectification")
    flash(_("Issued to %(unit)s for rectification.", unit=rectification.unit.name), "success")
    return redirect(url_for("rectifications.rectification",
                            public_id=rectification.public_id))


def _detail(rectification, status: int = 200, errors: dict | None = None):
    user = current_user._get_current_object()
    return render_template(
        "rectifications/detail.html", r=rectification, clock=queries.clock(rectification),
        actions=policy.rectification_actions(user, rectification),
        unit_view=policy.is_unit_contact(user), errors=errors or {}, plans=list(Plan),
        action_labels={a.value: a.label for a in Action} | {"issue": _("Issued")},
        state_labels={s.value: s.label for s in RectificationState},
    ), status


@blueprint.route("/rectifications/<public_id>")
@policy.requires(Permission.CASE_CONTENT)
def rectification(public_id: str):
    user = _reader()
    return _detail(policy.rectification_or_404(user, public_id))


@blueprint.route("/rectifications/<public_id>/act/<action>", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT)
def act(public_id: str, action: str):
    user = _reader()
    rectification = policy.rectification_or_404(user, public_id, for_update=True)
    form = request.form
    data = operations.ActionInput(
        comment=form.get("comment", ""), reason=form.get("reason", ""),
        measures=form.get("measures", ""), amount_recovered=form.get("amount_recovered", ""),
        rules=form.get("rules", ""), final=form.get("final") == "1",
        files=tuple(f for f in request.files.getlist("files") if f and f.filename))
    try:
        operations.take_action(user, rectification, action, data, form.get("version"))
        db.session.commit()
    except InvalidInput as exc:
        db.session.rollback()
        flash(" ".join(exc.errors.values()), "error")
        return _detail(policy.rectification_or_404(user, public_id), 400, exc.errors)
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _detail(policy.rectification_or_404(user, public_id), exc.status)
    flash(_("Done: %(action)s.", action=Action(action).label), "success")
    return redirect(url_for("rectifications.rectification", public_id=public_id))


@blueprint.route("/rectifications/<public_id>/attachments/<attachment_id>")
@policy.requires(Permission.CASE_CONTENT)
def download(public_id: str, attachment_id: str):
    user = _reader()
    rectification = policy.rectification_or_404(user, public_id)
    attachment = next((a for report in rectification.reports for a in report.attachments
                       if a.public_id == attachment_id), None)
    if attachment is None:
        abort(404)
    response = send_attachment(attachment)
    operations.record_download(user, rectification, attachment)
    db.session.commit()
    return response

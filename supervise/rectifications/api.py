"""Rectification under /api/v1: issuing a finding to its audited unit, the unit's reports, and
the issuing agency's verification up to sign-off (销号).

Each view finds the record through `supervise.policy` (a rectification item outside the caller's
reach answers 404: the audited unit's contact reaches its own unit's items only), calls one
operation, which checks the party, the state, the version and the input against the workflow
table and records its event, and commits once. Steps load the item FOR UPDATE, so that of two
simultaneous steps one waits for the other and then finds the state it left.

Answers are role-shaped (see `schemas`): the unit's contact reads the text issued to it, its
clock and its own reports, never the finding, the history or the issuing agency's people.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from supervise import policy
from supervise.accounts.models import User
from supervise.attachments.web import serve
from supervise.errors import InvalidInput
from supervise.extensions import db
from supervise.pagination import count
from supervise.policy import Permission
from supervise.policy import findings as finding_access
from supervise.policy import rectifications as rectification_access
from supervise.rectifications import operations, queries
from supervise.rectifications.models import (
    Rectification,
    RectificationReport,
    RectificationStep,
)
from supervise.rectifications.schemas import (
    RectificationActionSchema,
    RectificationDetailSchema,
    RectificationIssueSchema,
    RectificationPageSchema,
    RectificationQuerySchema,
    RectificationReportFormSchema,
    RectificationReportRequestSchema,
    audience,
    dump_for,
    dump_list_for,
)
from supervise.rectifications.workflow import Action
from supervise.web import JSON, MULTIPART, Blueprint, accepts, current_actor, one_of

blueprint = Blueprint("rectifications_api", __name__, description="Rectification to sign-off")

# The issuing agency's steps, named in the URL: /rectifications/<id>/<action>. The unit's report
# has a resource of its own (/reports); anything else answers 404.
URL_ACTIONS = {a.value: a for a in Action if a != Action.REPORT}

ROLE_SHAPED = ("Role-shaped: the audited unit's contact gets the text issued to it, plan, state, "
               "due_at, clock, calendar_complete, its reports, messages and actions only.")


def _loaded(rectification: Rectification, user: User) -> Rectification:
    """The item with all that the caller's view shows loaded in a few statements; the issuing
    agency's history and people only for the issuing agency."""
    reports = selectinload(Rectification.reports)
    steps = selectinload(Rectification.steps)
    options = [joinedload(Rectification.unit), joinedload(Rectification.owner_agency),
               reports.selectinload(RectificationReport.attachments),
               steps.joinedload(RectificationStep.actor)]
    if audience(user) == "owner":
        options += [joinedload(Rectification.finding), joinedload(Rectification.issued_by),
                    joinedload(Rectification.signed_off_by),
                    reports.joinedload(RectificationReport.submitted_by),
                    steps.joinedload(RectificationStep.agency)]
    return db.session.scalars(
        sa.select(Rectification).where(Rectification.id == rectification.id)
        .options(*options).execution_options(populate_existing=True)).one()


def _answer(user: User, rectification: Rectification, status: int = 200):
    """The item as this caller may read it. Returned as a response of its own: the schema of
    the decorator documents the issuing agency's view, and would show the unit too much."""
    response = jsonify(dump_for(user, _loaded(rectification, user)))
    response.status_code = status
    return response


# --- issuing --------------------------------------------------------------------------------


@blueprint.route("/findings/<pid:finding_id>/rectification", methods=["POST"])
@blueprint.arguments(RectificationIssueSchema)
@blueprint.response(201, RectificationDetailSchema)
@policy.requires(Permission.CASE_CONTENT)
def issue_rectification(data, finding_id):
    """Issue an issued finding of the caller's agency to its audited unit for rectification,
    with a plan and a report-by date (by default from the settings, moved to a working day).
    403 for a finding the caller sees but does not own, 409 for a draft finding or one issued
    for rectification already, 422 for a bad plan or a date not after today."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id, for_update=True)
    rectification = operations.issue_rectification(user, finding, data["plan"],
                                                    data.get("due_at"))
    db.session.commit()
    return _answer(user, rectification, 201)


# --- lists and reading ----------------------------------------------------------------------


@blueprint.route("/rectifications", methods=["GET"])
@blueprint.arguments(RectificationQuerySchema, location="query")
@blueprint.response(200, RectificationPageSchema)
@policy.requires(Permission.CASE_CONTENT)
def list_rectifications(args):
    """Rectification items the caller's agency issued; for an audited unit's contact, its own
    unit's items. Earliest report-by date first.

    Filters: `state`, `clock` (due_soon|overdue: a running clock), `unit` (code of the audited
    unit). Rows leave out the long texts, the reports and the history: open an item to read
    them. The unit's rows hold id, title, amount, plan, state, due_at, clock and
    calendar_complete only.
    """
    user = current_actor()
    query = queries.filtered(user, state=args.get("state", ""), clock=args.get("clock", ""),
                             unit=args.get("unit", ""))
    page, per_page = args["page"], args["per_page"]
    total = count(query)
    rows = queries.for_list(query)
    if audience(user) == "owner":
        rows = rows.options(selectinload(Rectification.finding))
    items = list(db.session.scalars(rows.limit(per_page).offset((page - 1) * per_page)))
    return jsonify({"items": dump_list_for(user, items), "page": page, "per_page": per_page,
                    "total": total})


@blueprint.route("/rectifications/<rectification_id>", methods=["GET"])
@blueprint.response(200, RectificationDetailSchema, description=ROLE_SHAPED)
@policy.requires(Permission.CASE_CONTENT)
def get_rectification(rectification_id):
    """A rectification item: for the issuing agency all of it, with the history; for the
    audited unit's contact the text issued to it, its clock, its reports and the send-backs and
    chasers addressed to it."""
    user = current_actor()
    return _answer(user, rectification_access.rectification_or_404(user, rectification_id))


@blueprint.route("/rectifications/<rectification_id>/attachments/<attachment_id>",
                 methods=["GET"])
@blueprint.response(200, description="The file, as an attachment",
                    content_type="application/octet-stream")
@policy.requires(Permission.CASE_CONTENT)
def download_attachment(rectification_id, attachment_id):
    """Download an evidence file sent with one of the item's reports."""
    user = current_actor()
    return serve(user, *rectification_access.attachment_or_404(user, rectification_id,
                                                                attachment_id))


# --- the workflow ---------------------------------------------------------------------------


@blueprint.route("/rectifications/<rectification_id>/reports", methods=["POST"])
@blueprint.arguments(RectificationReportRequestSchema, required=False)
@blueprint.response(201, RectificationDetailSchema, description=ROLE_SHAPED)
@policy.requires(Permission.CASE_CONTENT)
@accepts(JSON, MULTIPART)
def submit_report(data, rectification_id):
    """A progress report of the audited unit's contact: `measures` taken (required),
    `amount_recovered` (money recovered or returned, a string such as "1234.56"), `rules` made
    or mended, and `final` when the work is done, which puts the item up for verification.
    Evidence goes as multipart/form-data: the same fields, and the files in `files`. 403 for
    anyone but the unit, 409 once the item is no longer open for reports."""
    user = current_actor()
    files = ()
    if request.mimetype == "multipart/form-data":
        data = blueprint.ARGUMENTS_PARSER.parse(RectificationReportFormSchema, location="form")
        files = tuple(f for f in request.files.getlist("files") if f.filename)
        unknown = set(request.files) - {"files"}
        if unknown:
            raise InvalidInput({name: _("Unknown field.") for name in sorted(unknown)})
    rectification = rectification_access.rectification_or_404(user, rectification_id,
                                                              for_update=True)
    version = data.pop("version", None)
    inputs = operations.ActionInput(
        measures=data.get("measures") or "", amount_recovered=data.get("amount_recovered"),
        rules=data.get("rules") or "", final=bool(data.get("final")), files=files)
    operations.take_action(user, rectification, Action.REPORT, inputs, version)
    db.session.commit()
    return _answer(user, rectification, 201)


@blueprint.route(f"/rectifications/<rectification_id>/<{one_of(URL_ACTIONS)}:action>",
                 methods=["POST"])
@blueprint.arguments(RectificationActionSchema, required=False)
@blueprint.response(200, RectificationDetailSchema)
@policy.requires(Permission.CASE_CONTENT)
def take_action(data, rectification_id, action):
    """A step of the issuing agency: `verify` a final report, request `sign-off`, the leader's
    `approve-sign-off` (销号), `send-back` for rework (a `reason` is required), `chase` the unit
    (a `comment` is required). Each may carry a `comment` and the `version` read. 403 if the step
    is another party's, 409 if the item is not in a state the step starts from, 422 for missing
    or bad input."""
    user = current_actor()
    rectification = rectification_access.rectification_or_404(user, rectification_id,
                                                              for_update=True)
    version = data.pop("version", None)
    inputs = operations.ActionInput(comment=data.get("comment") or "",
                                    reason=data.get("reason") or "")
    operations.take_action(user, rectification, URL_ACTIONS[action], inputs, version)
    db.session.commit()
    return _answer(user, rectification)

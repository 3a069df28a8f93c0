"""Referrals under /api/v1: the same operations as the pages.

Each view finds the referral through `supervise.policy` (a referral outside the caller's reach
answers 404, so that its existence does not leak), calls one operation, which checks the party,
the state, the version and the input against the workflow table and records its event, and
commits once. Transitions load the referral FOR UPDATE, so that of two simultaneous steps one
waits for the other and then finds the state it left.

The persons involved are written in full only by GET /referrals/<id>, which records the reading;
lists and the answers to changes show them masked.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from supervise import policy
from supervise.attachments.web import serve
from supervise.errors import InvalidInput
from supervise.extensions import db
from supervise.findings.schemas import AttachmentSchema, UploadSchema
from supervise.pagination import count
from supervise.policy import Permission
from supervise.policy import referrals as referral_access
from supervise.referrals import operations, queries
from supervise.referrals.models import Disposition, Extension, Referral, TimelineEntry
from supervise.referrals.schemas import (
    ActionFormSchema,
    ActionRequestSchema,
    ChaserRequestSchema,
    DecisionRequestSchema,
    DispositionSchema,
    ExtensionRequestSchema,
    PersonLookupSchema,
    ReferralCreateSchema,
    ReferralPageSchema,
    ReferralQuerySchema,
    ReferralSchema,
    ReferralStepSchema,
    ReferralUpdateSchema,
    as_listed,
    as_read,
)
from supervise.referrals.workflow import Action
from supervise.schemas import AsRead, VersionSchema
from supervise.web import JSON, MULTIPART, Blueprint, accepts, current_actor, one_of

blueprint = Blueprint("referrals_api", __name__, description="Referrals and their clocks")

# The steps named in the URL, /referrals/<id>/<action>. Chasers and extensions have resources of
# their own; anything else answers 404.
URL_ACTIONS = {a.value: a for a in Action
               if a not in (Action.CHASE, Action.REQUEST_EXTENSION, Action.DECIDE_EXTENSION,
                            Action.REVISE)}
DECISIONS = ("approve", "refuse")


SORTS = {
    "-created_at": (Referral.created_at.desc(), Referral.id.desc()),
    "created_at": (Referral.created_at.asc(), Referral.id.asc()),
    "acknowledge_by": (Referral.acknowledge_by.asc().nulls_last(), Referral.id.asc()),
    "answer_by": (Referral.answer_by.asc().nulls_last(), Referral.id.asc()),
}


def _for_answer(referral: Referral) -> AsRead:
    """The referral as the caller reads it, after the commit, with all that its answer shows
    loaded in a few statements rather than one or more per timeline entry."""
    entries = selectinload(Referral.entries)
    extensions = selectinload(Referral.extensions)
    loaded = db.session.scalars(
        sa.select(Referral).where(Referral.id == referral.id).options(
            joinedload(Referral.sender_agency), joinedload(Referral.receiver_agency),
            joinedload(Referral.handler), selectinload(Referral.persons),
            selectinload(Referral.findings), selectinload(Referral.attachments),
            entries.joinedload(TimelineEntry.actor), entries.joinedload(TimelineEntry.agency),
            entries.selectinload(TimelineEntry.attachments),
            extensions.joinedload(Extension.requested_by),
            extensions.joinedload(Extension.decided_by))
    ).unique().one()
    return as_read(current_actor(), loaded)


def _act(referral: Referral, action: Action, data: operations.ActionInput, version) -> Referral:
    """Run one step and commit once. (Files stored during a step that fails go with the
    rollback: attachments.storage.)"""
    operations.take_action(current_actor(), referral, action, data, version)
    db.session.commit()
    return _for_answer(referral)


# --- lists and reading ----------------------------------------------------------------------


@blueprint.route("/referrals", methods=["GET"])
@blueprint.arguments(ReferralQuerySchema, location="query")
@blueprint.response(200, ReferralPageSchema)
@policy.requires(Permission.CASE_CONTENT)
def list_referrals(args):
    """Referrals the caller's agency sent, or received once they were sent.

    Filters: `role` (sent|received), `state`, `clock` (due_soon|overdue: a running clock).
    Items carry the state, both deadlines and each clock's status, the chasers sent, and the
    persons involved masked (张某某 → 张**); never the facts: open a referral to read them.
    """
    user = current_actor()
    query = queries.filtered(user, role=args.get("role", ""), state=args.get("state", ""),
                             clock=args.get("clock", ""))
    page, per_page = args["page"], args["per_page"]
    total = count(query)
    items = list(db.session.scalars(
        queries.for_list(query).order_by(*SORTS[args["sort"]])
        .limit(per_page).offset((page - 1) * per_page)).unique())
    return {"items": as_listed(items, queries.chasers(r.id for r in items)), "page": page,
            "per_page": per_page, "total": total}


@blueprint.route("/referral-lookups", methods=["POST"])
@blueprint.arguments(PersonLookupSchema)
@blueprint.response(200, ReferralPageSchema)
@policy.requires(Permission.CASE_CONTENT)
def find_by_person(args):
    """Referrals the caller's agency sent or received that name a person involved, exactly
    (spaces, full-width letters and case aside), newest first. A POST, so that the name stays
    out of URLs and of the logs that keep them. The lookup is recorded, never the name."""
    user = current_actor()
    query, total = operations.find_by_person(user, args["name"])
    db.session.commit()
    page, per_page = args["page"], args["per_page"]
    items = list(db.session.scalars(
        queries.for_list(query).order_by(*SORTS["-created_at"])
        .limit(per_page).offset((page - 1) * per_page)).unique())
    return {"items": as_listed(items, queries.chasers(r.id for r in items)), "page": page,
            "per_page": per_page, "total": total}


@blueprint.route("/referrals/<referral_id>", methods=["GET"])
@blueprint.response(200, ReferralSchema)
@policy.requires(Permission.CASE_CONTENT)
def get_referral(referral_id):
    """A referral in full, for the two parties: content, persons involved, cited findings,
    evidence, timeline (the receiver's internal notes only for the receiver), extensions, both
    clocks and the steps the caller may take now. Every reading is recorded."""
    user = current_actor()
    referral = operations.open_referral(user, referral_id)
    db.session.commit()
    return _for_answer(referral)


@blueprint.route("/dispositions", methods=["GET"])
@blueprint.response(200, DispositionSchema(many=True))
@policy.requires(Permission.CASE_CONTENT)
def list_dispositions():
    """How a referral may be disposed of (an answer's `disposition`), named in the caller's
    language."""
    return list(Disposition)


# --- content --------------------------------------------------------------------------------


@blueprint.route("/referrals", methods=["POST"])
@blueprint.arguments(ReferralCreateSchema)
@blueprint.response(201, ReferralStepSchema)
@policy.requires(Permission.CASE_CONTENT)
def create_referral(data):
    """Draft a referral from the caller's agency; it leaves only when a leader approves it."""
    referral = operations.create_referral(current_actor(), data)
    db.session.commit()
    return _for_answer(referral)


@blueprint.route("/referrals/<referral_id>", methods=["PATCH"])
@blueprint.arguments(ReferralUpdateSchema)
@blueprint.response(200, ReferralStepSchema)
@policy.requires(Permission.CASE_CONTENT)
def update_referral(data, referral_id):
    """Change the content of a draft or a returned referral, carrying the `version` read; a
    stale version answers 409."""
    user = current_actor()
    referral = referral_access.referral_or_404(user, referral_id, for_update=True)
    version = data.pop("version")
    operations.update_referral(user, referral, data, version)
    db.session.commit()
    return _for_answer(referral)


@blueprint.route("/referrals/<referral_id>/attachments", methods=["POST"])
@blueprint.arguments(UploadSchema, location="files")
@blueprint.response(201, AttachmentSchema)
@policy.requires(Permission.CASE_CONTENT)
@accepts(MULTIPART)
def upload_attachment(files, referral_id):
    """Add an evidence file (multipart field `file`) to a draft or returned referral."""
    user = current_actor()
    referral = referral_access.referral_or_404(user, referral_id, for_update=True)
    attachment = operations.add_attachment(user, referral, files.get("file"))
    db.session.commit()
    return attachment


@blueprint.route("/referrals/<referral_id>/attachments/<attachment_id>", methods=["GET"])
@blueprint.response(200, description="The file, as an attachment",
                    content_type="application/octet-stream")
@policy.requires(Permission.CASE_CONTENT)
def download_attachment(referral_id, attachment_id):
    """Download a file of the referral: its evidence, or one sent with an answer."""
    user = current_actor()
    return serve(user, *referral_access.attachment_or_404(user, referral_id, attachment_id))


# --- the workflow ---------------------------------------------------------------------------


@blueprint.route(f"/referrals/<referral_id>/<{one_of(URL_ACTIONS)}:action>", methods=["POST"])
@blueprint.arguments(ActionRequestSchema, required=False)
@blueprint.response(200, ReferralStepSchema)
@policy.requires(Permission.CASE_CONTENT)
@accepts(JSON, MULTIPART)
def take_action(data, referral_id, action):
    """One step of the workflow: submit, approve, send-back, withdraw, acknowledge, return,
    assign, note, answer, close, reopen.

    The body carries `comment`, and where the step needs them `reason` (return, send-back,
    reopen), `handler` (assign: a user name), `disposition` and `result` (answer), and
    optionally the `version` read. An answer may instead be sent as multipart/form-data with the
    same fields and its files in `files`. 403 if the step is another party's, 409 if the referral
    is not in a state the step starts from, 422 for missing or bad input.
    """
    user = current_actor()
    files = ()
    if request.mimetype == "multipart/form-data":
        data = blueprint.ARGUMENTS_PARSER.parse(ActionFormSchema, location="form")
        files = tuple(f for f in request.files.getlist("files") if f.filename)
        if files and URL_ACTIONS[action] != Action.ANSWER:  # only an answer carries files
            raise InvalidInput({"files": _("Unknown field.")})
    referral = referral_access.referral_or_404(user, referral_id, for_update=True)
    version = data.pop("version", None)
    inputs = operations.ActionInput(**{key: value or "" for key, value in data.items()},
                                    files=files)
    return _act(referral, URL_ACTIONS[action], inputs, version)


@blueprint.route("/referrals/<referral_id>/revisions", methods=["POST"])
@blueprint.arguments(VersionSchema, required=False)
@blueprint.response(201, ReferralStepSchema)
@policy.requires(Permission.CASE_CONTENT)
def revise(data, referral_id):
    """Revise a returned referral as a new draft (the sender): the same receiver, content,
    persons involved and evidence, to change and submit for approval again. The returned
    referral stays as it was sent, for its receiver to read. Answers the new draft."""
    referral = referral_access.referral_or_404(current_actor(), referral_id, for_update=True)
    _act(referral, Action.REVISE, operations.ActionInput(), data.get("version"))
    return _for_answer(referral.revision)


@blueprint.route("/referrals/<referral_id>/chasers", methods=["POST"])
@blueprint.arguments(ChaserRequestSchema)
@blueprint.response(201, ReferralStepSchema)
@policy.requires(Permission.CASE_CONTENT)
def chase(data, referral_id):
    """Chase (催办) a referral the caller's agency sent, with a message, any time after
    sending."""
    referral = referral_access.referral_or_404(current_actor(), referral_id, for_update=True)
    return _act(referral, Action.CHASE, operations.ActionInput(comment=data["comment"] or ""),
                data.get("version"))


@blueprint.route("/referrals/<referral_id>/extensions", methods=["POST"])
@blueprint.arguments(ExtensionRequestSchema)
@blueprint.response(201, ReferralStepSchema)
@policy.requires(Permission.CASE_CONTENT)
def request_extension(data, referral_id):
    """Ask the sender for more time to answer (the receiver, while handling): the new
    answer-by date `until` and a `reason`. The deadline moves only if the sender approves."""
    referral = referral_access.referral_or_404(current_actor(), referral_id, for_update=True)
    inputs = operations.ActionInput(until=data["until"], reason=data["reason"] or "")
    return _act(referral, Action.REQUEST_EXTENSION, inputs, data.get("version"))


@blueprint.route(
    f"/referrals/<referral_id>/extensions/<extension_id>/<{one_of(DECISIONS)}:decision>",
    methods=["POST"])
@blueprint.arguments(DecisionRequestSchema, required=False)
@blueprint.response(200, ReferralStepSchema)
@policy.requires(Permission.CASE_CONTENT)
def decide_extension(data, referral_id, extension_id, decision):
    """Approve or refuse a pending extension request (the sender). On approval the answer-by
    deadline moves to the end of the requested day."""
    referral = referral_access.referral_or_404(current_actor(), referral_id, for_update=True)
    inputs = operations.ActionInput(extension=extension_id, decision=decision,
                                    comment=data.get("comment") or "")
    return _act(referral, Action.DECIDE_EXTENSION, inputs, data.get("version"))

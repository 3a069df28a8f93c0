"""Findings, shares, attachments, comments and links under /api/v1.

The same operations as the pages: each view finds the record through `supervise.policy` (a
record outside the caller's reach answers 404), calls one operation, which checks the rules and
records its event, and commits once.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from supervise import policy
from supervise.attachments.web import serve
from supervise.extensions import db
from supervise.findings import importing, operations, queries
from supervise.findings.models import Comment
from supervise.findings.schemas import (
    AttachmentSchema,
    CategorySchema,
    CommentRequestSchema,
    CommentSchema,
    FindingCreateSchema,
    FindingPageSchema,
    FindingQuerySchema,
    FindingSchema,
    FindingUpdateSchema,
    ImportAnswerSchema,
    ImportQuerySchema,
    ImportRequestSchema,
    LinkRequestSchema,
    LinkSchema,
    ProjectPageSchema,
    ProjectRequestSchema,
    ProjectSchema,
    SendBackSchema,
    ShareRequestSchema,
    ShareSchema,
    SimilarQuerySchema,
    SimilarSchema,
    UploadSchema,
    UsesSchema,
    as_read,
)
from supervise.findings.uses import uses_of
from supervise.pagination import count
from supervise.policy import Capability, Permission
from supervise.policy import findings as finding_access
from supervise.policy import projects as project_access
from supervise.projects import operations as project_operations
from supervise.projects.models import Project
from supervise.schemas import PageQuerySchema, VersionSchema
from supervise.settings.models import Category
from supervise.web import MULTIPART, BadInput, Blueprint, accepts, current_actor, parse_json

blueprint = Blueprint("findings_api", __name__, description="Findings and their uses")



# --- findings -------------------------------------------------------------------------------


@blueprint.route("/findings", methods=["GET"])
@blueprint.arguments(FindingQuerySchema, location="query")
@blueprint.response(200, FindingPageSchema)
@policy.requires(Permission.CASE_CONTENT)
def list_findings(args):
    """Findings the caller may see: its agency's own, drafts included, and those shared with it.

    Newest first unless `sort` says otherwise. Items leave out the long texts (facts, legal
    basis, recommendation) and the attachments: open a finding to read them. `total_amount` sums
    every finding matching the filters, not only this page.
    """
    user = current_actor()
    f = queries.FindingFilter.from_args(args)
    query = queries.matching(user, f)
    page, per_page = args["page"], args["per_page"]
    total, total_amount = queries.count_and_total(user, f)
    items = list(db.session.scalars(queries.for_list(query, args["sort"])
                                    .limit(per_page).offset((page - 1) * per_page)))
    return {"items": [as_read(user, f) for f in items], "page": page, "per_page": per_page,
            "total": total, "total_amount": total_amount}


@blueprint.route("/findings", methods=["POST"])
@blueprint.arguments(FindingCreateSchema)
@blueprint.response(201, FindingSchema)
@policy.requires(Permission.CASE_CONTENT)
def create_finding(data):
    """Record a finding of the caller's agency, as a draft until a leader issues it."""
    user = current_actor()
    finding = operations.create_finding(user, data)
    db.session.commit()
    return as_read(user, finding)


@blueprint.route("/findings/import", methods=["POST"])
@blueprint.arguments(ImportQuerySchema, location="query")
@blueprint.arguments(ImportRequestSchema, location="files")
@blueprint.response(200, ImportAnswerSchema)
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
@accepts(MULTIPART)
def import_findings(query, files):
    """Import findings from a spreadsheet (multipart field `file`), as drafts, in one
    transaction. The columns: `mapping` or `map_<field>` fields, else as the agency's last
    import, else guessed from the headings. The rows that pass the finding form's rules are
    imported; a row that does not, or that is likely a duplicate of an existing finding, is
    refused with its reasons in `rows`. With `dry_run` nothing is imported or kept. Limits
    (rows, MB) come from the settings; an import with no row to import answers 422."""
    user = current_actor()
    given = {}
    if files.get("mapping"):
        given = parse_json(files["mapping"])
        if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
            raise BadInput(_("The mapping must be a JSON object of field names to column "
                             "headings."), 422)
    given.update({name: files[f"map_{name}"] for name in importing.FIELDS
                  if f"map_{name}" in files})
    upload = files["file"]
    received = importing.receive(upload.stream, upload.filename)
    try:
        remembered = importing.remembered_mapping(user)
        table = importing.read_table(received, [*remembered.values(), *given.values()])
        mapping = importing.guess_mapping(table, remembered)
        mapping.update(given)
        mapping = importing.check_mapping(table, mapping)
        allow = files["allow_duplicates"]
        if query["dry_run"]:
            checked, found = importing.preview(user, table, mapping, allow_duplicates=allow), []
        else:
            result = importing.import_findings(user, table, mapping, sha256=received.sha256,
                                               allow_duplicates=allow)
            db.session.commit()
            checked, found = result.preview, [f.public_id for f in result.findings]
    finally:
        received.close()
    return {"dry_run": query["dry_run"], "format": table.kind, "headings": table.headings,
            "mapping": checked.mapping, "total": len(checked.rows), "good": len(checked.good),
            "refused": len(checked.refused), "findings": found,
            "rows": [{"line": r.line, "ok": r.ok, "values": r.values, "problems": r.problems,
                      "warnings": r.warnings} for r in checked.rows]}


@blueprint.route("/findings/similar", methods=["GET"])
@blueprint.arguments(SimilarQuerySchema, location="query")
@blueprint.response(200, SimilarSchema(many=True))
@policy.requires(Permission.CASE_CONTENT)
def similar_findings(args):
    """Up to five findings visible to the caller about the same unit with a similar title (the
    overlap hint of the create form), most similar first."""
    return [{"id": row.public_id, "title": row.title,
             "owner": {"code": row.owner_code, "name": row.owner_name},
             "similarity": round(score, 2)}
            for score, row in queries.similar_findings(current_actor(), args["unit"],
                                                       args["title"])]


@blueprint.route("/findings/<pid:finding_id>", methods=["GET"])
@blueprint.response(200, FindingSchema)
@policy.requires(Permission.CASE_CONTENT)
def get_finding(finding_id):
    """A finding. Reading a sensitive finding is recorded."""
    user = current_actor()
    finding = operations.open_finding(user, finding_id)
    db.session.commit()
    return as_read(user, finding)


@blueprint.route("/findings/<pid:finding_id>", methods=["PATCH"])
@blueprint.arguments(FindingUpdateSchema)
@blueprint.response(200, FindingSchema)
@policy.requires(Permission.CASE_CONTENT)
def update_finding(data, finding_id):
    """Change the fields sent, carrying the `version` read; a stale version answers 409."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id, for_update=True)
    version = data.pop("version")
    operations.update_finding(user, finding, data, version)
    db.session.commit()
    return as_read(user, finding)


def _step(finding_id, take):
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id, for_update=True)
    take(user, finding)
    db.session.commit()
    return as_read(user, finding)


@blueprint.route("/findings/<pid:finding_id>/submit", methods=["POST"])
@blueprint.arguments(VersionSchema, required=False)
@blueprint.response(200, FindingSchema)
@policy.requires(Permission.CASE_CONTENT)
def submit_finding(data, finding_id):
    """Submit a draft to the agency's leaders for issue (报领导签发). The body may carry the
    `version` read; a stale one answers 409."""
    return _step(finding_id, lambda user, finding: operations.submit_finding(
        user, finding, data.get("version")))


@blueprint.route("/findings/<pid:finding_id>/send-back", methods=["POST"])
@blueprint.arguments(SendBackSchema)
@blueprint.response(200, FindingSchema)
@policy.requires(Permission.CASE_CONTENT)
def send_back_finding(data, finding_id):
    """A leader sends a finding awaiting issue back to draft, with the reason."""
    return _step(finding_id, lambda user, finding: operations.send_back_finding(
        user, finding, data["reason"], data.get("version")))


@blueprint.route("/findings/<pid:finding_id>/issue", methods=["POST"])
@blueprint.arguments(VersionSchema, required=False)
@blueprint.response(200, FindingSchema)
@policy.requires(Permission.CASE_CONTENT)
def issue_finding(data, finding_id):
    """Issue a draft or a finding awaiting issue: a leader of the owning agency. The body may
    carry the `version` read; a stale one answers 409."""
    return _step(finding_id, lambda user, finding: operations.issue_finding(
        user, finding, data.get("version")))


# --- shares ---------------------------------------------------------------------------------


@blueprint.route("/findings/<pid:finding_id>/shares", methods=["POST"])
@blueprint.arguments(ShareRequestSchema)
@blueprint.response(201, ShareSchema)
@policy.requires(Permission.CASE_CONTENT)
def share_finding(data, finding_id):
    """Share an issued finding with another agency (not an audited unit)."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id, for_update=True)
    share = operations.share_finding(user, finding, data["agency"], data.get("note"),
                                     data["handling"])
    db.session.commit()
    return share


@blueprint.route("/findings/<pid:finding_id>/shares/<share_id>", methods=["DELETE"])
@blueprint.response(200, ShareSchema)
@policy.requires(Permission.CASE_CONTENT)
def withdraw_share(finding_id, share_id):
    """Withdraw a share: the recipient's access ends at once; the share stays as history."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id, for_update=True)
    share = finding_access.share_or_404(user, finding, share_id)
    operations.withdraw_share(user, share)
    db.session.commit()
    return share


# --- attachments ----------------------------------------------------------------------------


@blueprint.route("/findings/<pid:finding_id>/attachments", methods=["POST"])
@blueprint.arguments(UploadSchema, location="files")
@blueprint.response(201, AttachmentSchema)
@policy.requires(Permission.CASE_CONTENT)
@accepts(MULTIPART)
def upload_attachment(files, finding_id):
    """Add an evidence file (multipart field `file`). The type is judged from the content; the
    size limit comes from the settings."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id)
    attachment = operations.add_attachment(user, finding, files.get("file"))
    db.session.commit()
    return attachment


@blueprint.route("/attachments/<attachment_id>", methods=["GET"])
@blueprint.response(200, description="The file, as an attachment",
                    content_type="application/octet-stream")
@policy.requires(Permission.CASE_CONTENT)
def download_attachment(attachment_id):
    """Download an evidence file, if the caller may see its finding."""
    user = current_actor()
    return serve(user, *finding_access.attachment_by_id_or_404(user, attachment_id))


# --- reference lists ------------------------------------------------------------------------


@blueprint.route("/categories", methods=["GET"])
@blueprint.response(200, CategorySchema(many=True))
@policy.requires(Permission.CASE_CONTENT)
def list_categories():
    """The categories in use, named in the caller's language."""
    return list(db.session.scalars(
        sa.select(Category).where(Category.active.is_(True))
        .order_by(Category.position, Category.code)))


# --- uses, comments, links ------------------------------------------------------------------


@blueprint.route("/findings/<pid:finding_id>/uses", methods=["GET"])
@blueprint.response(200, UsesSchema)
@policy.requires(Permission.CASE_CONTENT)
def finding_uses(finding_id):
    """一果多用: the shares of a finding the caller may see, and its related findings. A related
    finding the caller may not open shows only its owner's name."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id)
    uses = uses_of(user, finding)
    related = []
    for item in uses.related:
        other = item.other
        if item.visible:
            related.append({"visible": True, "id": other.public_id, "title": other.title,
                            "status": other.status.value, "owner": other.owner_agency,
                            "unit": other.unit, "linked_at": item.link.created_at})
        else:
            related.append({"visible": False, "owner": {"name": other.owner_agency.name}})
    return {"shares": uses.shares, "related": related}


@blueprint.route("/findings/<pid:finding_id>/comments", methods=["GET"])
@blueprint.response(200, CommentSchema(many=True))
@policy.requires(Permission.CASE_CONTENT)
def list_comments(finding_id):
    """The comment threads the caller may read: the owner every thread, a recipient its own."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id)
    return list(db.session.scalars(
        finding_access.visible_comments(user, finding).options(joinedload(Comment.thread_agency))))


@blueprint.route("/findings/<pid:finding_id>/comments", methods=["POST"])
@blueprint.arguments(CommentRequestSchema)
@blueprint.response(201, CommentSchema)
@policy.requires(Permission.CASE_CONTENT)
def add_comment(data, finding_id):
    """Write in a thread: a recipient in its own; the owner names the recipient in `thread`."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id)
    comment = operations.add_comment(user, finding, data["body"], data.get("thread"))
    db.session.commit()
    return comment


@blueprint.route("/findings/<pid:finding_id>/links", methods=["POST"])
@blueprint.arguments(LinkRequestSchema)
@blueprint.response(201, LinkSchema)
@policy.requires(Permission.CASE_CONTENT)
def link_finding(data, finding_id):
    """Link one of the caller's agency's own findings to this one ("related")."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id)
    link = operations.link_finding(user, finding, data["related"])
    db.session.commit()
    return link


@blueprint.route("/findings/<pid:finding_id>/links/<related_id>", methods=["DELETE"])
@blueprint.response(204)
@policy.requires(Permission.CASE_CONTENT)
def unlink_finding(finding_id, related_id):
    """Remove the link between two findings; the agency that made the link may."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, finding_id)
    operations.unlink_finding(user, finding_access.link_or_404(user, finding, related_id))
    db.session.commit()


# --- projects -------------------------------------------------------------------------------


@blueprint.route("/projects", methods=["GET"])
@blueprint.arguments(PageQuerySchema, location="query")
@blueprint.response(200, ProjectPageSchema)
@policy.requires(Permission.CASE_CONTENT)
def list_projects(args):
    """Projects the caller's agency leads, newest year first."""
    user = current_actor()
    query = project_access.visible_projects(user)
    page, per_page = args["page"], args["per_page"]
    total = count(query)
    items = list(db.session.scalars(
        query.order_by(Project.year.desc(), Project.created_at.desc(), Project.id.desc())
        .options(joinedload(Project.lead_agency), selectinload(Project.units),
                 selectinload(Project.team))
        .limit(per_page).offset((page - 1) * per_page)))
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@blueprint.route("/projects", methods=["POST"])
@blueprint.arguments(ProjectRequestSchema)
@blueprint.response(201, ProjectSchema)
@policy.requires(Permission.CASE_CONTENT)
def create_project(data):
    """Start a project led by the caller's agency, covering audited units."""
    project = project_operations.create_project(
        current_actor(), year=data["year"], kind=data["kind"], name=data["name"],
        unit_codes=data["units"], member_usernames=data["team"])
    db.session.commit()
    return project

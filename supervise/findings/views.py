"""Pages for findings: the lists, a finding with its uses, and the forms that act on it."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from supervise import policy
from supervise.accounts.models import Agency, AgencyKind
from supervise.attachments import storage
from supervise.attachments.web import serve
from supervise.errors import InvalidInput, OperationError, discard_session
from supervise.extensions import db
from supervise.findings import importing, operations, queries
from supervise.findings.forms import (
    AttachmentForm,
    CommentForm,
    FindingForm,
    ImportForm,
    LinkForm,
    ShareForm,
)
from supervise.findings.models import Finding, FindingStatus
from supervise.findings.uses import uses_of
from supervise.pages import attempt, done
from supervise.pagination import paginate
from supervise.policy import Capability, Permission
from supervise.policy import findings as finding_access
from supervise.policy import projects as project_access
from supervise.policy.findings import FindingAction
from supervise.projects.models import Project
from supervise.settings.models import Category, get_setting
from supervise.web import current_actor

blueprint = Blueprint("findings", __name__)


# --- lists --------------------------------------------------------------------------------

@blueprint.route("/findings")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def findings():
    user = current_actor()
    default_scope = "own" if policy.records_findings(user) else "shared_with_us"
    f = queries.FindingFilter.from_args(request.args, default_scope)
    matching = queries.matching(user, f)
    found, total = queries.count_and_total(user, f)
    page = paginate(queries.for_list(matching, f.sort), total=found)
    return render_template(
        "findings/list.html", page=page, f=f, total=total,
        choices=queries.filter_choices(user), can_create=policy.records_findings(user),
        statuses=list(FindingStatus)), \
        400 if f.errors else 200


# --- create and edit ----------------------------------------------------------------------

def _fill_choices(form: FindingForm, user) -> None:
    units = db.session.scalars(sa.select(Agency).where(
        Agency.kind == AgencyKind.AUDITED_UNIT, Agency.active.is_(True)).order_by(Agency.name))
    form.unit.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(u.code, u.name) for u in units]
    projects = db.session.scalars(project_access.visible_projects(user)
                                  .order_by(Project.year.desc(), Project.name))
    form.project.choices = [SelectChoice("", _("No project"))] + [
        SelectChoice(p.public_id, str(p)) for p in projects]
    categories = db.session.scalars(sa.select(Category).where(Category.active.is_(True))
                                    .order_by(Category.position))
    form.category.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(c.code, c.label) for c in categories]


@blueprint.route("/findings/new", methods=["GET", "POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def new_finding():
    user = current_actor()
    form = FindingForm()
    _fill_choices(form, user)
    if request.method == "GET":
        form.unit.data = request.args.get("unit", "")
        form.project.data = request.args.get("project", "")
    return attempt(
        lambda: operations.create_finding(user, form.data_for_operation()),
        done=lambda finding: done(
            _("Finding recorded as a draft. A leader of your agency issues it."),
            url_for("findings.finding", public_id=finding.public_id)),
        show=lambda status, _errors: (
            render_template("findings/form.html", form=form, finding=None), status),
        form=form)


@blueprint.route("/findings/<public_id>/edit", methods=["GET", "POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def edit_finding(public_id: str):
    user = current_actor()
    finding = finding_access.finding_or_404(user, public_id, for_update=request.method == "POST")
    if not finding_access.can_act_on_finding(user, FindingAction.EDIT, finding):
        abort(403)
    form = FindingForm()
    _fill_choices(form, user)
    if request.method == "GET":
        form.process(data={
            "unit": finding.unit.code, "project": finding.project.public_id
            if finding.project else "", "title": finding.title, "facts": finding.facts,
            "category": finding.category_code,
            "amount": "" if finding.amount is None else str(finding.amount),
            "legal_basis": finding.legal_basis, "recommendation": finding.recommendation,
            "sensitivity": finding.sensitivity.value, "version": finding.version})
    return attempt(
        lambda: operations.update_finding(user, finding, form.data_for_operation(),
                                          form.version.data),
        done=lambda changed: done(_("Saved.") if changed else _("Nothing was changed."),
                                  url_for("findings.finding", public_id=finding.public_id)),
        show=lambda status, _errors: (
            render_template("findings/form.html", form=form, finding=finding), status),
        form=form)


# --- a finding ----------------------------------------------------------------------------

def _detail(finding: Finding, status: int = 200, **forms):
    user = current_actor()
    share_form = forms.get("share_form") or ShareForm()
    share_form.agency.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(a.code, a.name) for a in db.session.scalars(policy.case_partners(user))]
    link_form = forms.get("link_form") or LinkForm()
    own = []
    if finding_access.can_act_on_finding(user, FindingAction.LINK, finding):
        own = db.session.scalars(sa.select(Finding).where(
            Finding.owner_agency_id == user.agency_id, Finding.id != finding.id)
            .order_by(Finding.created_at.desc()).limit(200)).all()
    link_form.related.choices = [SelectChoice("", _("Choose…"))] + [
        SelectChoice(f.public_id, f.title) for f in own]
    comments = db.session.scalars(finding_access.visible_comments(user, finding)).all()
    return render_template(
        "findings/detail.html", finding=finding, uses=uses_of(user, finding),
        share=finding_access.active_share(user, finding),
        owner=finding_access.owns_finding(user, finding),
        comments=comments, share_form=share_form, link_form=link_form,
        comment_form=forms.get("comment_form") or CommentForm(),
        attachment_form=forms.get("attachment_form") or AttachmentForm(),
        may={a.value: finding_access.can_act_on_finding(user, a, finding) for a in FindingAction},
        steps={a.value for a in operations.WORKFLOW.available(user, finding)},
    ), status


@blueprint.route("/findings/<public_id>")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def finding(public_id: str):
    user = current_actor()
    finding = operations.open_finding(user, public_id)
    db.session.commit()
    return _detail(finding)


def _act(public_id: str, action, success: str, form_name: str | None = None, form=None):
    """Run one operation on a finding from a form post; on refusal show the page again with
    the message and the operation's status, having changed nothing."""
    user = current_actor()
    finding = finding_access.finding_or_404(user, public_id, for_update=True)
    return attempt(
        lambda: action(user, finding),
        done=lambda _result: done(success, url_for("findings.finding", public_id=public_id)),
        show=lambda status, _errors: _detail(finding_access.finding_or_404(user, public_id),
                                             status, **({form_name: form} if form_name else {})),
        flash_invalid=True, invalid_status=422)


@blueprint.route("/findings/<public_id>/issue", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def issue(public_id: str):
    version = request.form.get("version")
    return _act(public_id, lambda user, finding: operations.issue_finding(user, finding, version),
                _("The finding has been issued."))


@blueprint.route("/findings/<public_id>/submit", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def submit(public_id: str):
    version = request.form.get("version")
    return _act(public_id, lambda user, finding: operations.submit_finding(user, finding, version),
                _("Submitted to the leaders for issue."))


@blueprint.route("/findings/<public_id>/send-back", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def send_back(public_id: str):
    version, reason = request.form.get("version"), request.form.get("reason")
    return _act(public_id, lambda user, finding: operations.send_back_finding(
        user, finding, reason, version), _("Sent back to the drafter."))


@blueprint.route("/findings/<public_id>/shares", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def share(public_id: str):
    form = ShareForm()
    return _act(public_id, lambda user, finding: operations.share_finding(
        user, finding, form.agency.data, form.note.data, form.handling.data),
        _("Shared."), "share_form", form)


@blueprint.route("/findings/<public_id>/shares/<share_id>/withdraw", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def withdraw(public_id: str, share_id: str):
    return _act(public_id, lambda user, finding: operations.withdraw_share(
        user, finding_access.share_or_404(user, finding, share_id)),
        _("The share was withdrawn; access has ended."))


@blueprint.route("/findings/<public_id>/comments", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def comment(public_id: str):
    form = CommentForm()
    return _act(public_id, lambda user, finding: operations.add_comment(
        user, finding, form.body.data, form.thread.data), _("Comment added."),
        "comment_form", form)


@blueprint.route("/findings/<public_id>/links", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def link(public_id: str):
    form = LinkForm()
    return _act(public_id, lambda user, finding: operations.link_finding(
        user, finding, form.related.data), _("Linked."), "link_form", form)


@blueprint.route("/findings/<public_id>/links/<related_id>/delete", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def unlink(public_id: str, related_id: str):
    return _act(public_id, lambda user, finding: operations.unlink_finding(
        user, finding_access.link_or_404(user, finding, related_id)), _("The link was removed."))


@blueprint.route("/findings/<public_id>/attachments", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def upload(public_id: str):
    form = AttachmentForm()
    return _act(public_id, lambda user, finding: operations.add_attachment(
        user, finding, form.file.data), _("Evidence uploaded."), "attachment_form", form)


@blueprint.route("/findings/<public_id>/attachments/<attachment_id>")
@policy.requires(Permission.CASE_CONTENT, Capability.READS_CASES)
def download(public_id: str, attachment_id: str):
    user = current_actor()
    return serve(user, *finding_access.attachment_or_404(user, public_id, attachment_id))


@blueprint.route("/projects/<public_id>")
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def project(public_id: str):
    """One project of the user's agency with its findings."""
    user = current_actor()
    project = project_access.project_or_404(user, public_id)
    f = queries.FindingFilter(scope="own", project=public_id)
    matching = queries.matching(user, f)
    found, total = queries.count_and_total(user, f)
    return render_template("projects/detail.html", project=project,
                           page=paginate(queries.for_list(matching, f.sort), total=found),
                           total=total)


# --- import from a spreadsheet -------------------------------------------------------------

def _upload_page(form: ImportForm | None = None, status: int = 200):
    return render_template("findings/import.html", form=form or ImportForm(),
                           max_rows=get_setting("import_max_rows"),
                           max_mb=get_setting("import_max_mb")), status


def _preview_page(checked: importing.Preview, token: str, filename: str, status: int = 200):
    return render_template("findings/import_preview.html", preview=checked, token=token,
                           filename=filename, fields=importing.FIELDS,
                           labels=importing.FIELD_LABELS, required=operations.REQUIRED), status


def _refused(exc: OperationError):
    """Back to the upload page with why, having changed nothing."""
    discard_session()
    message = exc.message
    if isinstance(exc, InvalidInput):
        message = " ".join([str(exc.message), *map(str, exc.errors.values())])
    flash(message, "error")
    return _upload_page(status=exc.status)


@blueprint.route("/findings/import", methods=["GET", "POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def import_upload():
    """Step 1: the file. Read, checked row by row and kept for the next step."""
    user = current_actor()
    form = ImportForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400 if request.method == "POST" else 200)
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", None):
        form.file.errors = [_("Choose a file.")]
        return _upload_page(form, 400)
    try:
        received = importing.receive(upload.stream, upload.filename)
        try:
            remembered = importing.remembered_mapping(user)
            table = importing.read_table(received, remembered.values())
            checked = importing.preview(user, table, importing.guess_mapping(table, remembered))
            token = importing.keep_upload(user, received)
        finally:
            received.close()
        db.session.commit()
    except OperationError as exc:
        return _refused(exc)
    return _preview_page(checked, token, received.filename)


def _posted_mapping() -> dict[str, str]:
    return {f: request.form.get(f"map_{f}", "") for f in importing.FIELDS}


def _reopen(user):
    """The kept upload of the posted token, read again with the posted mapping."""
    received, name = importing.open_upload(user, request.form.get("token"))
    try:
        table = importing.read_table(received, _posted_mapping().values())
    finally:
        received.close()
    return received, name, table, importing.check_mapping(table, _posted_mapping())


@blueprint.route("/findings/import/preview", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def import_preview():
    """Step 2 again: the same file with the columns chosen."""
    user = current_actor()
    try:
        received, _name, table, mapping = _reopen(user)
        checked = importing.preview(user, table, mapping,
                                    allow_duplicates=request.form.get("allow_duplicates") == "1")
    except OperationError as exc:
        return _refused(exc)
    return _preview_page(checked, request.form["token"], received.filename)


@blueprint.route("/findings/import/confirm", methods=["POST"])
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def import_confirm():
    """Step 3: the good rows as drafts, in one transaction; then the result page."""
    user = current_actor()
    try:
        received, name, table, mapping = _reopen(user)
        result = importing.import_findings(
            user, table, mapping, sha256=received.sha256, nonce=name,
            allow_duplicates=request.form.get("allow_duplicates") == "1")
        importing.forget_upload(name)
        token = importing.keep_result(user, result)
        db.session.commit()
    except OperationError as exc:
        return _refused(exc)
    return redirect(url_for("findings.import_result", t=token))


@blueprint.route("/findings/import/result")
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def import_result():
    try:
        outcome = importing.load_result(current_actor(), request.args.get("t"))
    except OperationError as exc:
        return _refused(exc)
    return render_template("findings/import_result.html", imported=outcome["i"],
                           refused=outcome["n"], token=request.args["t"])


@blueprint.route("/findings/import/refused")
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def import_refused():
    """The refused rows with their reasons, to correct and import again."""
    try:
        fh = importing.open_refused(current_actor(), request.args.get("t"))
    except OperationError as exc:
        return _refused(exc)
    return send_file(fh, mimetype=storage.XLSX.content_type, as_attachment=True,
                     download_name="未导入的行.xlsx", max_age=0)


@blueprint.route("/findings/import/template")
@policy.requires(Permission.CASE_CONTENT, Capability.RECORDS_FINDINGS)
def import_template():
    """The template: headings, drop-downs and instructions; filled in, it imports as it is."""
    out = io.BytesIO()
    importing.write_template(out, current_actor())
    out.seek(0)
    return send_file(out, mimetype=storage.XLSX.content_type, as_attachment=True,
                     download_name="问题导入模板.xlsx", max_age=0)

"""The page of the signed-in person's ledgers built in the background (我的导出)."""

from __future__ import annotations

from flask import Blueprint, render_template

from supervise import policy
from supervise.extensions import db
from supervise.ledgers.jobs import ExportJob, ExportState, own_exports
from supervise.web import current_actor

blueprint = Blueprint("exports", __name__)


@blueprint.route("/exports")
@policy.signed_in
def exports():
    """The person's own export jobs, newest first, with a download link once one is ready."""
    user = current_actor()
    jobs = db.session.scalars(own_exports(user).order_by(ExportJob.id.desc())).all()
    return render_template("ledgers/exports.html", jobs=jobs, ready=ExportState.READY,
                           failed=ExportState.FAILED)

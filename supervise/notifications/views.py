"""The notification pages: the list (unread or all), opening one (read, then its record), and
marking one or all read. The header's bell counts the unread on every page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from supervise import policy
from supervise.extensions import db
from supervise.notifications.models import Notification
from supervise.notifications.outbox import mark_all_read, mark_read, unread_count
from supervise.pages import done
from supervise.pagination import paginate
from supervise.policy import notifications as notification_access
from supervise.web import BadInput, current_actor

blueprint = Blueprint("notifications", __name__)

SHOW = ("unread", "all")


@blueprint.route("/notifications")
@policy.signed_in
def notifications():
    user = current_actor()
    show = request.args.get("show", "unread")
    if show not in SHOW:
        raise BadInput(_("Show unread or all."))
    query = notification_access.own_notifications(user)
    if show == "unread":
        query = query.where(Notification.read_at.is_(None))
    page = paginate(query.order_by(Notification.id.desc()))
    page.items = notification_access.listed(user, page.items)
    return render_template("notifications/list.html", page=page, show=show)


@blueprint.route("/notifications/<public_id>")
@policy.signed_in
def notification(public_id: str):
    """Open one: it is read, and its record's page answers (404 when the reader may no longer
    see the record)."""
    user = current_actor()
    notification = notification_access.notification_or_404(user, public_id, for_update=True)
    mark_read([notification])
    db.session.commit()
    [shown] = notification_access.listed(user, [notification])
    return redirect(shown.url or url_for("notifications.notifications"))


@blueprint.route("/notifications/<public_id>/read", methods=["POST"])
@policy.signed_in
def read(public_id: str):
    user = current_actor()
    mark_read([notification_access.notification_or_404(user, public_id, for_update=True)])
    db.session.commit()
    return done(None, url_for("notifications.notifications"))


@blueprint.route("/notifications/read-all", methods=["POST"])
@policy.signed_in
def read_all():
    marked = mark_all_read(current_actor())
    db.session.commit()
    return done(_("%(n)d marked as read.", n=marked) if marked else None,
                url_for("notifications.notifications"))


@blueprint.app_context_processor
def _bell():
    """The unread count of the header: one statement a page that shows it, for a signed-in
    reader (asked for by the template, so that a page without a header runs none)."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    return {"unread_notifications": lambda: unread_count(current_user)}

"""The notification pages: the list (unread or all), opening one (read, then its record), and
marking one or all read. The header's bell counts the unread on every page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from supervise import policy
from supervise.extensions import db
from supervise.notifications import delivery
from supervise.notifications.models import Kind, Notification
from supervise.notifications.outbox import mail_enabled, mark_all_read, mark_read, unread_count
from supervise.notifications.preferences import email_kinds, set_preferences
from supervise.pages import attempt, done
from supervise.pagination import paginate
from supervise.policy import Permission
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


@blueprint.route("/notifications/preferences", methods=["GET", "POST"])
@policy.signed_in
def preferences():
    """The holder's email address and the kinds of notification that also go there."""
    user = current_actor()
    if request.method == "GET":
        return _preferences_page(user, user.email or "", email_kinds(user))
    email, kinds = request.form.get("email", ""), request.form.getlist("kinds")
    return attempt(
        lambda: set_preferences(user, email, kinds),
        done=lambda _result: done(_("Saved."), url_for("notifications.preferences")),
        show=lambda status, errors: _preferences_page(
            user, email, {k for k in Kind if k.value in kinds}, errors, status),
        invalid_status=422)


def _preferences_page(user, email, kinds, errors=None, status=200):
    return render_template("notifications/preferences.html", email=email, chosen=kinds,
                           kinds=list(Kind), errors=errors or {},
                           mail_on=mail_enabled()), status


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


@blueprint.route("/admin/mail")
@policy.requires(Permission.MANAGE_ACCOUNTS)
def mail_status():
    """The system administrator's view of the email outbox: counts only, never content."""
    counts = delivery.status()
    oldest = db.session.scalar(sa.select(sa.func.min(Notification.created_at)).where(
        Notification.email_state.in_(delivery.WAITING)))
    return render_template("notifications/mail_status.html", counts=counts, oldest=oldest,
                           mail_on=mail_enabled())


@blueprint.app_context_processor
def _bell():
    """The unread count of the header: one statement a page that shows it, for a signed-in
    reader (asked for by the template, so that a page without a header runs none)."""
    if not getattr(current_user, "is_authenticated", False):
        return {}
    return {"unread_notifications": lambda: unread_count(current_user)}

"""The email of a notification, and sending it by SMTP.

An email says what kind of thing happened and links to the notification, nothing more: no
title, no facts, no names. Whoever opens the link signs in and meets the policy there, so a
message forwarded, misaddressed or read after the recipient lost access tells nothing. It is
written in the recipient's language, as plain text with an HTML alternative, and carries a
Message-ID made from the notification's public id: a delivery retried after a crash is the same
message, which mail systems recognise.

`SmtpSender` is a thin adapter over the standard library's smtplib, configured by SMTP_HOST,
SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_STARTTLS and MAIL_FROM.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from supervise.database import now_utc


def message_id(notification) -> str:
    domain = current_app.config["MAIL_FROM"].rpartition("@")[2] or "supervise"
    return f"<notification.{notification.public_id}@{domain}>"


def compose(notification, recipient) -> EmailMessage:
    """The email of one notification for its recipient."""
    config = current_app.config
    locale = recipient.locale or config["BABEL_DEFAULT_LOCALE"]
    with current_app.test_request_context(base_url=config["PUBLIC_URL"]), force_locale(locale):
        link = url_for("notifications.notification", public_id=notification.public_id,
                       _external=True)
        context = {"notification": notification, "recipient": recipient, "link": link,
                   "platform": _("Joint supervision platform")}
        message = EmailMessage()
        message["Subject"] = f"[{context['platform']}] {notification.kind.label}"
        message["From"] = formataddr((context["platform"], config["MAIL_FROM"]))
        message["To"] = formataddr((recipient.display_name, recipient.email))
        message["Date"] = format_datetime(now_utc())
        message["Message-ID"] = message_id(notification)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(render_template("notifications/email.txt", **context))
        message.add_alternative(render_template("notifications/email.html", **context),
                                subtype="html")
    return message


class SmtpSender:
    """One SMTP connection for a batch of messages: `with SmtpSender(config) as smtp:`."""

    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        c = self.config
        self.smtp = smtplib.SMTP(c["SMTP_HOST"], c["SMTP_PORT"], timeout=c["SMTP_TIMEOUT"],
                                 local_hostname="supervise")
        if c["SMTP_STARTTLS"]:
            self.smtp.starttls(context=ssl.create_default_context())
        if c["SMTP_USER"]:
            self.smtp.login(c["SMTP_USER"], c["SMTP_PASSWORD"])
        return self

    def send(self, message: EmailMessage) -> None:
        self.smtp.send_message(message)

    def __exit__(self, *exc) -> None:
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()

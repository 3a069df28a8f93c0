"""Errors a user can see: one shape for pages, one for the API, always in the user's language."""

from __future__ import annotations

import re

from flask import jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from supervise.web import BadInput, Denied, is_api_request


def discard_session() -> None:
    """Every error handler starts here: whatever the request had pending is dropped, so that
    building the answer (the user's language, the page's menu) never reads through a failed
    session."""
    from supervise.extensions import db

    try:
        db.session.rollback()
    except Exception:  # a broken connection: the session is discarded anyway
        db.session.close()


class OperationError(Exception):
    """A business rule refused the operation; the message is shown to the user as it is."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


class InvalidInput(OperationError):
    """Fields that do not pass; `errors` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Some fields are not valid."), 422)
        self.errors = errors


class ConflictError(OperationError):
    """The record changed since the user read it. Raised while the session is failed (a stale
    flush), so the default message is translated only when the answer is built, after the
    rollback."""

    def __init__(self, message: str | None = None):
        super().__init__(message or _l("This record was changed by someone else. "
                                       "Reload it and try again."), 409)


def check_version(record, given, *, required: bool = False) -> None:
    """Optimistic locking at the door: 409 when `given` is not the record's version now.

    `given` comes from a form or JSON: an integer, or ASCII digits (full-width digits and other
    scripts' digits are not a version). Not given: refused only when `required`."""
    if given is None or given == "":
        if required:
            raise InvalidInput({"version": _("Give the version you read.")})
        return
    text = given.strip() if isinstance(given, str) else None
    if isinstance(given, bool) or not (
            isinstance(given, int) or (text and text.isascii() and text.isdigit())):
        raise InvalidInput({"version": _("Give the version you read.")})
    if int(given) != record.version:
        raise ConflictError()


STATUS_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please sign in."),
    403: _l("You may not do this."),
    404: _l("Not found."),
    405: _l("This method is not allowed here."),
    409: _l("This record was changed by someone else. Reload it and try again."),
    413: _l("The upload is too large."),
    415: _l("This content type is not supported."),
    422: _l("Some fields are not valid."),
    429: _l("Too many requests. Wait a moment and try again."),
    500: _l("Something went wrong on our side. The error has been logged."),
}

# Messages that marshmallow and webargs produce, listed so that they are extracted and translated.
LIBRARY_MESSAGES = {
    "Missing data for required field.": _l("Missing data for required field."),
    "Not a valid string.": _l("Not a valid string."),
    "Not a valid integer.": _l("Not a valid integer."),
    "Not a valid number.": _l("Not a valid number."),
    "Not a valid list.": _l("Not a valid list."),
    "Not a valid boolean.": _l("Not a valid boolean."),
    "Unknown field.": _l("Unknown field."),
    "Field may not be null.": _l("Field may not be null."),
    "Invalid input type.": _l("Invalid input type."),
    "Invalid JSON body.": _l("The request body is not valid JSON."),
    "Not a valid datetime.": _l("Not a valid date and time."),
    "Not a valid date.": _l("Not a valid date."),
    "Not a valid mapping type.": _l("Not a valid object."),
}


# Messages of marshmallow's validators, which carry values.
LIBRARY_PATTERNS = [
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"),
     lambda m: _("Must be one of: %(choices)s.", choices=m["choices"])),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to "
                r"(?P<max>\S+)\.$"),
     lambda m: _("Must be from %(min)s to %(max)s.", min=m["min"], max=m["max"])),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"),
     lambda m: _("Must be at least %(min)s.", min=m["min"])),
    (re.compile(r"^Longer than maximum length (?P<n>\d+)\.$"),
     lambda m: _("Too long: at most %(n)d characters.", n=int(m["n"]))),
]


def _translate_message(message: str) -> str:
    if message in LIBRARY_MESSAGES:
        return str(LIBRARY_MESSAGES[message])
    for pattern, translate in LIBRARY_PATTERNS:
        match = pattern.match(message)
        if match:
            return translate(match)
    return message


def _translate_messages(messages):
    if isinstance(messages, dict):
        return {key: _translate_messages(value) for key, value in messages.items()}
    if isinstance(messages, list | tuple):
        return [_translate_messages(value) for value in messages]
    if isinstance(messages, str):
        return _translate_message(messages)
    return messages


def api_error(status: int, message: str | None = None, errors=None, headers=None):
    body = {"status": status, "message": str(message or STATUS_MESSAGES.get(status, ""))}
    if errors:
        body["errors"] = _translate_messages(errors)
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def page_error(status: int, message: str | None = None):
    message = message or STATUS_MESSAGES.get(status, STATUS_MESSAGES[500])
    return render_template("error.html", status=status, message=message), status


def handle_denied(exc: Denied):
    from flask_login import current_user

    from supervise.events.log import record_event
    from supervise.events.models import Outcome
    from supervise.extensions import db

    discard_session()
    if exc.status == 403 and exc.reason == "permission":
        # A signed-in user reaching for what their role may not use is worth recording.
        record_event("access.denied", actor=current_user, outcome=Outcome.DENIED,
                     details={"endpoint": request.endpoint, "method": request.method})
        db.session.commit()
    if is_api_request():
        if exc.status == 401:
            return api_error(401, _("Sign in or send a valid bearer token."),
                             headers={"WWW-Authenticate": 'Bearer realm="supervise"'})
        if exc.reason == "password change required":
            return api_error(403, _("You must change your password on the web before using "
                                    "the API."))
        return api_error(exc.status)
    if exc.status == 401:
        from flask import g

        args = {"next": request.full_path.rstrip("?")}
        if g.get("session_expired"):
            args["expired"] = 1
        return redirect(url_for("accounts.login", **args))
    if exc.reason == "password change required":
        return redirect(url_for("accounts.change_password"))
    return page_error(exc.status)


def handle_http_exception(exc: HTTPException):
    discard_session()
    status = exc.code or 500
    # What the exception says beside its page: Allow on a 405, Retry-After on a 429...
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    if is_api_request():
        errors = None
        data = getattr(exc, "data", None) or {}
        message = None
        if isinstance(exc, CSRFError):
            message = _("The form has expired or lacks its security token. Reload and try again.")
        elif "messages" in data:  # webargs validation
            errors = data["messages"]
            if errors == {"json": ["Invalid JSON body."]}:
                message, errors = LIBRARY_MESSAGES["Invalid JSON body."], None
            elif isinstance(errors, dict) and len(errors) == 1:
                # {"json": {...}} -> {...}: the location adds nothing for the reader
                errors = next(iter(errors.values()))
        return api_error(status, message, errors, headers=headers)
    if isinstance(exc, CSRFError):
        return page_error(400, _("The form has expired or lacks its security token. "
                                 "Reload the page and try again."))
    body, status = page_error(status)
    return body, status, headers


def handle_operation_error(exc: OperationError):
    discard_session()
    if is_api_request():
        return api_error(exc.status, exc.message, getattr(exc, "errors", None))
    message = str(exc.message)
    if getattr(exc, "errors", None):
        message = " ".join([message, *map(str, exc.errors.values())])
    return page_error(exc.status, message)


def handle_bad_input(exc: BadInput):
    discard_session()
    if is_api_request():
        return api_error(exc.status, exc.message, exc.errors)
    return page_error(exc.status, str(exc.message))


def handle_unexpected(exc: Exception):
    from flask import current_app

    discard_session()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if is_api_request():
        return api_error(500)
    try:
        return page_error(500)
    except Exception:  # the page itself cannot be built: a bare answer then
        current_app.logger.exception("the error page failed")
        return str(STATUS_MESSAGES[500]), 500, {"Content-Type": "text/plain; charset=utf-8"}


def register_error_handlers(app) -> None:
    app.register_error_handler(Denied, handle_denied)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationError, handle_operation_error)
    app.register_error_handler(BadInput, handle_bad_input)
    if not app.config.get("TESTING") or app.config.get("HANDLE_UNEXPECTED"):
        app.register_error_handler(Exception, handle_unexpected)

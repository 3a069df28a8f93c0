"""The request boundary of the HTML pages: one way to run an operation from a posted form.

Every page that changes something repeats the same block: check the form, run the operation,
commit, flash what was done and redirect; or, when the operation refuses, discard the session
(and with it any file stored during the request, see `attachments.storage`), show why and render
the page again with the status that says so. `attempt` is that block, once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request
from flask_babel import gettext as _

from supervise.errors import InvalidInput, OperationError, discard_session
from supervise.extensions import db

Show = Callable[[int, dict[str, str]], Any]  # (status, field errors) -> the page again


def attempt(operate: Callable[[], Any], *, done: Callable[[Any], Any], show: Show, form=None,
            flash_invalid: bool = False, invalid_status: int = 400):
    """Run `operate` and commit; answer `done(result)`. When `form` (a Flask-WTF form) is
    given, a GET shows the page and a POST that does not validate shows it with 400, before
    anything runs. An operation's field errors go to the form's fields where it has them (and
    are flashed otherwise, or always with `flash_invalid`) and answer `invalid_status`; any
    other refusal is flashed and answers with its own status."""
    if form is not None and not form.validate_on_submit():
        return show(400 if request.method == "POST" else 200, {})
    try:
        result = operate()
        db.session.commit()
    except InvalidInput as exc:
        discard_session()
        unplaced = []
        for name, message in exc.errors.items():
            field = getattr(form, name, None) if form is not None else None
            if field is not None and hasattr(field, "errors"):
                field.errors = [message]
            else:
                unplaced.append(message)
        if unplaced and (form is not None or flash_invalid):
            flash(" ".join(unplaced), "error")
        return show(invalid_status, exc.errors)
    except OperationError as exc:
        discard_session()
        flash(exc.message, "error")
        return show(exc.status, {})
    return done(result)


def posted(input_cls):
    """A workflow step's input as a page's form posts it: each field of the dataclass by its
    name, a yes/no field checked when it is "1", `files` the files chosen."""
    values = {}
    for field in dataclasses.fields(input_cls):
        if field.name == "files":
            values["files"] = tuple(f for f in request.files.getlist("files") if f and f.filename)
        elif field.type in (bool, "bool"):
            values[field.name] = request.form.get(field.name) == "1"
        else:
            values[field.name] = request.form.get(field.name, "")
    return input_cls(**values)


def kept(action: str, name: str, default: str = "") -> str:
    """What the user typed into a field of a step's form when that step was posted and refused:
    the record's page, shown again, keeps it (the forms of its other steps start afresh)."""
    if request.method == "POST" and (request.view_args or {}).get("action") == action:
        return request.form.get(name, default)
    return default


def take_step(take: Callable[[Any, Any], Any], input_cls, *, next_url: Callable[[Any], str],
              show: Show):
    """A workflow step posted from a record's page: its input read from the form (`posted`),
    run by `take(input, version)` (supervise.workflow); then "Done: <action>" and
    `next_url(step)`, or the record's page again with why not."""
    return attempt(
        lambda: take(posted(input_cls), request.form.get("version")),
        done=lambda step: done(_("Done: %(action)s.", action=step.action.label),
                               next_url(step)),
        show=show, flash_invalid=True)


def done(message: str | None, location: str):
    """Flash what was done (if anything worth saying) and go to `location`."""
    if message:
        flash(message, "success")
    return redirect(location)


class MarksRequired:
    """A Flask-WTF form whose fields named in `required` (the operation's own list: the rules
    are checked there, not by the form) are marked on the page as fields to fill."""

    required: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.required:
            getattr(self, name).flags.required = True


class AllowList:
    """A record as a page shows it to an outside audience: the attributes named in `allowed`,
    nothing else, so that a new column stays hidden until someone names it here. A name maps to
    None (the value as it is) or to the allow-list of the related record(s)."""

    __slots__ = ("_record", "_allowed")

    def __init__(self, record, allowed: dict):
        self._record = record
        self._allowed = allowed

    def __getattr__(self, name):
        allowed = object.__getattribute__(self, "_allowed")
        if name not in allowed:
            raise AttributeError(name)  # a template reads it as undefined: shown as nothing
        value = getattr(object.__getattribute__(self, "_record"), name)
        nested = allowed[name]
        if nested is None or value is None:
            return value
        if isinstance(value, list | tuple):
            return [AllowList(item, nested) for item in value]
        return AllowList(value, nested)

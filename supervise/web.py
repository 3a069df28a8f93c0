"""The request boundary: what a request may carry before any view reads it.

Every request passes `check_input` after the access check and before its view. A body that
cannot be read (JSON that does not parse, is nested absurdly deep, holds a number too long to be
one or an unpaired surrogate; a multipart body that breaks off), text with a NUL character, an
API body of a type the endpoint does not take, or query arguments an API endpoint does not read,
is refused with a clear message in the user's language before a view touches it, and so before
anything can change. A body that the CSRF check reads first is read with the same checks.

The rest of the code reads bodies through Flask (`request.get_json()`, `request.form`), which
return what was parsed and checked here.
"""

from __future__ import annotations

import json
import math

import flask
from flask import current_app, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import Schema, fields
from webargs.flaskparser import FlaskParser
from werkzeug.formparser import FormDataParser
from werkzeug.routing import BaseConverter

# Deeper than any document the API takes; far below where the parser would exhaust the stack.
MAX_JSON_DEPTH = 32
JSON = "application/json"
MULTIPART = "multipart/form-data"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BadInput(Exception):
    """A request that cannot be read; answered 400 (or `status`) with the message, and, field
    by field, `errors`."""

    def __init__(self, message, status: int = 400, errors: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.status = status
        self.errors = errors


MESSAGES = {
    "json": _l("The request body is not valid JSON."),
    "depth": _l("The request body is nested too deeply."),
    "number": _l("A number in the request is out of range."),
    "character": _l("The request contains a character that is not allowed (an unpaired "
                    "surrogate or a NUL)."),
    "form": _l("The form data could not be read. Send it again."),
}


def _bad_constant(name: str):
    raise BadInput(MESSAGES["number"])


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise BadInput(MESSAGES["number"])
    return value


def bad_text(value: str | None) -> bool:
    """Text no field may hold: a NUL, or an unpaired surrogate (not encodable as UTF-8); and no
    text at all where a name must be (a multipart part whose name does not parse has none)."""
    if not isinstance(value, str):
        return True
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_document(value) -> None:
    """Walk a parsed JSON document without recursion: depth and text."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadInput(MESSAGES["depth"])
        if isinstance(item, str):
            if bad_text(item):
                raise BadInput(MESSAGES["character"])
        elif isinstance(item, dict):
            for key, child in item.items():
                if bad_text(key):
                    raise BadInput(MESSAGES["character"])
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def parse_json(data: str | bytes):
    """JSON as the API reads it: no NaN or Infinity, no number beyond range, bounded depth,
    only text that can be stored. Raises BadInput with the reason."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(MESSAGES["json"]) from None
    try:
        value = json.loads(data, parse_constant=_bad_constant, parse_float=_float)
    except RecursionError:
        raise BadInput(MESSAGES["depth"]) from None
    except BadInput:
        raise
    except ValueError:  # JSONDecodeError, and an integer of more than 4300 digits
        raise BadInput(MESSAGES["json"]) from None
    check_document(value)
    return value


class JSONProvider(DefaultJSONProvider):
    """The app's JSON: Chinese written as it is, keys in the order given, and reading with the
    checks above (`request.get_json()`, and so Flask-WTF and webargs, read through it)."""

    ensure_ascii = False
    sort_keys = False

    def loads(self, s, **kwargs):
        return parse_json(s)


class StrictFormDataParser(FormDataParser):
    """Werkzeug's parser, but a broken body raises instead of reading as an empty form."""

    def __init__(self, *args, **kwargs):
        kwargs["silent"] = False
        super().__init__(*args, **kwargs)


class Request(flask.Request):
    form_data_parser_class = StrictFormDataParser

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except ValueError:
            raise BadInput(MESSAGES["form"]) from None

    def on_json_loading_failed(self, e):
        if e is None:  # read as JSON, sent as something else
            raise BadInput(_l("This content type is not supported."), 415)
        if isinstance(e, BadInput):
            raise e
        raise BadInput(MESSAGES["json"])


class Parser(FlaskParser):
    """webargs reading JSON through the request, so the body is parsed (and checked) once; and
    an upload's form fields with its files, so that a field beside the file is refused as
    unknown rather than ignored."""

    # What an argument schema does with a name it does not know: refuse it, wherever it came
    # from (webargs leaves unknown query arguments and files out, silently, by default).
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": None, "querystring": None, "files": None}

    def load_files(self, req, schema):
        from werkzeug.datastructures import CombinedMultiDict

        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)

    def _raw_load_json(self, req):
        from webargs import core

        if not core.is_json(req.mimetype):
            return core.missing
        if not req.get_data(cache=True):
            return core.missing
        return req.get_json()


class Blueprint(SmorestBlueprint):
    """flask-smorest's blueprint with the parser above."""

    ARGUMENTS_PARSER = Parser()


class ErrorSchema(Schema):
    """Every error the API answers (supervise.errors.api_error), as the document says."""

    status = fields.Integer(required=True, metadata={"description": "The HTTP status"})
    message = fields.String(required=True, metadata={
        "description": "What went wrong, in the caller's language"})
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "Field by field: the name of each field that did not pass, and why"})


# Text no field takes (bad_text): the document says so, so that a client, or a test generating
# requests from the document, knows it before being refused.
NO_NUL = "^[^\\u0000]*$"


def _no_nul(self, field, ret, **kwargs) -> dict:
    """apispec attribute function: every free-text string carries the NUL-free pattern."""
    if isinstance(field, fields.String) and not ret.get("pattern") and not ret.get("enum") \
            and not ret.get("format"):
        return {"pattern": NO_NUL}
    return {}


def _empty_value(self, field, ret, **kwargs) -> dict:
    """apispec parameter function: a query schema that reads an empty value as no value (its
    class says `EMPTY_IS_ABSENT`) documents that its parameters allow one."""
    if ret.get("in") == "query" and getattr(field.parent, "EMPTY_IS_ABSENT", False):
        return {"allowEmptyValue": True}
    return {}


class Api(SmorestApi):
    """flask-smorest's Api with the error body the API really answers, and strings documented
    as the boundary checks them."""

    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, *args, **kwargs):
        super()._init_spec(*args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(_no_nul)
        self.ma_plugin.converter.add_parameter_attribute_function(_empty_value)


class PublicIdConverter(BaseConverter):
    """A record's public id in a path (`database.new_public_id`): 16 URL-safe characters, so
    that `/findings/similar` is never read as the finding "similar"."""

    regex = r"[A-Za-z0-9_-]{16}"


PUBLIC_ID_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_-]{16}$"}


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def bearer_token() -> str | None:
    """The bearer token of an API request, or None. Pages never accept one."""
    if not is_api_request():
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or ""


def current_actor():
    """The signed-in user as the model object the operations take (not Flask-Login's proxy)."""
    from flask_login import current_user

    return current_user._get_current_object()


class Denied(Exception):
    """Raised by the chokepoint; the error handlers turn it into the right answer."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def one_of(values) -> str:
    """A path converter that matches these words only (werkzeug's `any`): an address whose word
    is none of them is no route at all (404, or 405 where another route has the address)."""
    return "any(" + ", ".join(repr(str(v)) for v in values) + ")"


def accepts(*mimetypes: str):
    """The body types an API endpoint takes besides none at all (default: JSON only)."""

    def decorator(view):
        view.accepts = frozenset(mimetypes)
        return view

    return decorator


def _accepted(endpoint: str) -> frozenset[str]:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "accepts", frozenset({JSON}))


BODY_LOCATIONS = frozenset({"json", "form", "files"})


def _locations(view) -> set[str]:
    parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return {p.get("in") for p in parameters}


def _takes_body(view) -> bool:
    return bool(_locations(view) & BODY_LOCATIONS)


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _check_values(values) -> None:
    for key, value in values.items(multi=True):
        if bad_text(key) or bad_text(value):
            raise BadInput(MESSAGES["character"])


def check_input() -> None:
    """Before every request: the query, the body and its type."""
    if request.endpoint is None:
        return  # no route: Flask answers 404
    _check_values(request.args)
    view = current_app.view_functions.get(request.endpoint)
    if request.args and hasattr(view, "_apidoc") and "query" not in _locations(view):
        raise BadInput(_l("This address takes no query arguments."))
    if request.method not in BODY_METHODS or not _has_body():
        return
    mimetype = request.mimetype
    if request.path.startswith("/api/") and mimetype not in _accepted(request.endpoint):
        raise BadInput(_l("This endpoint takes %(types)s.",
                          types=", ".join(sorted(_accepted(request.endpoint)))), 415)
    if mimetype == JSON or mimetype.endswith("+json"):
        document = request.get_json()
        if hasattr(view, "_apidoc") and not _takes_body(view) and document not in (None, {}):
            raise BadInput(_l("This request takes no body."))
    elif mimetype in (MULTIPART, "application/x-www-form-urlencoded"):
        _check_values(request.form)
        for name, upload in request.files.items(multi=True):
            if bad_text(name) or bad_text(upload.filename or ""):
                raise BadInput(MESSAGES["character"])


def init_app(app) -> None:
    app.url_map.converters["pid"] = PublicIdConverter
    app.request_class = Request
    app.json = JSONProvider(app)

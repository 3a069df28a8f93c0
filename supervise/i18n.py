
"""Language and time display. Simplified Chinese unless the user chose English."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_request_context, request, session
from flask_login import current_user

from supervise.database import BEIJING_TIME, now_utc


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # commands and background work speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.path.startswith("/api/") and request.headers.get("Accept-Language"):
        # An API client asks explicitly; a browser's default header does not override the choice.
        best = request.accept_languages.best_match(languages)
        if best:
            return best
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC time as the user reads it, in Asia/Shanghai."""
    if value is None:
        return ""
    return value.astimezone(BEIJING_TIME).strftime(fmt)


# Half-width marks and their full-width forms, as Chinese text writes them.
FULL_WIDTH = str.maketrans(",.:;!?()", "，。：；！？（）")


def punctuation(marks: str) -> str:
    """Punctuation a template puts between its words and values: as given in English (": ",
    " ("), and in Chinese full-width without the spaces ("：", "（")."""
    from flask_babel import get_locale

    if get_locale().language == "en":
        return marks
    return marks.strip().translate(FULL_WIDTH)


def combine_args(args: dict | None = None, **overrides) -> dict:
    """Query arguments for a link: the page's own without the page number, empty values and
    names `url_for` would take as its own options (`_method`, `_external`, ...), with
    `overrides` on top."""
    merged = {k: v for k, v in (args or {}).items()
              if k != "page" and not k.startswith("_") and v not in ("", None)}
    merged.update({k: v for k, v in overrides.items() if v not in ("", None)})
    return merged


def init_app(app) -> None:
    from supervise.money import format_wan, format_yuan
    from supervise.pages import kept
    from supervise.pagination import page_url

    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["yuan"] = format_yuan
    app.jinja_env.filters["wan"] = format_wan
    app.jinja_env.filters["combine_args"] = combine_args
    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["kept"] = kept
    app.jinja_env.globals["now_utc"] = now_utc
    app.jinja_env.globals["punct"] = punctuation

    @app.context_processor
    def _language_context():
        from flask_babel import get_locale

        # Babel expands "zh_CN" to zh_Hans_CN; templates compare against the codes users pick.
        return {
            "current_locale": "en" if get_locale().language == "en" else "zh_CN",
        }

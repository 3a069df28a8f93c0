"""supervise: a joint-supervision case-sharing platform."""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    from supervise.config import load_config

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(app.instance_path, config))

    import supervise.models  # noqa: F401  (every table in the metadata)

    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)

    from supervise.errors import register_error_handlers

    register_error_handlers(app)

    from supervise.commands import register_commands

    register_commands(app)
    proxies = app.config["SUPERVISE_PROXIES"]
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address, scheme and host as the configured proxies pass them on; a
        # header from further out (which the client may have written) is not believed.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    return app


def register_extensions(app: Flask) -> None:
    from supervise import crypto, i18n, web
    from supervise.extensions import api, babel, csrf, db, login_manager, migrate

    web.init_app(app)  # the request and JSON classes, the path converters: before any route
    db.init_app(app)
    crypto.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    # Sessions are server-side credentials (accounts.auth); Flask-Login's own cookie checks
    # would only add keys to the cookie.
    login_manager.session_protection = None
    babel.init_app(app, locale_selector=i18n.select_locale)
    api.register_converter(web.PublicIdConverter, lambda converter: dict(web.PUBLIC_ID_SCHEMA))
    api.init_app(app)
    i18n.init_app(app)


def register_blueprints(app: Flask) -> None:
    # Importing the loader registers it with Flask-Login.
    import supervise.accounts.auth  # noqa: F401
    from supervise import uses
    from supervise.accounts.admin_views import blueprint as admin_blueprint
    from supervise.accounts.api import blueprint as accounts_api
    from supervise.accounts.views import blueprint as accounts_blueprint
    from supervise.announcements.views import blueprint as announcements_blueprint
    from supervise.calendar.api import blueprint as calendar_api
    from supervise.calendar.views import blueprint as calendar_blueprint
    from supervise.documents.api import blueprint as documents_api
    from supervise.documents.views import blueprint as documents_blueprint
    from supervise.dossier.views import blueprint as dossier_blueprint
    from supervise.events.views import blueprint as events_blueprint
    from supervise.extensions import api
    from supervise.findings.api import blueprint as findings_api
    from supervise.findings.views import blueprint as findings_blueprint
    from supervise.health import blueprint as health_blueprint
    from supervise.ledgers.api import blueprint as ledgers_api
    from supervise.ledgers.exports_api import blueprint as exports_api
    from supervise.ledgers.views import blueprint as exports_blueprint
    from supervise.notifications.api import blueprint as notifications_api
    from supervise.notifications.views import blueprint as notifications_blueprint
    from supervise.projects.views import blueprint as projects_blueprint
    from supervise.rectifications.api import blueprint as rectifications_api
    from supervise.rectifications.views import blueprint as rectifications_blueprint
    from supervise.referrals.api import blueprint as referrals_api
    from supervise.referrals.views import blueprint as referrals_blueprint
    from supervise.search.api import blueprint as search_api
    from supervise.search.views import blueprint as search_blueprint
    from supervise.settings import models as settings
    from supervise.settings.views import blueprint as settings_blueprint
    from supervise.statistics.api import blueprint as statistics_api
    from supervise.statistics.views import blueprint as statistics_blueprint
    from supervise.todo.api import blueprint as todo_api
    from supervise.todo.views import blueprint as todo_blueprint

    uses.init_app(app)
    settings.init_app(app)
    app.register_blueprint(accounts_blueprint)
    app.register_blueprint(admin_blueprint)
    app.register_blueprint(events_blueprint)
    app.register_blueprint(findings_blueprint)
    app.register_blueprint(projects_blueprint)
    app.register_blueprint(settings_blueprint)
    app.register_blueprint(calendar_blueprint)
    app.register_blueprint(referrals_blueprint)
    app.register_blueprint(rectifications_blueprint)
    app.register_blueprint(announcements_blueprint)
    app.register_blueprint(notifications_blueprint)
    app.register_blueprint(todo_blueprint)
    app.register_blueprint(health_blueprint)
    app.register_blueprint(exports_blueprint)
    app.register_blueprint(search_blueprint)
    app.register_blueprint(statistics_blueprint)
    app.register_blueprint(dossier_blueprint)
    app.register_blueprint(documents_blueprint)
    api.register_blueprint(accounts_api, url_prefix="/api/v1")
    api.register_blueprint(findings_api, url_prefix="/api/v1")
    api.register_blueprint(notifications_api, url_prefix="/api/v1")
    api.register_blueprint(todo_api, url_prefix="/api/v1")
    api.register_blueprint(calendar_api, url_prefix="/api/v1")
    api.register_blueprint(referrals_api, url_prefix="/api/v1")
    api.register_blueprint(rectifications_api, url_prefix="/api/v1")
    api.register_blueprint(ledgers_api, url_prefix="/api/v1")
    api.register_blueprint(documents_api, url_prefix="/api/v1")
    api.register_blueprint(exports_api, url_prefix="/api/v1")
    api.register_blueprint(search_api, url_prefix="/api/v1")
    api.register_blueprint(statistics_api, url_prefix="/api/v1")


def register_hooks(app: Flask) -> None:
    from supervise import policy, web
    from supervise.security import set_security_headers

    policy.init_app(app)  # the access check runs first
    app.before_request(web.check_input)  # after the access check: a stranger learns nothing
    app.after_request(set_security_headers)

"""The application factory: the only place an app is built. Importing ``app`` does no work."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, g


def create_app(overrides: dict | None = None) -> Flask:
    from config import build_config

    app = Flask(__name__, instance_path=str(Path(__file__).resolve().parent.parent / "instance"))
    app.config.update(build_config(overrides))
    from app.ids import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added
    from app.security import ROLE_PERMISSIONS

    app.config.setdefault("FAB_ROLES", ROLE_PERMISSIONS)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(app.root_path) / "translations")
    logging.basicConfig(level=logging.INFO if app.config["APP_MODE"] != "test" else logging.WARNING)

    register_extensions(app)
    with app.app_context():
        register_appbuilder(app)
    register_hooks(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from app import models as _models  # noqa: F401  (registers every table on the metadata)
    from app.extensions import csrf, db, migrate

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: enforce foreign keys and let readers work while a job writes (WAL)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()


def register_appbuilder(app: Flask) -> None:
    from flask_appbuilder import AppBuilder

    from app.extensions import db
    from app.views import register_views

    appbuilder = AppBuilder(base_template="base.html")
    appbuilder.init_app(app, db.session)
    register_views(appbuilder)


def register_hooks(app: Flask) -> None:
    from app.views.input_guard import refuse_hostile_input
    from app.views.login import force_password_change, require_live_session
    from app.views.scoped import refuse_unsafe_routes

    @app.before_request
    def new_csp_nonce():
        """A fresh nonce per response: the only inline scripts that run are the ones our templates
        (and FAB's, through ``baselib.get_nonce()``) wrote with it — an injected one has none."""
        g.csp_nonce = secrets.token_urlsafe(18)

    # a global, not a context processor: FAB's widgets import baselib without context and still see it
    app.jinja_env.globals["csp_nonce"] = lambda: g.get("csp_nonce", "")
    # every template shows a stored (UTC) time the one way: Asia/Shanghai wall time (app/clock.py)
    from app.clock import format_local

    app.jinja_env.globals["local_time"] = format_local
    # a status label shown in a list cell, in the request's language (app/i18n.py; "" stays "")
    from app.i18n import word

    app.jinja_env.filters["word"] = word

    app.before_request(refuse_hostile_input)
    app.before_request(refuse_unsafe_routes)
    app.before_request(require_live_session)
    app.before_request(force_password_change)

    @app.after_request
    def security_headers(response):
        nonce = g.get("csp_nonce")
        scripts = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config["APP_MODE"] == "production":  # served over TLS only (README, deploy/nginx-gd.conf)
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            f"script-src {scripts}; object-src 'none'; base-uri 'self'; font-src 'self' data:; "
            "frame-ancestors 'none'",
        )
        return response

    from app.views.errors import register_error_handlers
    from app.views.health import register as register_health

    register_error_handlers(app)
    register_health(app)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)

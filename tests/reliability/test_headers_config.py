"""Security headers on every response, cookie flags, and a production config that refuses to be unsafe."""
from __future__ import annotations

import re

import pytest

import config
from tests.reliability.conftest import check_headers, csp_directives

def test_error_and_static_pages_have_the_security_headers(app, login):
    """Login, 404, static files and a list page carry the headers, logged in or not.

    Every other GET rule is checked by test_csrf_sweep.test_no_get_changes_data (CE admin) and by the
    route matrix (the four other roles) on each response they get.
    """
    from tests.reliability.conftest import AnonClient

    problems = []
    for c in (login("jjy001"), AnonClient(app)):
        for url in ("/login/", "/no/such/page", "/static/app.css", "/students/list/", "/api/v1/students/"):
            problems += check_headers(c.get(url), url)
    assert not problems, "\n".join(problems)


def test_pages_load_scripts_only_from_the_app(app, ce_client):
    """No page pulls a script or stylesheet from another host (campus networks, and CSP 'self')."""
    for url in ("/", "/students/list/", "/graduation/audit/", "/degree/audit/", "/tasks/", "/login/"):
        page = ce_client.get(url).get_data(as_text=True)
        external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//[^"]+"', page)
        assert not external, (url, external)


def test_inline_scripts_are_why_unsafe_inline_stays(app, ce_client):
    """FAB's own templates carry inline <script> blocks: 'unsafe-inline' for scripts is still needed."""
    page = ce_client.get("/students/list/").get_data(as_text=True)
    inline = [m for m in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", page, re.S) if m.strip()]
    csp = csp_directives(ce_client.get("/").headers["Content-Security-Policy"])
    assert inline, "no inline script left: drop 'unsafe-inline' from script-src"
    assert "'unsafe-inline'" in csp["script-src"]


def test_session_cookie_flags(app, world):
    """The session cookie is HttpOnly and SameSite=Lax after login (not Secure in the http test mode)."""
    from tests.test_auth import Browser
    from tests import factories

    resp = Browser(app).login("jxd001", factories.PASSWORD)
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture()
def production_env(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_MODE", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6399/0")
    monkeypatch.setenv("SECRET_KEY", "9f1c2b7e4d5a6c8b0e3f1a2d4c6b8e0f")
    return monkeypatch


def test_production_cookies_are_secure(production_env):
    """In production the session cookie is Secure, HttpOnly and SameSite=Lax, and jobs go to RQ."""
    from app import create_app

    app = create_app()
    assert app.config["APP_MODE"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert app.config["JOBS_MODE"] == "rq"
    assert app.config["SECRET_KEY"] == "9f1c2b7e4d5a6c8b0e3f1a2d4c6b8e0f"


@pytest.mark.parametrize("key", [None, "", "changeme", "secret", "dev", "please-change-me"])
def test_production_refuses_a_default_or_missing_secret_key(production_env, key):
    """No production start with a missing or well-known SECRET_KEY (ConfigError)."""
    if key is None:
        production_env.delenv("SECRET_KEY")
    else:
        production_env.setenv("SECRET_KEY", key)
    with pytest.raises(config.ConfigError):
        config.build_config()


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL"])
def test_production_needs_database_and_redis(production_env, missing):
    """Production never falls back to SQLite or in-process jobs: DATABASE_URL and REDIS_URL are required."""
    production_env.delenv(missing)
    with pytest.raises(config.ConfigError):
        config.build_config()

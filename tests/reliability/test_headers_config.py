"""Security headers on every response, cookie flags, and a production config that refuses to be unsafe."""
from __future__ import annotations

import re

import pytest

import config
from tests.reliability.conftest import SCRIPT_TAG, check_headers, check_scripts, csp_directives


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


def test_scripts_run_only_with_the_responses_nonce(app, ce_client):
    """script-src is 'self' plus a nonce that changes with every response; FAB's inline scripts (list,
    search and form widgets) and ours carry it, and our pages have no inline handlers. An inline script
    injected into a page would have no nonce and would not run."""
    seen = set()
    for url in ("/students/list/", "/students/show/1", "/graduation/audit/", "/degree/audit/", "/tasks/",
                "/oplog/list/", "/students/list/"):
        resp = ce_client.get(url)
        assert resp.status_code == 200, url
        csp = csp_directives(resp.headers["Content-Security-Policy"])
        nonce = [s for s in csp["script-src"] if s.startswith("'nonce-")]
        assert csp["script-src"][0] == "'self'" and len(nonce) == 1 and "'unsafe-inline'" not in csp["script-src"]
        assert nonce[0] not in seen, "a nonce was used twice"
        seen.add(nonce[0])
        page = resp.get_data(as_text=True)
        assert not check_scripts(page, csp["script-src"], url), check_scripts(page, csp["script-src"], url)
        assert f'nonce="{nonce[0][7:-1]}"' in page  # FAB's and our script tags carry it
    page = ce_client.get("/students/list/").get_data(as_text=True)
    inline = [b for a, b in SCRIPT_TAG.findall(page) if "src=" not in a and b.strip()]
    assert inline, "FAB's list page has inline scripts: the nonce is what lets them run"


def test_a_script_without_the_nonce_is_reported(app):
    """The sweep's checker itself: an injected script, an onclick, a javascript: link are each caught."""
    src = ["'self'", "'nonce-abc'"]
    assert check_scripts('<script nonce="abc">ok()</script><script src="/x.js"></script>', src, "p") == []
    assert check_scripts("<script>alert(1)</script>", src, "p")
    assert check_scripts('<script nonce="zzz">alert(1)</script>', src, "p")
    assert check_scripts('<button onclick="alert(1)">x</button>', src, "p")
    assert check_scripts('<a href="javascript:alert(1)">x</a>', src, "p")


def test_session_cookie_flags(app, world):
    """The session cookie is HttpOnly and SameSite=Lax after login (not Secure in the http test mode)."""
    from tests import factories
    from tests.test_auth import Browser

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

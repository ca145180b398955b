"""CSRF over the whole URL map: every state-changing rule needs the form token; GET never changes data.

The JSON API (/api/) is CSRF-exempt by design; it must then refuse the browser's session cookie, so a
forged cross-site request carrying the cookie gets 401.
"""
from __future__ import annotations

from tests.reliability.conftest import changed_tables, check_headers, fingerprint
from tests.reliability.test_route_matrix import ALLOWED, build_url, hostile_form

WRITE = {"POST", "PUT", "DELETE", "PATCH"}


def _write_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.methods & WRITE and rule.endpoint not in ("static", "appbuilder.static"):
            yield rule


def test_every_write_without_token_is_refused(app, ce_client, hostile):
    """Every POST/PUT/DELETE rule outside /api/ answers 400 without the CSRF token and changes nothing."""
    checked, problems = 0, []
    before = fingerprint()
    for rule in _write_rules(app):
        url = build_url(rule, hostile)
        if url.startswith("/api/"):
            continue
        for method in sorted(rule.methods & WRITE):
            with app.app_context():
                resp = ce_client.client.open(url, method=method, data=hostile_form(rule, hostile))
            checked += 1
            if resp.status_code != 400:
                problems.append(f"{method} {url} without token -> {resp.status_code}")
    assert not problems, "\n".join(problems)
    assert not changed_tables(before, fingerprint())
    assert checked > 60


def test_login_form_without_token_is_refused(app, world):
    """Even the login form needs its token (login CSRF): without it, no session is opened."""
    client = app.test_client()
    with app.app_context():
        resp = client.post("/login/?type=org", data={"username": "jxd001", "password": "Test@2024x"})
    assert resp.status_code == 400


def test_api_refuses_the_session_cookie(app, ce_client, hostile):
    """Every /api/ rule except login/refresh answers 401 to a cookie-only request, and nothing changes."""
    before = fingerprint()
    seen = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(("SecurityApi.", "MenuApi.")):
            continue  # login/refresh take credentials; FAB's menu API returns only the caller's own menu
        url = build_url(rule, hostile)
        method = "GET" if "GET" in rule.methods else "POST"
        with app.app_context():
            resp = ce_client.client.open(url, method=method, json={"ids": [hostile.student]})
        assert resp.status_code == 401, (method, url, resp.status_code)
        seen += 1
    assert seen >= 5
    assert not changed_tables(before, fingerprint())


def test_api_writes_need_a_bearer_token(app, hostile):
    """The API's own login hands out a JWT; with it a read works, without it the same read is 401."""
    from tests.reliability.test_route_matrix import api_token

    headers = api_token(app, "jjy001")
    client = app.test_client()
    with app.app_context():
        assert client.get("/api/v1/students/", headers=headers).status_code == 200
        assert client.get("/api/v1/students/").status_code == 401


def test_no_get_changes_data(app, ce_client, hostile):
    """GET on every rule as the CE admin (who may do everything) changes no table; every answer has the headers."""
    from tests.reliability.test_route_matrix import ApiCaller, api_token

    client = ApiCaller(ce_client, app, api_token(app, "jjy001"))
    before = fingerprint()
    got = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "appbuilder.static", "LoginView.logout"):
            continue
        url = build_url(rule, hostile) if rule.endpoint not in ALLOWED or rule.arguments else rule.rule
        if "<" in url:
            url = build_url(rule, hostile)
        resp = client.get(url)
        got += 1
        assert resp.status_code < 500, (url, resp.status_code)
        assert not check_headers(resp, url), check_headers(resp, url)
    assert not changed_tables(before, fingerprint())
    assert got > 80

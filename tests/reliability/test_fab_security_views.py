"""Flask-AppBuilder's own security pages cannot change accounts past 账号管理 and the operation log.

Enumerated from the registered views (every view class from ``flask_appbuilder.security``), for every role and
anonymous: each of their routes is refused (403/404; anonymous: the login page, or 400 for a POST without a CSRF
token) — except 用户信息 (``/users/userinfo/``, ``/userinfoeditview/form``), which every staff account may open.
A POST changes nothing.
"""
from __future__ import annotations

import re

import pytest
from flask_appbuilder.security.views import UserDBModelView

from tests.reliability.conftest import changed_tables, fingerprint

ALLOWED_ENDPOINTS = {"UserDBModelView.userinfo", "UserInfoEditView.this_form_get", "UserInfoEditView.this_form_post"}
ROLES = {"ce_admin": "jjy001", "college_admin": "xy001", "site_admin": "jxd001", "student": "2020010001",
         "anonymous": None}


def _security_rules(app):
    # FAB's security views and our subclasses of them (用户信息's UserDBModelView, app/views/userinfo.py)
    names = {v.endpoint for v in app.appbuilder.baseviews
             if (type(v).__module__.startswith("flask_appbuilder.security.") or isinstance(v, UserDBModelView))
             and not type(v).__name__.endswith("Api")}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.rpartition(".")[0] in names and rule.endpoint not in ALLOWED_ENDPOINTS:
            yield rule


def test_fab_permission_pages_are_not_even_registered(app):
    """Base Permissions, Views/Menus and Permission on Views/Menus do not exist (roles live in code)."""
    endpoints = {r.endpoint.rpartition(".")[0] for r in app.url_map.iter_rules()}
    assert not endpoints & {"PermissionModelView", "ViewMenuModelView", "PermissionViewModelView"}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_fab_security_route_is_refused(app, world, login, role):
    """users/add|edit|delete, roles, groups, resetpassword, resetmypassword, user statistics: refused for every
    role (the CE admin too), and a POST to any of them changes nothing."""
    username = ROLES[role]
    client = login(username, "student" if role == "student" else "org") if username else None
    raw = app.test_client()
    rules = list(_security_rules(app))
    assert len(rules) > 20  # users, roles, groups, resets, statistics
    before = fingerprint()
    problems = []
    for rule in rules:
        url = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if client is None:
                with app.app_context():
                    resp = raw.open(url, method=method)
                ok = resp.status_code in (302, 400, 401, 403, 404, 405) and (
                    resp.status_code != 302 or "/login" in resp.headers["Location"])
            else:
                resp = client.get(url) if method == "GET" else client.post(url, data={"password": "Strong2024x",
                                                                                      "conf_password": "Strong2024x",
                                                                                      "roles": "1", "active": "y"})
                ok = resp.status_code in (403, 404, 405)
            if not ok:
                problems.append(f"{role} {method} {url} -> {resp.status_code}")
    assert not problems, "\n".join(problems)
    assert changed_tables(before, fingerprint()) == []


@pytest.mark.parametrize("username, login_type", [("jjy001", "org"), ("jxd001", "org")])
def test_user_info_stays_reachable(app, world, login, username, login_type):
    """用户信息 is the one FAB account page left, for staff."""
    assert login(username, login_type).get("/users/userinfo/").status_code == 200


def test_fab_security_menu_is_gone_for_the_ce_admin(app, world, ce_client):
    """No 'Security' menu with FAB's user and role lists in the CE admin's navbar."""
    page = ce_client.get("/").get_data(as_text=True)
    assert "/users/list/" not in page and "/roles/list/" not in page

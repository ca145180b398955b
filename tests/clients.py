"""Test clients that behave like a browser: one app context per request, CSRF tokens on every POST."""
from __future__ import annotations

import re

from app.extensions import db
from tests import factories


class Client:
    """Not logged in; takes its CSRF token from the login page."""

    token_url = "/login/"

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self._token = None

    @property
    def token(self) -> str:
        if self._token is None:
            page = self.get(self.token_url).get_data(as_text=True)
            self._token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        return self._token

    def get(self, url, **kw):
        # a fresh app context per request, as in production: no ``g`` or session shared with the test
        with self.app.app_context():
            return self.client.get(url, **kw)

    def post(self, url, data=None, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        with self.app.app_context():
            resp = self.client.post(url, data=data, **kw)
        db.session.expire_all()
        return resp


class RoleClient(Client):
    """Logged in as one account (password factories.PASSWORD) through the real login form."""

    token_url = "/account/password"

    def __init__(self, app, username: str, login_type: str = "org"):
        super().__init__(app)
        self.username = username
        page = self.get("/login/?type=" + login_type).get_data(as_text=True)
        login_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        r = self.post("/login/?type=" + login_type, csrf=False,
                      data={"username": username, "password": factories.PASSWORD, "login_type": login_type,
                            "csrf_token": login_token})
        assert r.status_code == 302, (username, r.status_code)
        assert "/login" not in r.headers.get("Location", ""), f"login failed for {username}"

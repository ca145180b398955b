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


GRADUATION_AUDIT = "/graduation/audit/"
ARCHIVE = "/graduation/archive/"


def bulk_post(client, action: str, *, filters: dict | None = None, ids=None, form: dict | None = None,
              base: str = GRADUATION_AUDIT, confirm: bool = True, **kw):
    """Start a list's FAB action as its page does (app/views/bulk.py).

    The page's filter travels in the URL as FAB's ``_flt_0_<key>``; ticked rows are ``rowid``. With
    nothing ticked the server first answers with its confirmation page (the count of the filter);
    ``confirm=True`` reads that count and posts it back, as a person clicking 确定 does.
    """
    from urllib.parse import urlencode

    query = urlencode({f"_flt_0_{k}": v for k, v in (filters or {}).items()})
    url = f"{base}action_post" + (f"?{query}" if query else "")
    data = {"action": action, **(form or {})}
    if ids:
        data["rowid"] = [str(i) for i in (ids if isinstance(ids, (list, tuple)) else [ids])]
    resp = client.post(url, data=data, **kw)
    if ids or not confirm or resp.status_code != 200:
        return resp
    match = re.search(r'name="confirmed" value="(\d+)"', resp.get_data(as_text=True))
    if not match:
        return resp
    return client.post(url, data={**data, "confirmed": match.group(1)}, **kw)


def flt(**filters) -> str:
    """A 毕业审核管理 list URL with the filter bar's values as FAB filter arguments."""
    from urllib.parse import urlencode

    return GRADUATION_AUDIT + ("?" + urlencode({f"_flt_0_{k}": v for k, v in filters.items()}) if filters else "")


_BAR_KEYS = ("enrol_grade", "study_grade", "level", "site_id", "major_id", "result", "confirm_state", "q")
DEGREE_AUDIT, DEGREE_UNAPPLIED, DEGREE_GRANTS = "/degree/audit/", "/degree/audit/unapplied/", "/degree/grants/"
_DEGREE_BAR_KEYS = ("batch_id", "result", "published", "site_id", "major_id", "grade", "level", "q")
# the former POST addresses of the degree buttons → (list, FAB action)
DEGREE_ACTIONS = {
    "audit": (DEGREE_AUDIT, "audit"), "override": (DEGREE_AUDIT, "override"), "review": (DEGREE_AUDIT, "review"),
    "final": (DEGREE_AUDIT, "final"), "register": (DEGREE_UNAPPLIED, "register"), "publish": (DEGREE_GRANTS, "publish"),
    # the former /exports/degree-summary is 学位申请审核管理's 导出 action
    "export": (DEGREE_AUDIT, "export"),
}


def answer_confirmation(client, url: str, data: dict | None, resp, **kw):
    """If the server answered with its nothing-ticked confirmation page, click 确定 (post its count back)."""
    if resp.status_code != 200:
        return resp
    match = re.search(r'name="confirmed" value="(\d+)"', resp.get_data(as_text=True))
    if not match:
        return resp
    return client.post(url, data={**(data or {}), "confirmed": match.group(1)}, **kw)


def press(client, url: str, data: dict | None = None, **kw):
    """Press a list's bulk button as a person does, answering the count confirmation when it is asked.

    毕业审核管理's and 毕业生档案管理's buttons, named by their former address (``/graduation/audit/<action>``,
    ``/graduation/archive/export``), are FAB actions now (``bulk_post``): filter-bar values go to the URL
    as FAB filters, ``ids`` become ticked ``rowid``s, anything else is the action's own form. Other
    URLs are posted as they are. The degree lists' former addresses (``/degree/audit/<action>``) likewise:
    学位申请审核管理's actions, 代为申请 on its 未申请 list, 发布 on 学位授予管理 (``applied`` only chose the list).
    """
    tail = url[len(DEGREE_AUDIT):] if url.startswith(DEGREE_AUDIT) else ""
    tail = "export" if url == "/exports/degree-summary" else tail
    if tail in DEGREE_ACTIONS:
        base, action = DEGREE_ACTIONS[tail]
        data = {k: v for k, v in (data or {}).items() if k != "applied"}
        ids = data.pop("ids", None)
        filters = {k: data.pop(k) for k in _DEGREE_BAR_KEYS if k in data}
        return bulk_post(client, action, filters=filters, ids=ids, form=data, base=base, **kw)
    if url == ARCHIVE + "export":
        base, action, keys = ARCHIVE, "export", _BAR_KEYS + ("graduated",)
    elif url.startswith(GRADUATION_AUDIT) and "/" not in url[len(GRADUATION_AUDIT):]:
        base, action, keys = GRADUATION_AUDIT, url[len(GRADUATION_AUDIT):], _BAR_KEYS
    else:
        return answer_confirmation(client, url, data, client.post(url, data=data, **kw), **kw)
    data = dict(data or {})
    ids = data.pop("ids", None)
    filters = {k: data.pop(k) for k in keys if k in data}
    return bulk_post(client, action, filters=filters, ids=ids, form=data, base=base, **kw)

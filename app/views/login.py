"""The login page (机构账号登录 / 学生登录) and the request hooks that keep a login honest.

The password check itself, with its lockout, is ``AppSecurityManager.authenticate`` (app/security.py);
sessions and passwords are ``app.services.accounts``.
"""
from __future__ import annotations

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user

from app.clock import format_local
from app.extensions import db
from app.services.accounts import AccountLocked, open_session, session_is_live

LOGIN_FAILED = "账号或密码错误。连续失败 %(failures)s 次，账号将被锁定 %(minutes)s 分钟。"
LOCKED = ("账号因连续登录失败已被暂时锁定，将于 %(until)s 自动解锁。"
          "在本人曾经成功登录过的浏览器上仍可直接登录；如有疑问请联系继教院管理员解除锁定。")
KNOWN_CLIENT_COOKIE = "gd_known"
KNOWN_CLIENT_DAYS = 180
KNOWN_CLIENT_MAX = 10  # accounts remembered per browser (a shared office computer)


def _known_serializer():
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-client")


def known_account_ids() -> frozenset[int]:
    """Accounts that logged in successfully from this browser before (a signed cookie nobody can forge):
    their lockout does not apply here, so a stranger's wrong passwords cannot keep the real user out."""
    raw = request.cookies.get(KNOWN_CLIENT_COOKIE)
    if not raw:
        return frozenset()
    try:
        ids = _known_serializer().loads(raw, max_age=KNOWN_CLIENT_DAYS * 86400)
    except Exception:  # tampered, expired or from another secret key: simply unknown
        return frozenset()
    return frozenset(i for i in ids if isinstance(i, int)) if isinstance(ids, list) else frozenset()


def remember_client(response, account_id: int):
    """After a successful login: this browser is one the account has used."""
    ids = [account_id] + [i for i in known_account_ids() if i != account_id]
    response.set_cookie(KNOWN_CLIENT_COOKIE, _known_serializer().dumps(ids[:KNOWN_CLIENT_MAX]),
                        max_age=KNOWN_CLIENT_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def login_failed_message() -> str:
    """The one answer to a failed login (unknown user, wrong password, lock), with the configured numbers."""
    cfg = current_app.config
    return gettext(LOGIN_FAILED, failures=cfg["LOGIN_MAX_FAILURES"], minutes=cfg["LOGIN_LOCK_MINUTES"])


class LoginView(AuthDBView):
    """Login page with the two entrances of the manual: 机构账号登录 (工号) and 学生登录 (学号)."""

    login_template = "security/login.html"

    @expose("/login/", methods=["GET", "POST"])
    def login(self):
        from flask_appbuilder.security.forms import LoginForm_db

        if g.user is not None and g.user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_index)
        form = LoginForm_db()
        login_type = request.form.get("login_type") or request.args.get("type") or "org"
        if form.validate_on_submit():
            next_url = get_safe_redirect(request.args.get("next", ""))
            again = url_for(".login", next=request.args.get("next") or None, type=login_type)
            try:
                user = self.appbuilder.sm.authenticate(form.username.data, form.password.data, login_type,
                                                       known_ids=known_account_ids())
            except AccountLocked as locked:
                db.session.commit()
                flash(gettext(LOCKED, until=format_local(locked.until, "%Y-%m-%d %H:%M")), "warning")
                return redirect(again)
            if user is None:
                flash(login_failed_message(), "warning")
                return redirect(again)
            login_user(user, remember=False)
            session["sid"] = open_session(user)
            db.session.commit()
            target = url_for("PasswordView.change") if user.must_change_password else next_url
            return remember_client(redirect(target), user.id)
        return self.render_template(
            self.login_template, title=_l("登录"), form=form, appbuilder=self.appbuilder, login_type=login_type
        )


SESSION_ENDED = "登录已失效（已退出、密码已修改或账号已停用），请重新登录"


def require_live_session():
    """before_request hook: a logged-in page request is served only while its session is open on the server.

    Flask's session cookie is signed, not stored; ``AccountSession`` is what 退出, a password change and
    停用 end. The API authenticates with JWTs and never with this cookie (tests/reliability/test_csrf_sweep.py).
    """
    user = g.get("user")
    if user is None or not getattr(user, "is_authenticated", False) or request.path.startswith("/api/"):
        return None
    if (request.endpoint or "").endswith("static"):
        return None
    if session_is_live(user.id, session.get("sid")):
        return None
    logout_user()
    session.clear()
    g.user = None
    flash(gettext(SESSION_ENDED), "warning")
    return redirect(url_for("LoginView.login"))


def force_password_change():
    """before_request hook: an account with the initial password may only change it or log out."""
    user = g.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not getattr(user, "must_change_password", False):
        return None
    allowed = {"PasswordView.change", "AuthDBView.logout", "LoginView.logout", "static", "appbuilder.static"}
    if request.endpoint in allowed or (request.endpoint or "").endswith(".static"):
        return None
    if request.path.startswith("/api/"):
        return None  # API callers get 403 from the API layer instead (see api module)
    flash(gettext("首次登录请先修改初始密码"), "info")
    return redirect(url_for("PasswordView.change"))

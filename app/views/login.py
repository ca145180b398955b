"""The login page (机构账号登录 / 学生登录) and the request hooks that keep a login honest.

The password check itself, with its lockout, is ``AppSecurityManager.authenticate`` (app/security.py);
sessions and passwords are ``app.services.accounts``.
"""
from __future__ import annotations

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user

from app.extensions import db
from app.services.accounts import open_session, session_is_live

LOGIN_FAILED = "账号或密码错误。连续失败 {failures} 次，账号将被锁定 {minutes} 分钟。"


def login_failed_message() -> str:
    """The one answer to a failed login (unknown user, wrong password, lock), with the configured numbers."""
    cfg = current_app.config
    return LOGIN_FAILED.format(failures=cfg["LOGIN_MAX_FAILURES"], minutes=cfg["LOGIN_LOCK_MINUTES"])


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
            user = self.appbuilder.sm.authenticate(form.username.data, form.password.data, login_type)
            if user is None:
                flash(login_failed_message(), "warning")
                return redirect(url_for(".login", next=request.args.get("next") or None, type=login_type))
            login_user(user, remember=False)
            session["sid"] = open_session(user)
            db.session.commit()
            if user.must_change_password:
                return redirect(url_for("PasswordView.change"))
            return redirect(next_url)
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
    flash(SESSION_ENDED, "warning")
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
    flash("首次登录请先修改初始密码", "info")
    return redirect(url_for("PasswordView.change"))

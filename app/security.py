"""Who may do what, and on which students.

Two layers, both on the server:
- *permissions* (which pages and actions a role has) come from ``ROLE_PERMISSIONS`` through FAB's
  built-in roles;
- *scope* (which students' rows) comes from the account's organisation: ``Scope`` and
  ``student_scope_clause`` are the only place that turns an account into a WHERE clause.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from flask import flash, g, redirect, request, session, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from sqlalchemy import false, true
from werkzeug.security import check_password_hash, generate_password_hash

from app.models.account import Account
from app.models.base import utcnow
from app.statuses import OrgKind, RoleName

# --------------------------------------------------------------------------- permissions

_READ = "can_list|can_show"
_ADMIN_VIEWS_READ = "|".join(
    [
        "StudentView",
        "TeachingPlanView",
        "PlanCourseView",
        "GradeView",
        "LanguageScoreView",
        "GraduateFormView",
    ]
)
_API_READ = "StudentApi|GraduationResultApi|DegreeApplicationApi|TaskApi|OpenApi"
_MENUS_ADMIN = "毕业相关|毕业审核管理|毕业生列表|毕业生档案管理|学位管理|学位审核及授予|学位申请审核管理|学位授予管理|任务中心|操作日志|学籍管理|学生学籍|教学计划|成绩|学位外语成绩|毕业生登记表|电子签名"


def _anchored(names: str) -> str:
    return f"^({names})$"


ROLE_PERMISSIONS: dict[str, list[list[str]]] = {
    # everything except the student-only 学生空间 (a CE account has no student record)
    RoleName.CE_ADMIN.value: [["^(?!学生空间$|StudentSpaceView$).*", ".*"]],
    RoleName.COLLEGE_ADMIN.value: [
        [_anchored("HomeView|PasswordView|TaskView|OperationLogView"), ".*"],
        [_anchored(_ADMIN_VIEWS_READ), _anchored(_READ + "|can_photo")],
        [_anchored("GraduationAuditView"), _anchored("can_list|can_detail|can_sync|can_audit|can_override|can_confirm|can_export|can_preview")],
        [_anchored("GraduateListView|GraduateArchiveView|ExportView|DegreeGrantView"), ".*"],
        [_anchored("DegreeAuditView"), _anchored("can_list|can_detail|can_audit|can_override|can_final|can_register|can_export")],
        [_anchored("SignatureView"), "^can_image$"],  # 初审 signatures of the college's students
        [_anchored(_API_READ), "^can_get$"],  # REST API (app/views/api.py), JWT only
        [_anchored("SwaggerView"), "^can_show$"],
        [_anchored("GraduationWorkflowApi"), _anchored("can_audit|can_confirm|can_override")],
        [_anchored("DegreeWorkflowApi"), _anchored("can_audit|can_final")],
        [_anchored(_MENUS_ADMIN), "^menu_access$"],
        [_anchored("GraduateFormView"), "^review_form$"],
        # own password only through PasswordView (old password + rules); FAB's reset form asks neither
        [_anchored("UserInfoEditView|UserDBModelView"), _anchored("can_this_form_get|can_this_form_post|can_userinfo|userinfoedit")],
    ],
    RoleName.SITE_ADMIN.value: [
        [_anchored("HomeView|PasswordView|TaskView|OperationLogView|SignatureView"), ".*"],
        [_anchored(_ADMIN_VIEWS_READ), _anchored(_READ + "|can_photo|can_upload_photo")],
        [_anchored("GraduationAuditView"), _anchored("can_list|can_detail|can_sync|can_audit|can_override|can_confirm|can_export|can_preview")],
        [_anchored("GraduateListView|GraduateArchiveView|ExportView|DegreeGrantView"), ".*"],
        [_anchored("DegreeAuditView"), _anchored("can_list|can_detail|can_audit|can_override|can_review|can_register|can_export")],
        [_anchored(_API_READ), "^can_get$"],  # REST API (app/views/api.py), JWT only
        [_anchored("SwaggerView"), "^can_show$"],
        [_anchored("GraduationWorkflowApi"), _anchored("can_audit|can_confirm|can_override")],
        [_anchored("DegreeWorkflowApi"), _anchored("can_audit|can_review")],
        [_anchored(_MENUS_ADMIN), "^menu_access$"],
        [_anchored("GraduateFormView"), "^review_form$"],
        [_anchored("UserInfoEditView|UserDBModelView"), _anchored("can_this_form_get|can_this_form_post|can_userinfo|userinfoedit")],
    ],
    RoleName.STUDENT.value: [
        [_anchored("StudentSpaceView|PasswordView"), ".*"],
        [_anchored("学生空间"), "^menu_access$"],
    ],
}

# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    """The set of students an account may see: all, a college's, a site's, one, or none."""

    kind: str  # "all" | "college" | "site" | "student" | "none"
    org_id: int | None = None
    student_id: int | None = None

    @property
    def is_all(self) -> bool:
        return self.kind == "all"


NO_SCOPE = Scope("none")


def scope_of(account: Account | None) -> Scope:
    """Derive the scope from roles and organisation; anything unexpected gets no rows at all."""
    if account is None or not getattr(account, "is_authenticated", False) or not account.is_active:
        return NO_SCOPE
    roles = {r.name for r in account.roles}
    if RoleName.CE_ADMIN.value in roles:
        return Scope("all")
    if RoleName.COLLEGE_ADMIN.value in roles and account.org and account.org.kind == OrgKind.COLLEGE.value:
        return Scope("college", org_id=account.org_id)
    if RoleName.SITE_ADMIN.value in roles and account.org and account.org.kind == OrgKind.SITE.value:
        return Scope("site", org_id=account.org_id)
    if RoleName.STUDENT.value in roles and account.student_id:
        return Scope("student", student_id=account.student_id)
    return NO_SCOPE


def current_scope() -> Scope:
    """The logged-in account's scope, computed once per request."""
    cached = g.get("_scope")
    if cached is None:
        cached = scope_of(g.get("user"))
        g._scope = cached
    return cached


def student_scope_clause(scope: Scope, student_cls=None):
    """SQL condition limiting ``Student`` rows (or any table joined to it) to the scope."""
    if student_cls is None:
        from app.models.student import Student as student_cls  # noqa: N813
    if scope.kind == "all":
        return true()
    if scope.kind == "college":
        return student_cls.college_id == scope.org_id
    if scope.kind == "site":
        return student_cls.site_id == scope.org_id
    if scope.kind == "student":
        return student_cls.id == scope.student_id
    return false()


def task_scope_clause(scope: Scope):
    """Tasks (任务中心) an account may see: its organisation's, or all for the CE admin; never a student's."""
    from app.models.task import Task

    if scope.is_all:
        return true()
    if scope.kind in ("site", "college") and scope.org_id is not None:
        return Task.org_id == scope.org_id
    return false()


def oplog_scope_clause(scope: Scope, actor_id: int | None):
    """操作日志 an account may see: CE all; a site or college its students' entries and its own actions."""
    from sqlalchemy import or_

    from app.models.oplog import OperationLog

    if scope.is_all:
        return true()
    mine = OperationLog.actor_id == actor_id if actor_id is not None else false()
    if scope.kind == "site":
        return or_(OperationLog.site_id == scope.org_id, mine)
    if scope.kind == "college":
        return or_(OperationLog.college_id == scope.org_id, mine)
    return false()


def role_of(account: Account | None) -> str | None:
    if account is None:
        return None
    names = {r.name for r in account.roles}
    for role in RoleName:
        if role.value in names:
            return role.value
    return None


# --------------------------------------------------------------------------- passwords


PASSWORD_RULE = re.compile(r"^(?=.*[A-Za-z])(?=.*\d).{8,64}$")


def password_problem(password: str) -> str | None:
    """None when the password is acceptable, else the Chinese reason."""
    if not PASSWORD_RULE.match(password or ""):
        return "密码至少 8 位，且必须同时包含字母和数字"
    return None


def initial_password(mobile: str) -> str:
    """Initial password of a new account, as the manual says: edu@<手机号>."""
    return f"edu@{mobile}"


# --------------------------------------------------------------------------- login

LOGIN_FAILED = "账号或密码错误。连续失败 5 次，账号将被锁定 15 分钟。"
LOGIN_LOCKED = "账号或密码错误，或账号已被暂时锁定，请 15 分钟后再试。"


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
                flash(LOGIN_FAILED, "warning")
                return redirect(url_for(".login", next=request.args.get("next") or None, type=login_type))
            from app.extensions import db
            from app.services.accounts import open_session

            login_user(user, remember=False)
            session["sid"] = open_session(user)
            db.session.commit()
            if user.must_change_password:
                return redirect(url_for("PasswordView.change"))
            return redirect(next_url)
        return self.render_template(
            self.login_template, title=_l("登录"), form=form, appbuilder=self.appbuilder, login_type=login_type
        )


def fab_password_rule(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: FAB's own password forms (CE admin's user admin) follow our rule."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    problem = password_problem(password)
    if problem:
        raise PasswordComplexityValidationError(problem)


class AppSecurityManager(SecurityManager):
    """FAB security with our account table, lockout, two login entrances and forced password change."""

    user_model = Account
    authdbview = LoginView

    def __init__(self, appbuilder):
        from flask import current_app

        super().__init__(appbuilder)
        current_app.config.setdefault("FAB_PASSWORD_COMPLEXITY_ENABLED", True)
        current_app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", fab_password_rule)
        # The dummy check for an unknown user must cost what a real check costs: FAB's fixed fake hash is
        # scrypt, so with any other FAB_PASSWORD_HASH_METHOD the timing told which usernames exist.
        self._fake_hash = generate_password_hash(
            secrets.token_hex(16), method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"))

    def authenticate(self, username: str, password: str, login_type: str) -> Account | None:
        """Check a password with lockout; same answer for unknown user, wrong password and lock."""
        from flask import current_app

        cfg = current_app.config
        username = (username or "").strip()
        user = self.find_user(username=username) if username else None
        if user is None and username and login_type == "student":
            from app.services.accounts import first_student_login

            user = first_student_login(username, password)  # an imported student's first login
            if user is not None:
                self.update_user_auth_stat(user, True)
                return user
        if user is None or not user.is_active:
            check_password_hash(self._fake_hash, password or "")  # same timing
            return None
        now = utcnow()
        is_student = user.student_id is not None
        if user.locked_until and user.locked_until > now:
            check_password_hash(self._fake_hash, password or "")
            return None
        if user.locked_until and user.locked_until <= now:
            user.locked_until = None
            user.fail_login_count = 0
        ok = check_password_hash(user.password, password or "")
        if ok and is_student != (login_type == "student"):
            ok = False  # a student must use 学生登录, staff 机构账号登录
        if ok:
            self.update_user_auth_stat(user, True)
            return user
        user.fail_login_count = (user.fail_login_count or 0) + 1
        if user.fail_login_count >= cfg["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + dt.timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
            from app.services.oplog import record

            record(actor=None, action="account_locked", record=user, new=str(user.locked_until), reason="连续登录失败")
        self.update_user(user)
        return None

    def on_user_logout(self, user) -> None:
        """退出 ends this browser's session on the server too: the cookie, if copied, no longer logs anyone in."""
        from app.extensions import db
        from app.services.accounts import end_session

        super().on_user_logout(user)
        end_session(session.pop("sid", None))
        db.session.commit()

    def auth_user_db(self, username, password):
        """API (JWT) login goes through the same lockout; students and staff alike."""
        user = self.find_user(username=username) if username else None
        login_type = "student" if (user is not None and user.student_id) else "org"
        return self.authenticate(username, password, login_type)


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
    from app.services.accounts import session_is_live

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

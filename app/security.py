"""Who may do what, and on which students.

Two layers, both on the server:
- *permissions* (which pages and actions a role has) come from ``ROLE_PERMISSIONS`` through FAB's
  built-in roles;
- *scope* (which students' rows) comes from the account's organisation: ``Scope`` and
  ``student_scope_clause`` are the only place that turns an account into a WHERE clause.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import g, has_request_context, session
from flask_appbuilder.security.sqla.manager import SecurityManager
from sqlalchemy import false, true

from app.models.account import Account
from app.models.base import utcnow
from app.services.passwords import check_password, hash_password, needs_rehash
from app.statuses import OrgKind, RoleName, ScopeKind
from app.views.login import LoginView
from app.views.userinfo import UserDBModelView

log = logging.getLogger(__name__)

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
_API_READ = "StudentApi|GraduationResultApi|DegreeApplicationApi|TaskApi|CourseExceptionApi|OpenApi"
_MENUS_ADMIN = (
    "毕业相关|毕业审核管理|课程替代与免修|毕业生列表|毕业生档案管理|学位管理|学位审核及授予|学位申请审核管理|学位授予管理|"
    "任务中心|操作日志|学籍管理|学生学籍|教学计划|成绩|学位外语成绩|毕业生登记表|电子签名"
)


# FAB's own security pages and their menu entries: they change accounts and roles past 账号管理's checks and the
# operation log (users/edit made a student account CEAdmin; resetmypassword needs no old password). No role has
# them; 用户信息 (userinfo / userinfoedit) stays for everyone. FAB's permission/view-menu pages are not even
# registered (FAB_ADD_SECURITY_*_VIEW = False in config.py).
_FAB_SECURITY = "|".join(re.escape(n) for n in (
    "ResetPasswordView", "ResetMyPasswordView", "UserDBModelView", "RoleModelView", "UserGroupModelView",
    "UserStatsChartView", "Security", "List Users", "List Roles", "List Groups", "User's Statistics"))


def _anchored(names: str) -> str:
    return f"^({names})$"


ROLE_PERMISSIONS: dict[str, list[list[str]]] = {
    # everything except the student-only 学生空间 and FAB's own user/role/reset pages (accounts are 账号管理's)
    RoleName.CE_ADMIN.value: [
        [f"^(?!(?:学生空间|毕业进度|StudentSpaceView|DegreeAuditView|{_FAB_SECURITY})$).*", ".*"],
        # 初审 is a teaching site's (signed), 批量终审 a college's: the CE college publishes
        [_anchored("DegreeAuditView"), "^(?!(?:can_review|can_final)$).*"],
        [_anchored("UserInfoEditView|UserDBModelView"),
         _anchored("can_this_form_get|can_this_form_post|can_userinfo|userinfoedit")],
    ],
    RoleName.COLLEGE_ADMIN.value: [
        [_anchored("HomeView|PasswordView|TaskView|OperationLogView"), ".*"],
        [_anchored(_ADMIN_VIEWS_READ), _anchored(_READ + "|can_photo")],
        [_anchored("GraduationAuditView"),
         _anchored("can_list|can_detail|can_sync|can_audit|can_override|can_confirm|can_export|can_preview")],
        [_anchored("GraduateListView|GraduateArchiveView|ExportView"), ".*"],
        [_anchored("CourseExceptionView"), _anchored("can_list|can_show|can_new|revoke")],  # approve/reject: CE
        [_anchored("CourseExceptionWorkflowApi"), "^can_create$"],
        [_anchored("DegreeAuditView"),
         _anchored("can_list|can_detail|can_audit|can_override|can_final|can_export|can_approval_forms")],
        [_anchored("DegreeUnappliedView"), _anchored("can_list|can_register")],
        [_anchored("DegreeGrantView"), _anchored("can_list|can_export|can_approval_forms")],
        [_anchored("SignatureView"), "^can_image$"],  # 初审 signatures of the college's students
        [_anchored(_API_READ), "^can_get$"],  # REST API (app/api/), JWT only
        [_anchored("SwaggerView"), "^can_show$"],
        [_anchored("GraduationWorkflowApi"), _anchored("can_audit|can_confirm|can_override")],
        [_anchored("DegreeWorkflowApi"), _anchored("can_audit|can_final")],
        [_anchored(_MENUS_ADMIN), "^menu_access$"],
        [_anchored("GraduateFormView"), "^review_form$"],
        # own password only through PasswordView (old password + rules); FAB's reset form asks neither
        [_anchored("UserInfoEditView|UserDBModelView"),
         _anchored("can_this_form_get|can_this_form_post|can_userinfo|userinfoedit")],
    ],
    RoleName.SITE_ADMIN.value: [
        [_anchored("HomeView|PasswordView|TaskView|OperationLogView|SignatureView"), ".*"],
        [_anchored(_ADMIN_VIEWS_READ), _anchored(_READ + "|can_photo|can_upload_photo")],
        [_anchored("GraduationAuditView"),
         _anchored("can_list|can_detail|can_sync|can_audit|can_override|can_confirm|can_export|can_preview")],
        [_anchored("GraduateListView|GraduateArchiveView|ExportView"), ".*"],
        [_anchored("CourseExceptionView"), _anchored("can_list|can_show|can_new|revoke")],  # approve/reject: CE
        [_anchored("CourseExceptionWorkflowApi"), "^can_create$"],
        [_anchored("DegreeAuditView"),
         _anchored("can_list|can_detail|can_audit|can_override|can_review|can_export|can_approval_forms")],
        [_anchored("DegreeUnappliedView"), _anchored("can_list|can_register")],
        [_anchored("DegreeGrantView"), _anchored("can_list|can_export|can_approval_forms")],
        [_anchored(_API_READ), "^can_get$"],  # REST API (app/api/), JWT only
        [_anchored("SwaggerView"), "^can_show$"],
        [_anchored("GraduationWorkflowApi"), _anchored("can_audit|can_confirm|can_override")],
        [_anchored("DegreeWorkflowApi"), _anchored("can_audit|can_review")],
        [_anchored(_MENUS_ADMIN), "^menu_access$"],
        [_anchored("GraduateFormView"), "^review_form$"],
        [_anchored("UserInfoEditView|UserDBModelView"),
         _anchored("can_this_form_get|can_this_form_post|can_userinfo|userinfoedit")],
    ],
    RoleName.STUDENT.value: [
        [_anchored("StudentSpaceView|PasswordView"), ".*"],
        [_anchored("学生空间|毕业进度"), "^menu_access$"],
    ],
}

# --------------------------------------------------------------------------- scope


@dataclass(frozen=True)
class Scope:
    """The set of students an account may see: all, a college's, a site's, one, or none."""

    kind: str  # a ScopeKind value
    org_id: int | None = None
    student_id: int | None = None

    @property
    def is_all(self) -> bool:
        return self.kind == ScopeKind.ALL.value

    def to_params(self) -> dict[str, Any]:
        """The scope as plain JSON values for a task's params (a job has no request to derive it from)."""
        return {"kind": self.kind, "org_id": self.org_id, "student_id": self.student_id}

    @classmethod
    def from_params(cls, raw: Any) -> Scope:
        """Rebuild a scope in a job; anything malformed (unknown kind, ids that are not ints) is no students."""
        if not isinstance(raw, Mapping):
            return NO_SCOPE
        kind, org_id, student_id = raw.get("kind"), raw.get("org_id"), raw.get("student_id")
        if not isinstance(kind, str) or kind not in {k.value for k in ScopeKind}:
            return NO_SCOPE
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, int)) for v in (org_id, student_id)):
            return NO_SCOPE
        return cls(str(kind), org_id=org_id, student_id=student_id)


NO_SCOPE = Scope(ScopeKind.NONE.value)


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


def fab_password_rule(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: FAB's own password forms (CE admin's user admin) follow our rule."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    from app.services.accounts import password_problem

    problem = password_problem(password)
    if problem:
        raise PasswordComplexityValidationError(problem)


TOKEN_VERSION_CLAIM = "tv"
FAB_ADD_USER_REFUSED = ("不能用 Flask-AppBuilder 的命令或页面创建账号：第一个继教院管理员请用 flask bootstrap 创建，"
                        "其他账号请在 基础数据 → 账号管理 中创建")
FAB_RESET_REFUSED = "不能用 Flask-AppBuilder 的命令或页面重置密码：请在 账号管理 中重置为初始密码（记入操作日志）"


class AppSecurityManager(SecurityManager):
    """FAB security with our account table, lockout, two login entrances and forced password change."""

    user_model = Account
    userdbmodelview = UserDBModelView  # 用户信息 in Chinese (app/views/userinfo.py)
    authdbview = LoginView  # the two entrances of the manual (app/views/login.py)

    def __init__(self, appbuilder):
        from flask import current_app

        super().__init__(appbuilder)
        current_app.config.setdefault("FAB_PASSWORD_COMPLEXITY_ENABLED", True)
        current_app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", fab_password_rule)
        # The dummy check for an unknown user must cost what a real check costs: FAB's fixed fake hash is
        # scrypt, so with our argon2id (or any other PASSWORD_HASH_METHOD) the timing told which usernames exist.
        self._fake_hash = hash_password(secrets.token_hex(16))

    def authenticate(self, username: str, password: str, login_type: str,
                     known_ids: frozenset[int] = frozenset()) -> Account | None:
        """Check a password with lockout; the same answer for an unknown user and a wrong password.

        The lock (``LOGIN_MAX_FAILURES`` wrong passwords → ``LOGIN_LOCK_MINUTES``) holds only for clients the
        account has not used before: from a browser where it logged in successfully (``known_ids``, a signed
        cookie) the right password still passes, so an anonymous caller who types wrong passwords for a
        guessable 工号 cannot keep its owner out (OWASP ASVS 6.3, NIST 800-63B 5.2.2; docs/RELIABILITY.md).
        The right password from an unknown client while locked raises ``AccountLocked`` (the page says until
        when); a wrong one during the lock neither counts nor extends it.
        """
        from flask import current_app

        from app.services.accounts import AccountLocked

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
            check_password(self._fake_hash, password or "")  # same timing
            return None
        now = utcnow()
        is_student = user.student_id is not None
        locked = user.locked_until is not None and user.locked_until > now
        if user.locked_until and not locked:
            user.locked_until = None
            user.fail_login_count = 0
        ok = check_password(user.password, password or "")
        if ok and is_student != (login_type == "student"):
            ok = False  # a student must use 学生登录, staff 机构账号登录
        if locked and user.id not in known_ids:
            if ok:
                raise AccountLocked(user.locked_until)
            return None
        if ok:
            user.locked_until = None
            if needs_rehash(user.password):  # an older method's hash: the password is known only now
                user.password = hash_password(password)
            self.update_user_auth_stat(user, True)
            return user
        if locked:
            return None  # a known browser with a wrong password: the lock is not extended
        user.fail_login_count = (user.fail_login_count or 0) + 1
        if user.fail_login_count >= cfg["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + dt.timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
            from app.services.oplog import record

            record(actor=None, action="account_locked", record=user, new=str(user.locked_until), reason="连续登录失败")
        self.update_user(user)
        return None

    def add_user(self, username, first_name, last_name, email, role=None, password="", hashed_password="",
                 groups=None, commit=True):
        """Refused: FAB's own user creation (``flask fab create-admin`` / ``create-user``, its user views) makes
        accounts outside the product's four roles and organisations — a CE admin nobody can use. Accounts come
        from ``flask bootstrap`` and 账号管理 (``app.services.accounts.create_account``)."""
        return self._refuse_fab_account_change(FAB_ADD_USER_REFUSED)

    def reset_password(self, userid, password):
        """Refused: FAB's password reset (``flask fab reset-password``, its reset views) writes no log entry and
        ends no session. Passwords change through 修改密码 and 账号管理's 重置为初始密码."""
        return self._refuse_fab_account_change(FAB_RESET_REFUSED)

    @staticmethod
    def _refuse_fab_account_change(message: str):
        if not has_request_context():  # a `flask fab …` command: a clear message and a failing exit code
            import click

            raise click.ClickException(message)
        log.warning("refused a FAB account change: %s", message)
        return None

    def create_jwt_manager(self, app):
        """API tokens carry the account's ``token_version``: a password change, 停用 or 重置为初始密码 moves
        it on (``accounts.end_sessions``), and every access and refresh token issued before is refused."""
        from app.services.accounts import token_version

        jwt_manager = super().create_jwt_manager(app)

        @jwt_manager.additional_claims_loader
        def add_token_version(identity):
            return {TOKEN_VERSION_CLAIM: token_version(int(identity)) if str(identity).isdigit() else None}

        @jwt_manager.token_in_blocklist_loader
        def token_ended(_header, payload) -> bool:
            sub = str(payload.get("sub", ""))
            current = token_version(int(sub)) if sub.isdigit() else None
            return current is None or payload.get(TOKEN_VERSION_CLAIM) != current

        return jwt_manager

    def on_user_logout(self, user) -> None:
        """退出 ends this browser's session on the server too: the cookie, if copied, no longer logs anyone in."""
        from app.extensions import db
        from app.services.accounts import end_session

        super().on_user_logout(user)
        end_session(session.pop("sid", None))
        db.session.commit()

    def auth_user_db(self, username, password):
        """API (JWT) login goes through the same lockout (an API client is never a known browser)."""
        from app.services.accounts import AccountLocked

        user = self.find_user(username=username) if username else None
        login_type = "student" if (user is not None and user.student_id) else "org"
        try:
            return self.authenticate(username, password, login_type)
        except AccountLocked:
            return None

    def register_views(self):
        """FAB's views, then the same login rate limit on the API's login and refresh as on the form."""
        super().register_views()
        if self.is_auth_limited:
            from flask_appbuilder.security.api import SecurityApi

            for view in self.appbuilder.baseviews:
                if isinstance(view, SecurityApi):
                    self.limiter.limit(self.auth_rate_limit, methods=["POST"])(view.blueprint)

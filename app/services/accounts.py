"""Accounts: creation with the manual's initial password, password changes, browser sessions."""
from __future__ import annotations

import re

from flask_babel import gettext
from sqlalchemy import func, select

from app.extensions import db
from app.models.account import Account, AccountSession
from app.models.base import utcnow
from app.services import oplog
from app.services.common import security_manager
from app.services.errors import DomainError, NotAllowed
from app.services.passwords import check_password, hash_password
from app.statuses import RoleName, label

PASSWORD_RULE = re.compile(r"^(?=.*[A-Za-z])(?=.*\d).{8,64}$")
PLACEHOLDER_EMAIL_DOMAIN = "@accounts.invalid"  # FAB wants a unique e-mail; accounts start with this one
EMAIL_RULE = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
MOBILE_RULE = re.compile(r"^1\d{10}$")


def password_problem(password: str) -> str | None:
    """None when the password is acceptable, else the Chinese reason."""
    if not PASSWORD_RULE.match(password or ""):
        return "密码至少 8 位，且必须同时包含字母和数字"
    return None


def initial_password(mobile: str) -> str:
    """Initial password of a new account, as the manual says: edu@<手机号>."""
    return f"edu@{mobile}"


class AccountLocked(Exception):
    """The right password of an account that is locked for this client (``until``: naive UTC)."""

    def __init__(self, until) -> None:
        super().__init__(str(until))
        self.until = until


def create_account(
    *,
    username: str,
    name: str,
    role: RoleName,
    mobile: str,
    org_id: int | None = None,
    student_id: int | None = None,
    password: str | None = None,
    must_change_password: bool = True,
    actor=None,
) -> Account:
    """A new account: initial password edu@<手机号> unless given, change forced at first login."""
    role_row = security_manager().find_role(role.value)
    if role_row is None:
        raise DomainError(f"角色 {role.value} 不存在，请先运行 flask sync-roles")
    if db.session.query(Account.id).filter(Account.username == username).first():
        raise DomainError(f"账号 {username} 已存在")
    account = Account(
        username=username,
        first_name=name,
        last_name="",
        email=f"{username}@accounts.invalid",
        active=True,
        password=hash_password(password or initial_password(mobile)),
        org_id=org_id,
        student_id=student_id,
        mobile=mobile,
        must_change_password=must_change_password,
        roles=[role_row],
    )
    db.session.add(account)
    db.session.flush()
    oplog.record(actor=actor, action="account_create", record=account, new=f"{username} {role.value}")
    return account


def open_session(account: Account) -> str:
    """A new browser session of the account (at login); its token goes into the signed cookie."""
    import secrets

    token = secrets.token_urlsafe(32)
    db.session.add(AccountSession(account_id=account.id, token=token))
    db.session.flush()
    return token


def session_is_live(account_id: int, token: str | None) -> bool:
    """Whether the cookie's session was opened by this account and not ended since."""
    if not token:
        return False
    return db.session.query(AccountSession.id).filter(
        AccountSession.token == token, AccountSession.account_id == account_id, AccountSession.ended_at.is_(None),
    ).first() is not None


def end_session(token: str | None) -> None:
    """退出: this browser session only."""
    if token:
        db.session.query(AccountSession).filter(AccountSession.token == token, AccountSession.ended_at.is_(None)) \
            .update({AccountSession.ended_at: utcnow()}, synchronize_session=False)


def end_sessions(account: Account, *, keep: str | None = None) -> int:
    """Every open session of the account but ``keep`` (a password change keeps the browser that made it), and
    every API token: they carry ``token_version``, which moves on here (``app.security`` checks it)."""
    account.token_version = (account.token_version or 0) + 1
    q = db.session.query(AccountSession).filter(AccountSession.account_id == account.id,
                                                AccountSession.ended_at.is_(None))
    if keep:
        q = q.filter(AccountSession.token != keep)
    return q.update({AccountSession.ended_at: utcnow()}, synchronize_session=False)


def token_version(account_id: int) -> int | None:
    """The version an API token of the account must carry to be valid; None when the account is gone."""
    return db.session.query(Account.token_version).filter(Account.id == account_id).scalar()


def change_password(account: Account, *, old: str, new: str, confirm: str, keep_session: str | None = None) -> None:
    """The account's own change; its other browser sessions end (whoever knew the old password is out)."""
    current = account.password  # None: an account without a password (FAB allows it) has no old one to match
    if current is None or not check_password(current, old or ""):
        raise DomainError(gettext("原密码不正确"))
    if new != confirm:
        raise DomainError(gettext("两次输入的新密码不一致"))
    problem = password_problem(new)
    if problem:
        raise DomainError(gettext(problem))
    if check_password(current, new):
        raise DomainError(gettext("新密码不能与原密码相同"))
    account.password = hash_password(new)
    account.must_change_password = False
    end_sessions(account, keep=keep_session)
    oplog.record(actor=account, action="password_change", record=account, new="已修改")


def first_student_login(student_no: str, password: str) -> Account | None:
    """学生登录 of a student who has no account yet: 学号 and the initial password edu@<手机号> of the
    student record create it (first change of password forced), as for every new account.

    Imports bring thousands of students at once; hashing a password for each of them there would cost
    minutes, so the account is made at the student's first login instead. Returns None (nothing written)
    unless the student exists, is not 退学, has a 手机号 and the password is exactly the initial one.
    """
    import hmac

    from app.models.student import Student
    from app.statuses import EnrolmentStatus

    student = db.session.query(Student).filter(Student.student_no == student_no).one_or_none()
    if student is None or not student.mobile or student.status == EnrolmentStatus.WITHDRAWN.value:
        return None
    if not hmac.compare_digest(initial_password(student.mobile).encode(), (password or "").encode()):
        return None
    if db.session.query(Account.id).filter(Account.student_id == student.id).first():
        return None  # the student has an account under another name: that one is the way in
    return create_account(username=student.student_no, name=student.name, role=RoleName.STUDENT,
                          mobile=student.mobile, student_id=student.id, password=password,
                          must_change_password=True)


# Which organisation kind each staff role belongs to; students belong to no organisation.
ROLE_ORG_KIND = {
    RoleName.CE_ADMIN: "ce",
    RoleName.COLLEGE_ADMIN: "college",
    RoleName.SITE_ADMIN: "site",
}


def register_account(
    *, username: str, name: str, role: RoleName, mobile: str, org_id: int | None, student_no: str | None, actor
) -> Account:
    """账号管理 → 新建: check role, organisation and student, then create with the initial password.

    Raises DomainError (nothing written) when the organisation does not fit the role (学院管理员 →
    二级学院, 教学点管理员 → 教学点, 继教院管理员 → 继续教育学院) or the student is missing or taken.
    """
    from app.models.org import Organisation
    from app.models.student import Student
    from app.statuses import LABELS, OrgKind

    username = (username or "").strip()
    if not username:
        raise DomainError(gettext("请填写账号"))
    if not (mobile or "").strip():
        raise DomainError(gettext("请填写手机号（初始密码为 edu@手机号）"))
    student_id = None
    if role == RoleName.STUDENT:
        org_id = None
        number = (student_no or username).strip()
        student = db.session.query(Student).filter(Student.student_no == number).one_or_none()
        if student is None:
            raise DomainError(f"学号 {number} 不存在")
        if db.session.query(Account.id).filter(Account.student_id == student.id).first():
            raise DomainError(f"学号 {number} 已有账号")
        student_id = student.id
    else:
        org = db.session.get(Organisation, org_id) if org_id else None
        kind = ROLE_ORG_KIND[role]
        if org is None or org.kind != kind:
            raise DomainError(f"{LABELS[role]}必须属于一个{LABELS[OrgKind(kind)]}")
    return create_account(username=username, name=(name or "").strip() or username, role=role,
                          mobile=mobile.strip(), org_id=org_id, student_id=student_id, actor=actor)


def update_account(account: Account, *, active: bool, unlock: bool, reset_password: bool, actor) -> list[str]:
    """账号管理 → 修改: enable/disable, unlock, reset to the initial password; each change is logged.

    Returns the changes made (Chinese), empty when nothing changed.
    """
    if actor is not None and account.id == actor.id and not active:
        raise DomainError(gettext("不能停用自己的账号"))
    changes: list[str] = []
    if bool(account.active) != bool(active):
        changes.append("启用账号" if active else "停用账号")
        account.active = bool(active)
    if unlock and (account.locked_until is not None or (account.fail_login_count or 0) > 0):
        changes.append("解除锁定")
        account.locked_until = None
        account.fail_login_count = 0
    if reset_password:
        if not account.mobile:
            raise DomainError(gettext("该账号没有手机号，无法重置为初始密码"))
        changes.append("重置为初始密码")
        account.password = hash_password(initial_password(account.mobile))
        account.must_change_password = True
    if not account.active or reset_password:
        end_sessions(account)  # 停用 or 重置密码: whoever is logged in as this account is out at the next click
    for change in changes:
        oplog.record(actor=actor, action="account_update", record=account, new=change)
    db.session.flush()
    return changes


def shown_email(account: Account) -> str:
    """The e-mail a person set, or '' while the account still has its placeholder."""
    email = account.email or ""
    return "" if email.lower().endswith(PLACEHOLDER_EMAIL_DOMAIN) else email


def profile(account: Account) -> dict:
    """用户信息 as staff read it: roles and organisation in Chinese, no placeholder e-mail."""
    roles = []
    for role in account.roles or ():
        try:
            roles.append(label(RoleName(role.name)))
        except ValueError:
            roles.append(role.name)
    return {
        "username": account.username,
        "name": f"{account.first_name or ''}{account.last_name or ''}",
        "roles": "、".join(roles),
        "org": account.org.name if account.org is not None else "",
        "email": shown_email(account),
        "mobile": account.mobile or "",
        "last_login": account.last_login,
    }


def update_contact(account: Account, *, email: str, mobile: str, actor) -> list[str]:
    """A staff member's own 电子邮箱 and 手机号; each change is logged. Returns what changed.

    An empty e-mail puts the placeholder back (FAB needs a unique one); the 手机号 is required.

    Raises:
        NotAllowed: someone else's account, or a student account (a student's 手机号 is their 学籍's).
        DomainError: a malformed or taken e-mail, a malformed 手机号.
    """
    if actor is None or account is None or actor.id != account.id or account.student_id is not None:
        raise NotAllowed(gettext("只能修改本人的机构账号联系方式"))
    email = (email or "").strip()
    mobile = (mobile or "").strip()
    if email and (len(email) > 100 or not EMAIL_RULE.match(email)):
        raise DomainError(gettext("电子邮箱格式不正确，例如 name@example.com"))
    if email.lower().endswith(PLACEHOLDER_EMAIL_DOMAIN):
        raise DomainError(gettext("请填写真实的电子邮箱"))
    if not MOBILE_RULE.match(mobile):
        raise DomainError(gettext("手机号应为 11 位数字，以 1 开头"))
    new_email = email or f"{account.username}{PLACEHOLDER_EMAIL_DOMAIN}"
    if new_email.lower() != (account.email or "").lower() and db.session.scalar(
            select(Account.id).where(func.lower(Account.email) == new_email.lower(), Account.id != account.id)):
        raise DomainError(gettext("该电子邮箱已被其他账号使用"))
    changed = []
    old_email = shown_email(account)
    if new_email != account.email:
        account.email = new_email
        changed.append("电子邮箱")
        oplog.record(actor=actor, action="contact_update", record=account, old=f"电子邮箱：{old_email or '未设置'}",
                     new=f"电子邮箱：{email or '未设置'}")
    if mobile != (account.mobile or ""):
        oplog.record(actor=actor, action="contact_update", record=account, old=f"手机号：{account.mobile or '未设置'}",
                     new=f"手机号：{mobile}")
        account.mobile = mobile
        changed.append("手机号")
    db.session.flush()
    return changed

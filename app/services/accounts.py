"""Accounts: creation with the manual's initial password, password changes."""
from __future__ import annotations

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.account import Account
from app.security import initial_password, password_problem
from app.services import oplog
from app.services.errors import DomainError
from app.statuses import RoleName


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"))


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
    sm = current_app.appbuilder.sm
    role_row = sm.find_role(role.value)
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


def change_password(account: Account, *, old: str, new: str, confirm: str) -> None:
    if not check_password_hash(account.password, old or ""):
        raise DomainError("原密码不正确")
    if new != confirm:
        raise DomainError("两次输入的新密码不一致")
    problem = password_problem(new)
    if problem:
        raise DomainError(problem)
    if check_password_hash(account.password, new):
        raise DomainError("新密码不能与原密码相同")
    account.password = hash_password(new)
    account.must_change_password = False
    oplog.record(actor=account, action="password_change", record=account, new="已修改")

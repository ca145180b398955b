"""Production from zero: the 继续教育学院 organisation and its first 继教院管理员 on an empty database.

``flask bootstrap`` calls ``bootstrap``; it is idempotent (a second run with the same account changes nothing
and says so) and refuses to add a second CE admin unless asked to. The account gets the manual's initial
password ``edu@<手机号>`` and must change it at the first login, like every new account.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models.account import Account
from app.models.org import Organisation
from app.services.accounts import create_account
from app.services.errors import DomainError
from app.statuses import OrgKind, RoleName

CE_ORG_CODE = "JXJY"
DEFAULT_CE_NAME = "继续教育学院"
_MOBILE = re.compile(r"^1\d{10}$")
_SCHOOL_CODE = re.compile(r"^\d{5}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


@dataclass(frozen=True)
class BootstrapResult:
    """What a run did: ``created_org`` / ``created_admin`` are False when it found them already there."""

    org: Organisation
    admin: Account
    created_org: bool
    created_admin: bool


def _ce_admins() -> list[Account]:
    role = current_app.appbuilder.sm.find_role(RoleName.CE_ADMIN.value)
    if role is None:
        return []
    return [a for a in db.session.scalars(select(Account).order_by(Account.id)) if role in a.roles]


def _check(school_code: str, org_name: str, admin_no: str, admin_name: str, mobile: str) -> None:
    """Every argument is checked before anything is written (a Chinese message names the first problem)."""
    configured = str(current_app.config["SCHOOL_CODE"])
    if not _SCHOOL_CODE.match(school_code or ""):
        raise DomainError("学校代码应为 5 位数字")
    if school_code != configured:
        raise DomainError(f"学校代码 {school_code} 与配置的 SCHOOL_CODE={configured} 不一致："
                          f"证书编号使用配置中的学校代码，请先设置环境变量 SCHOOL_CODE={school_code} 再运行")
    if not (org_name or "").strip() or len(org_name) > 100:
        raise DomainError("机构名称不能为空，且不超过 100 个字符")
    if not _USERNAME.match(admin_no or ""):
        raise DomainError("工号应为 2–64 位字母、数字或 _ . -")
    if not (admin_name or "").strip() or len(admin_name) > 64:
        raise DomainError("姓名不能为空，且不超过 64 个字符")
    if not _MOBILE.match(mobile or ""):
        raise DomainError("手机号应为 1 开头的 11 位数字")


def bootstrap(*, school_code: str, org_name: str, admin_no: str, admin_name: str, mobile: str,
              add_admin: bool = False) -> BootstrapResult:
    """Create (or find) the CE organisation and a CE admin; flushes, the caller commits."""
    _check(school_code, org_name, admin_no, admin_name, mobile)
    org = db.session.scalar(select(Organisation).where(Organisation.kind == OrgKind.CE.value))
    created_org = org is None
    if org is None:
        if db.session.scalar(select(Organisation.id).where(Organisation.name == org_name.strip())):
            raise DomainError(f"已存在名为「{org_name}」的其他机构")
        org = Organisation(code=CE_ORG_CODE, name=org_name.strip(), kind=OrgKind.CE.value)
        db.session.add(org)
        db.session.flush()
    existing = db.session.scalar(select(Account).where(Account.username == admin_no))
    admins = _ce_admins()
    if existing is not None:
        if existing in admins and existing.org_id == org.id:
            return BootstrapResult(org, existing, created_org, False)
        raise DomainError(f"工号 {admin_no} 已被其他账号使用")
    if admins and not add_admin:
        names = "、".join(a.username for a in admins)
        raise DomainError(f"已存在继教院管理员（{names}）；如确需再添加一名，请加 --add-admin")
    admin = create_account(username=admin_no, name=admin_name.strip(), role=RoleName.CE_ADMIN, mobile=mobile,
                           org_id=org.id, must_change_password=True, actor=None)
    return BootstrapResult(org, admin, created_org, True)

"""Rows of the two onboarding kinds (issue 17): 机构与专业 and 账号, checked like the other kinds.

Pure: the service hands in what exists (``OrgLookups``), every row is checked and every problem
collected, and the records are usable only when there is no error at all.
The 机构与专业 workbook is one sheet with a 类型 column (二级学院 / 教学点 / 专业) so that a college
and its majors can come in one file; a 专业 may name a college of the same file.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.imports.cells import CellError, text
from app.imports.reader import Row
from app.imports.schema import ORG_TYPES
from app.imports.validate import RowError, _code, _duplicate, _mobile, _one_of, _Row, _text
from app.statuses import LABELS, Level, OrgKind, RoleName

_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PHONE = re.compile(r"^[0-9+\-() ]{3,20}$")
_LEVEL_SPLIT = re.compile(r"[、，,;；/ ]+")
TYPE_KIND = {"二级学院": OrgKind.COLLEGE.value, "教学点": OrgKind.SITE.value}
STAFF_ROLES = {LABELS[r]: r for r in (RoleName.COLLEGE_ADMIN, RoleName.SITE_ADMIN, RoleName.CE_ADMIN)}
# the organisation kind each staff role belongs to (as 账号管理 → 新建 checks it)
ROLE_ORG_KIND = {RoleName.CE_ADMIN: OrgKind.CE.value, RoleName.COLLEGE_ADMIN: OrgKind.COLLEGE.value,
                 RoleName.SITE_ADMIN: OrgKind.SITE.value}


@dataclass(frozen=True)
class OrgRef:
    id: int
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class AccountRef:
    id: int
    username: str
    is_student: bool


@dataclass
class OrgLookups:
    """What exists: every organisation, the major codes and names, the accounts the file's 工号 name."""

    orgs: Sequence[OrgRef] = ()
    majors: Mapping[str, str] = field(default_factory=dict)  # 专业代码 → 名称
    accounts: Mapping[str, AccountRef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_code = {o.code: o for o in self.orgs}
        self.by_name = {o.name: o for o in self.orgs}
        ce = [o for o in self.orgs if o.kind == OrgKind.CE.value]
        self.only_ce = ce[0] if len(ce) == 1 else None


def _levels(value: Any) -> str:
    """"专升本、高起专" → "zsb,gqz" (Level codes in the enum's order)."""
    codes = {LABELS[m]: m.value for m in Level}
    parts = [p for p in _LEVEL_SPLIT.split(text(value)) if p]
    wrong = [p for p in parts if p not in codes]
    if wrong or not parts:
        raise CellError("层次应为 " + " / ".join(codes) + " 中的一个或多个，用“、”分隔")
    chosen = {codes[p] for p in parts}
    return ",".join(m.value for m in Level if m.value in chosen)


def _phone(value: Any) -> str:
    result = text(value)
    if not _PHONE.match(result):
        raise CellError("联系电话格式不正确（数字、-，不超过 20 位）")
    return result


def validate_orgs(rows: Sequence[Row], lk: OrgLookups) -> tuple[list[dict], list[RowError]]:
    """机构与专业 rows → {"type", "code", "name", "parent_code", "contact_name", "contact_phone", "levels"}.

    二级学院 / 教学点 hang under a 继续教育学院 (blank: the only one); a code keeps its kind; names of
    organisations are unique. A 专业 belongs to a 二级学院 that exists or comes earlier or later in the file.
    """
    errors: list[RowError] = []
    records: list[dict] = []
    seen_org: dict = {}
    seen_major: dict = {}
    org_names: dict = {}
    file_colleges = {text(v.get("代码")) for _n, v in rows if text(v.get("类型")) == "二级学院"}
    for number, values in rows:
        r = _Row(number, values, errors)
        kind = r.get("类型", _one_of(ORG_TYPES, "类型"), required=True)
        code = r.get("代码", _code("代码"), required=True)
        name = r.get("名称", _text("名称", 100), required=True)
        parent = r.get("上级机构代码", _code("上级机构代码"))
        contact = r.get("联系人", _text("联系人", 50))
        phone = r.get("联系电话", _phone)
        levels = r.get("层次", _levels)
        if kind in TYPE_KIND:
            if not r.blank("层次"):
                r.error("层次", "层次只对专业填写")
            if code is not None:
                _duplicate(seen_org, (code,), r, "代码", "机构代码")
                old = lk.by_code.get(code)
                if old is not None and old.kind != TYPE_KIND[kind]:
                    r.error("代码", f"机构代码 {code} 已是{LABELS[OrgKind(old.kind)]}“{old.name}”，不能改为{kind}")
            if name is not None:
                _duplicate(org_names, (name,), r, "名称", "机构名称")
                other = lk.by_name.get(name)
                if other is not None and other.code != code:
                    r.error("名称", f"机构名称已被机构代码 {other.code} 使用")
            if parent is None:
                if lk.only_ce is None:
                    r.error("上级机构代码", "系统中没有唯一的继续教育学院，请填写上级机构代码")
                else:
                    parent = lk.only_ce.code
            elif parent not in lk.by_code or lk.by_code[parent].kind != OrgKind.CE.value:
                r.error("上级机构代码", f"上级机构必须是继续教育学院：{parent} 不是继续教育学院的机构代码")
        elif kind == "专业":
            if not (r.blank("联系人") and r.blank("联系电话")):
                r.error("联系人" if not r.blank("联系人") else "联系电话", "联系人、联系电话只对二级学院和教学点填写")
            if code is not None:
                _duplicate(seen_major, (code,), r, "代码", "专业代码")
            if parent is None:
                if r.blank("上级机构代码"):
                    r.error("上级机构代码", "必填项为空（专业须填写所属二级学院代码）")
            else:
                known = lk.by_code.get(parent)
                if not (parent in file_colleges or (known is not None and known.kind == OrgKind.COLLEGE.value)):
                    r.error("上级机构代码", f"二级学院不存在：{parent}")
        if not r.ok:
            continue
        records.append({"type": kind, "code": code, "name": name, "parent_code": parent,
                        "contact_name": contact, "contact_phone": phone, "levels": levels})
    return records, errors


def validate_accounts(rows: Sequence[Row], lk: OrgLookups) -> tuple[list[dict], list[RowError]]:
    """账号 rows → {"username", "name", "mobile", "role", "org_id"}; the role fits the organisation's kind.

    A 工号 that is a student's account is refused (students come with the 学生学籍 import).
    """
    errors: list[RowError] = []
    records: list[dict] = []
    seen: dict = {}
    for number, values in rows:
        r = _Row(number, values, errors)
        username = r.get("工号", _username, required=True)
        if username is not None:
            _duplicate(seen, (username,), r, "工号", "工号")
            old = lk.accounts.get(username)
            if old is not None and old.is_student:
                r.error("工号", f"{username} 是学生账号，不能导入为教职工账号")
        name = r.get("姓名", _text("姓名", 64), required=True)
        mobile = r.get("手机号", _mobile, required=True)
        role = r.get("角色", lambda v: STAFF_ROLES[_one_of(tuple(STAFF_ROLES), "角色")(v)], required=True)
        org_code = r.get("所属机构代码", _code("所属机构代码"), required=True)
        org = lk.by_code.get(org_code) if org_code is not None else None
        if org_code is not None and org is None:
            r.error("所属机构代码", f"机构不存在：{org_code}（请先导入机构）")
        elif org is not None and role is not None and org.kind != ROLE_ORG_KIND[role]:
            r.error("所属机构代码",
                    f"{LABELS[role]}必须属于一个{LABELS[OrgKind(ROLE_ORG_KIND[role])]}：{org.name} 是"
                    f"{LABELS[OrgKind(org.kind)]}")
        if not r.ok:
            continue
        records.append({"username": username, "name": name, "mobile": mobile, "role": role, "org_id": org.id})
    return records, errors


def _username(value: Any) -> str:
    result = text(value)
    if not _USERNAME.match(result):
        raise CellError("工号只能包含字母、数字和 _ . -（不超过 64 个字符）")
    return result


VALIDATORS: dict[str, Callable[[Sequence[Row], OrgLookups], tuple[list[dict], list[RowError]]]] = {
    "orgs": validate_orgs,
    "accounts": validate_accounts,
}

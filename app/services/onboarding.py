"""Applying the onboarding imports (issue 17): the organisation tree and staff accounts from Excel.

Called from ``app.services.imports.run_import`` inside the import job, after every row validated:
organisations and majors are upserted by code; accounts by 工号 — new ones through
``accounts.create_account`` (initial password edu@<手机号>, forced change), existing ones updated
(姓名, 手机号, 角色, 所属机构). Every created or changed account gets its own 操作日志 entry.
Hashing a password costs ~50 ms (scrypt), which is why this runs as a job and never in a request.
"""
from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.imports import reader
from app.imports.cells import text
from app.imports.onboarding import TYPE_KIND, AccountRef, OrgLookups, OrgRef
from app.models import Major, Organisation
from app.models.account import Account
from app.services import accounts, oplog
from app.services.common import chunks
from app.statuses import LABELS, RoleName

NEW, UPDATED, SAME = "新增", "更新", "未变"
IN_CHUNK = 500


def build_lookups(kind: str, rows: Sequence[reader.Row]) -> OrgLookups:
    """Every organisation and major code, and the existing accounts of the file's 工号."""
    orgs = [OrgRef(*r) for r in db.session.execute(
        select(Organisation.id, Organisation.code, Organisation.name, Organisation.kind))]
    majors = dict(db.session.execute(select(Major.code, Major.name)).tuples().all())
    found: dict[str, AccountRef] = {}
    if kind == "accounts":
        names = sorted({text(v.get("工号")) for _n, v in rows} - {""})
        for chunk in chunks(names, IN_CHUNK):
            for a in db.session.execute(select(Account.id, Account.username, Account.student_id)
                                        .where(Account.username.in_(chunk))):
                found[a.username] = AccountRef(a.id, a.username, a.student_id is not None)
    return OrgLookups(orgs=orgs, majors=majors, accounts=found)


def apply_orgs(records: list[dict], actor=None) -> dict[str, int]:
    """Upsert 二级学院 / 教学点 by 机构代码, then 专业 by 专业代码 (their college may be new in this file)."""
    counts = {NEW: 0, UPDATED: 0, SAME: 0}
    by_code = {o.code: o for o in db.session.scalars(select(Organisation))}
    for rec in (r for r in records if r["type"] in TYPE_KIND):
        values = {"name": rec["name"], "kind": TYPE_KIND[rec["type"]], "parent_id": by_code[rec["parent_code"]].id,
                  "contact_name": rec["contact_name"], "contact_phone": rec["contact_phone"]}
        counts[_upsert(Organisation, by_code, rec["code"], values)] += 1
    db.session.flush()
    majors = {m.code: m for m in db.session.scalars(select(Major))}
    for rec in (r for r in records if r["type"] == "专业"):
        values = {"name": rec["name"], "college_id": by_code[rec["parent_code"]].id, "levels": rec["levels"]}
        counts[_upsert(Major, majors, rec["code"], values)] += 1
    db.session.flush()
    return counts


def _upsert(model, existing: dict, code: str, values: dict) -> str:
    old = existing.get(code)
    if old is None:
        row = model(code=code, **values)
        db.session.add(row)
        db.session.flush()  # the id: a 专业 row of the same file refers to a new 二级学院
        existing[code] = row
        return NEW
    if all(getattr(old, k) == v for k, v in values.items()):
        return SAME
    for k, v in values.items():
        setattr(old, k, v)
    return UPDATED


def apply_accounts(records: list[dict], actor=None) -> dict[str, int]:
    """Create new 工号 with the initial password; update 姓名/手机号/角色/所属机构 of existing staff.

    A changed role or organisation ends the account's sessions and API tokens: its rights changed.
    """
    counts = {NEW: 0, UPDATED: 0, SAME: 0}
    sm = current_app.appbuilder.sm  # type: ignore[attr-defined]
    existing = {}
    for chunk in chunks([r["username"] for r in records], IN_CHUNK):
        existing.update({a.username: a for a in db.session.scalars(select(Account).where(Account.username.in_(chunk)))})
    for rec in records:
        role: RoleName = rec["role"]
        old = existing.get(rec["username"])
        if old is None:
            accounts.create_account(username=rec["username"], name=rec["name"], role=role, mobile=rec["mobile"],
                                    org_id=rec["org_id"], actor=actor)
            counts[NEW] += 1
            continue
        changes = _account_changes(old, rec)
        if not changes:
            counts[SAME] += 1
            continue
        if old.org_id != rec["org_id"] or [r.name for r in old.roles] != [role.value]:
            accounts.end_sessions(old)
        old.first_name, old.mobile, old.org_id = rec["name"], rec["mobile"], rec["org_id"]
        old.roles = [sm.find_role(role.value)]
        oplog.record(actor=actor, action="account_update", record=old, new="导入：" + "；".join(changes))
        counts[UPDATED] += 1
    db.session.flush()
    return counts


def _account_changes(old: Account, rec: dict) -> list[str]:
    """What the import changes, in Chinese (empty: nothing)."""
    changes = []
    if old.first_name != rec["name"]:
        changes.append(f"姓名 {old.first_name} → {rec['name']}")
    if old.mobile != rec["mobile"]:
        changes.append(f"手机号 {old.mobile or ''} → {rec['mobile']}")
    roles = [r.name for r in old.roles]
    if roles != [rec["role"].value]:
        before = "、".join(LABELS.get(_role(r)) or r for r in roles)
        changes.append(f"角色 {before} → {LABELS[rec['role']]}")
    if old.org_id != rec["org_id"]:
        org = db.session.get_one(Organisation, rec["org_id"])
        changes.append(f"所属机构 {old.org.name if old.org else ''} → {org.name}")
    return changes


def _role(name: str):
    try:
        return RoleName(name)
    except ValueError:
        return name


APPLY = {"orgs": apply_orgs, "accounts": apply_accounts}

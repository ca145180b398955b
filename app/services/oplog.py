"""操作日志: the one function every state change calls."""
from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models.oplog import OperationLog
from app.services.facts import bulk_insert

ACTION_LABELS: dict[str, str] = {
    "graduation_audit": "毕业审核",
    "graduation_override": "修改毕业审核结果",
    "graduation_confirm": "一键确认毕业",
    "graduation_publish": "毕业发布",
    "graduation_sync": "同步课程数据",
    "form_submit": "提交毕业生登记表",
    "photo_upload": "上传毕业照片",
    "degree_apply": "学位申请",
    "degree_audit": "学位条件审核",
    "degree_override": "修改授予结论",
    "degree_review": "初审",
    "degree_final": "批量终审",
    "degree_publish": "学位发布",
    "signature_upload": "上传电子签名",
    "account_create": "创建账号",
    "account_update": "修改账号",
    "account_locked": "账号锁定",
    "password_change": "修改密码",
    "import": "导入",
    "record_update": "修改记录",
}


def record(
    *,
    actor: Any,
    action: str,
    record: Any = None,
    record_type: str | None = None,
    record_id: int | None = None,
    student: Any = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
    task_id: int | None = None,
) -> OperationLog:
    """Append one entry. ``actor`` is an Account or None (the system); scope columns come from the student."""
    if student is None and record is not None:
        from app.models.student import Student

        student = record if isinstance(record, Student) else getattr(record, "student", None)
    entry = OperationLog(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None) or "系统",
        action=action,
        record_type=record_type or (type(record).__name__ if record is not None else "-"),
        record_id=record_id if record_id is not None else getattr(record, "id", None),
        student_id=getattr(student, "id", None),
        site_id=getattr(student, "site_id", None),
        college_id=getattr(student, "college_id", None),
        old_value=None if old is None else str(old),
        new_value=None if new is None else str(new),
        reason=reason,
        task_id=task_id,
    )
    db.session.add(entry)
    return entry


def record_many(rows: list[dict]) -> None:
    """Bulk-append entries given as column dicts (for jobs touching thousands of students)."""
    if rows:
        bulk_insert(OperationLog.__table__, rows)

"""操作日志: the one function every state change calls."""
from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models.oplog import OperationLog
from app.services.facts import bulk_insert
from app.statuses import OplogAction, label

ACTION_LABELS: dict[str, str] = {a.value: label(a) for a in OplogAction}


def record(**fields: Any) -> OperationLog:
    """Append one entry; ``fields`` as for ``entry_row`` (actor, action, record, old, new, reason, task_id …)."""
    entry = OperationLog(**entry_row(**fields))
    db.session.add(entry)
    return entry


def entry_row(
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
    at: Any = None,
) -> dict[str, Any]:
    """The columns of one entry: who (an Account, or None for the system), what, which record, old → new.

    ``record`` may stand for ``record_type``/``record_id``; the scope columns come from the student (the
    record itself when it is one). Used by ``record`` and, for jobs writing thousands, ``record_many``.
    """
    if isinstance(action, OplogAction):
        action = action.value
    if action not in ACTION_LABELS:
        raise ValueError(f"unknown operation-log action {action!r}")
    if student is None and record is not None:
        from app.models.student import Student

        student = record if isinstance(record, Student) else getattr(record, "student", None)
    row = {
        "actor_id": getattr(actor, "id", None),
        "actor_name": getattr(actor, "username", None) or "系统",
        "action": action,
        "record_type": record_type or (type(record).__name__ if record is not None else "-"),
        "record_id": record_id if record_id is not None else getattr(record, "id", None),
        "student_id": getattr(student, "id", None),
        "site_id": getattr(student, "site_id", None),
        "college_id": getattr(student, "college_id", None),
        "old_value": None if old is None else str(old),
        "new_value": None if new is None else str(new),
        "reason": reason,
        "task_id": task_id,
    }
    if at is not None:
        row["at"] = at
    return row


def record_many(rows: list[dict]) -> None:
    """Bulk-append entries given as column dicts (for jobs touching thousands of students)."""
    if rows:
        bulk_insert(OperationLog.__table__, rows)

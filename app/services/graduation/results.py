"""What a stored graduation result means: the result codes, the lock of confirmed rows, the log row of a change."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.audit import confirmation
from app.audit.types import NOTE_CODE, Reason
from app.models.account import Account
from app.models.graduation import GraduationAudit
from app.statuses import (
    ConfirmState,
    GraduationResult,
    label,
)

CHUNK = 1000
AUDIT_CHUNK = 2500  # students per audit transaction: a few set queries and bulk writes each
FORM_MAX_CHARS = 2000
PRE = GraduationResult.PRE_GRADUATE.value
FAILED = GraduationResult.FAILED.value
UNAUDITED = GraduationResult.UNAUDITED.value
SETTABLE_RESULTS = (PRE, FAILED)
SKIPPED_KEY = "不在毕业批次"
UNCONFIRMED = ConfirmState.UNCONFIRMED.value


def format_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def is_locked(audit_row) -> bool:
    """Confirmed or published results keep their result through later audits."""
    return audit_row is not None and confirm_state(audit_row) != UNCONFIRMED


def effective_result(audit_row) -> str:
    return audit_row.result if audit_row is not None else UNAUDITED


def result_label(code: str | None) -> str:
    return label(code or UNAUDITED, GraduationResult)


def log_row(*, actor: Account | None, action: str, student, record_id: int | None, old: str | None,
             new: str | None, reason: str | None = None, task_id: int | None = None, at: dt.datetime) -> dict:
    """One operation-log row as column values, for ``oplog.record_many``."""
    return {
        "at": at,
        "actor_id": getattr(actor, "id", None),
        "actor_name": getattr(actor, "username", None) or "系统",
        "action": action,
        "record_type": "GraduationAudit",
        "record_id": record_id,
        "student_id": student.id,
        "site_id": student.site_id,
        "college_id": student.college_id,
        "old_value": old,
        "new_value": new,
        "reason": reason,
        "task_id": task_id,
    }


def confirm_state(audit: GraduationAudit | None) -> str:
    """确认状态 of an audit row (or of any object with confirmed_at/published_at); none is 未确认."""
    if audit is None:
        return ConfirmState.UNCONFIRMED.value
    return confirmation.confirm_state(audit.confirmed_at, audit.published_at)


def reasons_of(audit: GraduationAudit | None) -> list[Reason]:
    """Every stored line of the audit: the failure reasons, then the notes naming course exceptions."""
    if audit is None or not audit.computed_reasons:
        return []
    return [Reason.from_dict(d) for d in audit.computed_reasons]


def failure_reasons(audit: GraduationAudit | None) -> list[Reason]:
    """The stored reasons why the student fails — what a 不合格原因 shows (no note naming a course exception)."""
    return [r for r in reasons_of(audit) if r.code != NOTE_CODE]


@dataclass(frozen=True)
class PlainStudent:
    """The three columns a log row needs of a student, from a bulk query (no ORM object)."""

    id: int
    site_id: int | None
    college_id: int | None

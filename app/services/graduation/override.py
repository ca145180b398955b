"""修改毕业审核结果: a hand-set result with its reason, kept through later audits."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from flask_babel import gettext
from sqlalchemy import select

from app.audit.confirmation import CONFIRM_LABELS, batch_key
from app.extensions import db
from app.i18n import joined
from app.models.account import Account
from app.models.base import utcnow
from app.models.graduation import GraduationAudit
from app.models.student import Student
from app.security import Scope, role_of, scope_of, student_scope_clause
from app.services import oplog
from app.services.common import chunks
from app.services.errors import DomainError, NotAllowed, NotFound
from app.services.graduation.inputs import load_batches
from app.services.graduation.results import (
    CHUNK,
    FAILED,
    SETTABLE_RESULTS,
    confirm_state,
    effective_result,
    result_label,
)
from app.services.reasons import clean_reason
from app.statuses import (
    ConfirmState,
    RoleName,
)


def _load_for_change(student_ids: Sequence[int], actor: Account) -> list[tuple[Student, GraduationAudit | None]]:
    """Students (and their audit rows) the actor may act on; NotFound if any id is outside the scope."""
    ids = list(dict.fromkeys(int(i) for i in student_ids))
    if not ids:
        raise DomainError(gettext("请先勾选要修改的学生"))
    scope = scope_of(actor) if actor is not None else Scope("none")
    rows: list[tuple[Student, GraduationAudit | None]] = []
    for chunk in chunks(ids, CHUNK):
        rows.extend(db.session.execute(
            select(Student, GraduationAudit)
            .outerjoin(GraduationAudit, GraduationAudit.student_id == Student.id)
            .where(Student.id.in_(chunk), student_scope_clause(scope))
            .order_by(Student.student_no)
        ).tuples().all())
    if len(rows) != len(ids):
        raise NotFound(gettext("所选学生不存在或不在您的管理范围内"))
    return rows


def override(student_ids: Sequence[int], result: str, reason: str, actor: Account,
             now: dt.datetime | None = None) -> int:
    """修改毕业审核结果 by hand, with a required 核实说明; every id is checked before anything changes.

    Sites and colleges cannot change confirmed or published results; the CE admin can change
    confirmed ones (a confirmed student set to 不合格 leaves the confirmed list). Published results
    are final for everyone: the diploma has been issued. Posting the same override again changes
    and logs nothing. Returns the number of changed students.
    """
    if result not in SETTABLE_RESULTS:
        raise DomainError(gettext("毕业审核结果只能修改为“预毕业”或“不合格”"))
    reason = clean_reason(reason, "核实说明")
    rows = _load_for_change(student_ids, actor)
    is_ce = role_of(actor) == RoleName.CE_ADMIN.value
    states = {s.id: confirm_state(a) for s, a in rows}
    published = [s.student_no for s, _a in rows if states[s.id] == ConfirmState.PUBLISHED.value]
    if published:
        raise NotAllowed(gettext("已发布毕业的学生不能修改毕业审核结果：%(students)s",
                                 students=joined(published[:10], "、")))
    confirmed = [s.student_no for s, _a in rows if states[s.id] == ConfirmState.CONFIRMED.value]
    if confirmed and not is_ce:
        raise NotAllowed(gettext("已确认毕业的结果已锁定，只有继教院管理员可以修改：%(students)s",
                                 students=joined(confirmed[:10], "、")))
    batches = load_batches()
    missing_batch = [s.student_no for s, a in rows if a is None
                     and batch_key(s.enrol_grade, s.study_grade, s.level) not in batches]
    if missing_batch:
        raise DomainError(gettext("以下学生不在任何毕业批次中，不能修改毕业审核结果：%(students)s",
                                  students=joined(missing_batch[:10], "、")))
    now = now or utcnow()
    changed = 0
    for student, audit in rows:
        if (audit is not None and audit.override_result == result and audit.override_reason == reason
                and audit.override_by_id == actor.id and audit.result == result):
            continue  # the same override posted again: nothing changes, nothing is logged
        changed += 1
        old = effective_result(audit)
        old_text = result_label(old)
        if audit is None:
            batch = batches[batch_key(student.enrol_grade, student.study_grade, student.level)]
            audit = GraduationAudit(student_id=student.id, batch_id=batch.id)
            db.session.add(audit)
        elif audit.confirmed_at is not None and result == FAILED:
            old_text = f"{old_text}（{CONFIRM_LABELS[ConfirmState.CONFIRMED.value]}）"
            audit.confirmed_at = None
            audit.confirmed_by_id = None
        audit.override_result = result
        audit.override_reason = reason
        audit.override_by_id = actor.id
        audit.override_at = now
        audit.result = result
        db.session.flush()
        oplog.record(actor=actor, action="graduation_override", record=audit, student=student,
                     old=old_text, new=result_label(result), reason=reason)
    db.session.flush()
    return changed


def override_message(n: int) -> str:
    """What the page and the API say after ``override`` changed ``n`` students (in the request's language)."""
    return gettext("已修改 %(n)s 名学生的毕业审核结果", n=n)

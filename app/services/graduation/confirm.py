"""一键确认毕业: confirm the 预毕业 students of the filter inside their batch's window."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update

from app.audit import confirmation
from app.audit.confirmation import CONFIRM_LABELS
from app.clock import to_local
from app.extensions import db
from app.models.account import Account
from app.models.base import utcnow
from app.models.graduation import GraduationAudit, GraduationBatch
from app.models.student import Student
from app.security import Scope
from app.services import oplog
from app.services.common import chunks
from app.services.errors import DomainError, NotFound
from app.services.graduation.filters import all_in_scope, filtered_students_query
from app.services.graduation.results import CHUNK, PRE, UNCONFIRMED, PlainStudent, format_time, log_row


def confirm(filters: Mapping[str, Any] | None, scope: Scope, actor: Account, now: dt.datetime | None = None,
            student_ids: Sequence[int] | None = None) -> int:
    """一键确认毕业: every 预毕业, unconfirmed student of the filter (or of the selection) becomes 已确认.

    Allowed only inside each concerned batch's confirmation window (Asia/Shanghai wall time);
    outside it nothing changes. Submitting twice has the effect of once. Returns the count.
    """
    now = now or utcnow()
    local = to_local(now)
    if student_ids:
        if not all_in_scope(student_ids, scope):
            raise NotFound("所选学生不存在或不在您的管理范围内")
        base = filtered_students_query({}, scope).where(Student.id.in_(list(student_ids)))
    else:
        base = filtered_students_query(filters, scope)
    stmt = base.with_only_columns(GraduationAudit.id, GraduationAudit.batch_id, Student.id, Student.site_id,
                                  Student.college_id).where(
        GraduationAudit.result == PRE,
        confirmation.confirm_state_is(UNCONFIRMED, GraduationAudit.confirmed_at, GraduationAudit.published_at),
    )
    rows = db.session.execute(stmt).all()
    if not rows:
        return 0
    batches = {b.id: b for b in db.session.scalars(
        select(GraduationBatch).where(GraduationBatch.id.in_({r[1] for r in rows})))}
    for batch in sorted(batches.values(), key=lambda b: b.id):
        if not (batch.confirm_start <= local <= batch.confirm_end):
            window = f"{format_time(batch.confirm_start)} 至 {format_time(batch.confirm_end)}"
            raise DomainError(f"不在确认毕业时间内（{window}）")
    confirmed = 0
    logs = []
    for chunk in chunks(rows, CHUNK):
        # only the rows this call flips are logged: a confirmation running beside it takes the others
        updated = set(db.session.scalars(
            update(GraduationAudit)
            .where(GraduationAudit.id.in_([r[0] for r in chunk]), GraduationAudit.confirmed_at.is_(None))
            .values(confirmed_at=now, confirmed_by_id=actor.id)
            .returning(GraduationAudit.id)
            .execution_options(synchronize_session=False)
        ))
        confirmed += len(updated)
        for audit_id, _batch_id, sid, site_id, college_id in chunk:
            if audit_id not in updated:
                continue
            student = PlainStudent(id=sid, site_id=site_id, college_id=college_id)
            logs.append(log_row(actor=actor, action="graduation_confirm", student=student, record_id=audit_id,
                                 old=CONFIRM_LABELS["unconfirmed"], new=CONFIRM_LABELS["confirmed"], at=now))
    oplog.record_many(logs)
    db.session.flush()
    db.session.expire_all()
    return confirmed

"""一键确认毕业: confirm the 预毕业 students of the filter inside their batch's window."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from sqlalchemy import select, update

from app.audit import confirmation
from app.audit.confirmation import CONFIRM_LABELS
from app.clock import to_local
from app.extensions import db
from app.i18n import joined, label_text, period
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
from app.statuses import Level


@dataclass(frozen=True)
class RefusedBatch:
    """A batch whose confirmation window is not open: its students of the filter stay 未确认."""

    name: str  # "2021级 高起本 批次" (in the request's language)
    window: str  # "2024-11-25 00:00:00 至 2024-12-06 00:00:00"
    count: int

    @property
    def message(self) -> str:
        return gettext("%(batch)s不在确认毕业时间内（%(window)s），未确认 %(count)s 名", batch=self.name,
                       window=self.window, count=self.count)


@dataclass(frozen=True)
class ConfirmOutcome:
    """What 一键确认毕业 did: how many students it confirmed and which batches it refused, with why."""

    confirmed: int
    refused: tuple[RefusedBatch, ...] = field(default=())

    @property
    def refusals(self) -> str:
        """One sentence per refused batch, joined with "；" ("" when none was refused)."""
        return joined(r.message for r in self.refused)

    @property
    def message(self) -> str:
        """The message a page or the API shows (the same words in both, in the request's language)."""
        if self.confirmed:
            done = gettext("已确认毕业 %(n)s 名学生，名单已提交继教院", n=self.confirmed)
            return joined((done, self.refusals)) if self.refused else done
        return self.refusals or gettext("当前筛选条件下没有未确认的预毕业学生")


def batch_name(batch: GraduationBatch) -> str:
    """How a refusal names a batch: "2021级 高起本 批次" (in the request's language)."""
    return gettext("%(grade)s级 %(level)s 批次", grade=batch.enrol_grade, level=label_text(batch.level, Level))


def confirm(filters: Mapping[str, Any] | None, scope: Scope, actor: Account, now: dt.datetime | None = None,
            student_ids: Sequence[int] | None = None) -> ConfirmOutcome:
    """一键确认毕业: every 预毕业, unconfirmed student of the filter (or of the selection) becomes 已确认.

    Allowed only inside each concerned batch's confirmation window (Asia/Shanghai wall time): students of a
    batch whose window is closed stay 未确认 and the outcome names that batch, its window and how many; a
    closed batch does not block the open ones. When every concerned batch is closed nothing changes and the
    refusal is raised as a ``DomainError``. Submitting twice has the effect of once.
    """
    now = now or utcnow()
    local = to_local(now)
    if student_ids:
        if not all_in_scope(student_ids, scope):
            raise NotFound(gettext("所选学生不存在或不在您的管理范围内"))
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
        return ConfirmOutcome(0)
    batches = {b.id: b for b in db.session.scalars(
        select(GraduationBatch).where(GraduationBatch.id.in_({r[1] for r in rows})))}
    closed = {bid for bid, b in batches.items() if not confirmation.in_window(b.confirm_start, b.confirm_end, local)}
    per_batch = Counter(r[1] for r in rows)
    refused = tuple(
        RefusedBatch(batch_name(b), period(format_time(b.confirm_start), format_time(b.confirm_end)), per_batch[b.id])
        for b in sorted((batches[bid] for bid in closed), key=lambda b: (b.enrol_grade, b.level, b.id))
    )
    rows = [r for r in rows if r[1] not in closed]
    if not rows:
        raise DomainError(ConfirmOutcome(0, refused).refusals)
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
    return ConfirmOutcome(confirmed, refused)

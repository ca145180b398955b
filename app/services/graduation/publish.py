"""发布: confirmed 预毕业 students get their 毕业证书编号 and become graduates."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import Row, select, update

from app.audit import confirmation
from app.audit.confirmation import CONFIRM_LABELS
from app.clock import to_local
from app.extensions import db
from app.models.account import Account
from app.models.base import utcnow
from app.models.graduation import GraduationAudit, GraduationBatch
from app.models.student import Student
from app.models.task import Task
from app.security import role_of
from app.services import numbering, oplog
from app.services.common import chunks
from app.services.errors import NotAllowed
from app.services.graduation.filters import resolve_student_ids
from app.services.graduation.results import CHUNK, PRE, PlainStudent, log_row
from app.services.numbering import allocate, diploma_prefix
from app.statuses import (
    ConfirmState,
    EnrolmentStatus,
    RoleName,
)


def publish_students(student_ids: Sequence[int], *, task_id: int | None, actor: Account | None,
                     progress=None, now: dt.datetime | None = None) -> dict[str, int]:
    """Give confirmed, unpublished 预毕业 students their 毕业证书编号 and make them graduates.

    Numbers are allocated per (batch, 层次) group, one transaction per group (``progress`` commits
    it), ordered by 学号. A published row is never numbered again, so a rerun changes nothing.
    """
    ids = list(student_ids)
    rows: list[Row[Any]] = []
    for chunk in chunks(ids, CHUNK):
        rows.extend(db.session.execute(
            select(GraduationAudit.id, GraduationAudit.batch_id, Student.id, Student.level, Student.student_no,
                   Student.site_id, Student.college_id)
            .join(Student, Student.id == GraduationAudit.student_id)
            .where(GraduationAudit.student_id.in_(chunk),
                   confirmation.confirm_state_is(ConfirmState.CONFIRMED.value, GraduationAudit.confirmed_at,
                                                 GraduationAudit.published_at),
                   GraduationAudit.diploma_no.is_(None), GraduationAudit.result == PRE)
        ).all())
    groups: dict[tuple[int, str], list] = {}
    for r in rows:
        groups.setdefault((r[1], r[3]), []).append(r)
    total = len(rows)
    if progress:
        progress(0, total)
    school = current_app.config["SCHOOL_CODE"]
    done = 0
    for (batch_id, level), members in sorted(groups.items()):
        batch = db.session.get_one(GraduationBatch, batch_id)
        prefix = diploma_prefix(school, batch.diploma_year, level)
        numbering.lock(prefix)
        members = _still_unpublished(members)
        if not members:
            continue
        members.sort(key=lambda r: r[4])
        now_group = now or utcnow()
        grad_date = batch.graduation_date or to_local(now_group).date()
        numbers = allocate(prefix, len(members))
        db.session.execute(update(GraduationAudit), [
            {"id": r[0], "diploma_no": no, "graduation_date": grad_date, "published_at": now_group,
             "published_task_id": task_id}
            for r, no in zip(members, numbers, strict=True)
        ])
        db.session.execute(update(Student), [
            {"id": r[2], "status": EnrolmentStatus.GRADUATED.value} for r in members
        ])
        oplog.record_many([
            log_row(actor=actor, action="graduation_publish", student=PlainStudent(r[2], r[5], r[6]), record_id=r[0],
                     old=CONFIRM_LABELS["confirmed"], new=f"{CONFIRM_LABELS['published']} {no}",
                     task_id=task_id, at=now_group)
            for r, no in zip(members, numbers, strict=True)
        ])
        db.session.flush()
        done += len(members)
        if progress:
            progress(done, total)
    return {CONFIRM_LABELS["published"]: done}


def _still_unpublished(members: list) -> list:
    """The group's rows that are still unpublished, read again under the numbering lock.

    Rows were picked before any lock was held: a publication running at the same time (or a
    retried one whose first run is still committing) may have numbered some since. Re-reading
    ``published_at`` after ``numbering.lock`` means a row is numbered once, whatever ran beside us.
    """
    fresh: set[int] = set()
    for chunk in chunks(sorted(r[0] for r in members), CHUNK):
        fresh.update(db.session.scalars(
            select(GraduationAudit.id)
            .where(GraduationAudit.id.in_(chunk), GraduationAudit.published_at.is_(None),
                   GraduationAudit.diploma_no.is_(None))
            .order_by(GraduationAudit.id)
            .with_for_update()
        ))
    return [r for r in members if r[0] in fresh]


def run_publish(task: Task, progress) -> dict:
    """毕业发布任务 (CE admin): publish the confirmed students of the filter or the selection."""
    if role_of(task.requested_by) != RoleName.CE_ADMIN.value:
        raise NotAllowed(gettext("只有继教院管理员可以发布毕业名单"))
    ids = resolve_student_ids(task.params or {})
    return publish_students(ids, task_id=task.id, actor=task.requested_by, progress=progress)

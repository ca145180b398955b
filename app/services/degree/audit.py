"""学位条件审核: the set-based background job that sets 已达标 / 未达标 with reasons."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from flask_babel import gettext
from sqlalchemy import select

from app.audit.degree import audit_degree_with_average
from app.extensions import db
from app.models import Account, DegreeApplication, DegreeBatch, DegreeSnapshot, Student
from app.models.base import utcnow
from app.security import Scope
from app.services import facts, oplog
from app.services.common import chunks, count_rows
from app.services.degree.common import AUDIT_CHUNK, MET, NOT_MET, _admin_scope, marks_of
from app.services.degree.figures import gather_facts
from app.services.degree.filters import PENDING, DegreeFilter, _load_selected, applications_select
from app.services.errors import DomainError
from app.services.tasks import Progress, create_task, lock_key_for
from app.statuses import DegreeConditionResult, label


def start_audit(actor, *, ids: Sequence[Any] | None = None, flt: DegreeFilter | None = None):
    """Create (flush, not commit) a 学位条件审核 task over the ticked ids or the filter."""
    scope = _admin_scope(actor)
    if ids:
        rows = _load_selected(scope, ids)
        targets = [r.id for r in rows if r.final_at is None]
        params: dict = {"ids": targets}
        scope_text = f"选中的 {len(targets)} 条学位申请"
        total = len(targets)
    else:
        flt = flt or DegreeFilter()
        params = {"filter": flt.to_params()}
        scope_text = flt.describe()
        total = count_rows(applications_select(scope, flt, stage=PENDING))
    if total == 0:
        raise DomainError(gettext("没有需要审核的学位申请（请先筛选“已申请”的学生）"))
    return create_task("degree_audit", actor=actor, params=params, scope_text=scope_text,
                       lock_key=lock_key_for("degree_audit", actor), total=total)


def _task_ids(task, scope: Scope, *, stage: str, order=None) -> list[int]:
    """Application ids a task covers, re-checked against the requester's scope at run time."""
    stmt = applications_select(scope, DegreeFilter.from_mapping(task.params.get("filter") or {})
                               if "filter" in task.params else None, stage=stage)
    if "ids" in task.params:
        stmt = stmt.where(DegreeApplication.id.in_([int(i) for i in task.params["ids"]]))
    stmt = stmt.with_only_columns(DegreeApplication.id).order_by(*(order or (DegreeApplication.id,)))
    return list(db.session.scalars(stmt))


def _log_row(actor, app: DegreeApplication, action: str, old: str | None, new: str | None,
             reason: str | None, task_id: int | None, now: dt.datetime) -> dict:
    s = app.student
    return {
        "at": now, "actor_id": getattr(actor, "id", None), "actor_name": getattr(actor, "username", None) or "系统",
        "action": action, "record_type": "DegreeApplication", "record_id": app.id, "student_id": s.id,
        "site_id": s.site_id, "college_id": s.college_id, "old_value": old, "new_value": new,
        "reason": reason, "task_id": task_id,
    }


class Applicant(NamedTuple):
    """The student columns ``gather_facts`` reads, without loading Student objects (a plain tuple:
    attribute reads on SQLAlchemy rows cost microseconds each, which adds up over a cohort)."""

    id: int
    major_id: int
    level: str
    study_grade: int
    status: str


def audit_applications(app_ids: Sequence[int], *, task_id: int, actor) -> dict[str, int]:
    """Audit one chunk of applications: a fixed number of set queries, the rules in memory, and
    one bulk statement each for results, snapshots and log entries (no ORM unit of work)."""
    db.session.flush()
    ids = list(app_ids)
    rows = [tuple(r) for r in db.session.connection().execute(
        select(DegreeApplication.id, DegreeApplication.batch_id, DegreeApplication.result,
               DegreeApplication.override_result, Student.site_id, Student.college_id,
               Student.id, Student.major_id, Student.level, Student.study_grade, Student.status)
        .join(Student, Student.id == DegreeApplication.student_id)
        # (the id range as well: a chunk's ids are close together, and the range lets the planner
        # read that part of the table instead of filtering all of it through the IN list)
        .where(facts.ids_in(DegreeApplication.id, ids), DegreeApplication.id.between(min(ids), max(ids)))
    )] if ids else []
    if not rows:
        return {MET: 0, NOT_MET: 0}
    marks = {b.id: marks_of(b) for b in db.session.scalars(
        select(DegreeBatch).where(DegreeBatch.id.in_({r[1] for r in rows})))}
    by_student = gather_facts(list({r[6]: Applicant(*r[6:]) for r in rows}.values()))
    done = set(db.session.scalars(select(DegreeSnapshot.application_id).where(
        DegreeSnapshot.task_id == task_id, facts.ids_in(DegreeSnapshot.application_id, ids))))
    now = utcnow()
    counts = {MET: 0, NOT_MET: 0}
    updates, snapshots, logs = [], [], []
    actor_id, actor_name = getattr(actor, "id", None), getattr(actor, "username", None) or "系统"
    labels = {m.value: label(m) for m in DegreeConditionResult}
    for app_id, batch_id, old, override, site_id, college_id, sid, *_ in rows:
        f = by_student[sid]
        verdict, average = audit_degree_with_average(f.graduation_result, f.graduated, f.exams, f.plan, f.best,
                                                     marks[batch_id], f.exceptions)
        reasons = verdict.lines()  # notes naming the course exceptions after the reasons
        new = override or verdict.result
        updates.append({"id": app_id, "computed_result": verdict.result, "computed_reasons": reasons,
                        "computed_at": now, "computed_task_id": task_id, "result": new})
        counts[new] = counts.get(new, 0) + 1
        if app_id not in done:
            snapshots.append({"task_id": task_id, "application_id": app_id, "result": verdict.result,
                              "reasons": reasons, "average": average, "created_at": now})
        if old != new:
            logs.append({
                "at": now, "actor_id": actor_id, "actor_name": actor_name, "action": "degree_audit",
                "record_type": "DegreeApplication", "record_id": app_id, "student_id": sid, "site_id": site_id,
                "college_id": college_id, "old_value": labels.get(old) or label(old, DegreeConditionResult),
                "new_value": labels[new], "reason": None, "task_id": task_id,
            })
    facts.bulk_update_values(DegreeApplication.__table__, updates)
    facts.bulk_insert(DegreeSnapshot.__table__, snapshots)
    oplog.record_many(logs)
    return counts


def audit_application_ids(task) -> list[int]:
    """Pending applications of the task, resolved once against the requester's scope."""
    actor = db.session.get(Account, task.requested_by_id)
    return _task_ids(task, _admin_scope(actor), stage=PENDING)


def audit_finished(task, summary: dict) -> dict:
    """Fresh planner statistics for 学位申请审核管理's filters after a large audit (see facts.refresh_statistics)."""
    facts.refresh_statistics(DegreeApplication.__table__, task.total or 0)
    return summary


def run_audit(task, app_ids: list[int], progress: Progress) -> dict:
    """学位条件审核 job, one chunk of applications; each sub-chunk commits with the counter."""
    actor = db.session.get(Account, task.requested_by_id)
    progress(0, len(app_ids))
    totals = {MET: 0, NOT_MET: 0}
    done = 0
    for chunk in chunks(app_ids, AUDIT_CHUNK):
        for key, n in audit_applications(chunk, task_id=task.id, actor=actor).items():
            totals[key] = totals.get(key, 0) + n
        done += len(chunk)
        progress(done)  # commits this chunk's results together with the counter
    return {label(DegreeConditionResult.MET): totals.get(MET, 0),
            label(DegreeConditionResult.NOT_MET): totals.get(NOT_MET, 0)}



"""毕业审核 and 同步课程数据 as task chunks: results, snapshots and log entries written in bulk."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select

from app.extensions import db
from app.models.account import Account
from app.models.base import utcnow
from app.models.graduation import GraduationAudit, GraduationSnapshot
from app.models.task import Task
from app.services import facts, oplog
from app.services.common import chunks
from app.services.graduation.inputs import PlanCache, evaluate, load_batches, load_cases
from app.services.graduation.results import (
    AUDIT_CHUNK,
    CHUNK,
    FAILED,
    PRE,
    SKIPPED_KEY,
    effective_result,
    is_locked,
    log_row,
    result_label,
)
from app.services.sync import sync_course_data
from app.services.tasks import KEPT_OVERRIDES_KEY

_AUDIT_T = GraduationAudit.__table__
_SNAPSHOT_T = GraduationSnapshot.__table__


def audit_students(student_ids: Sequence[int], *, task_id: int, actor: Account | None,
                   progress=None, now: dt.datetime | None = None) -> dict[str, int]:
    """Audit students chunk by chunk: upsert results, replace this task's snapshots, log changes.

    Per chunk: five set queries, the pure rules in memory, then one executemany each for new
    results, changed results, snapshots and log entries (Core statements: no ORM unit of work).
    Idempotent per task: a rerun of the same task replaces its snapshots instead of adding more.
    Confirmed and published rows keep their result; the computed one is stored beside it. The summary counts
    the results the students now have; ``KEPT_OVERRIDES_KEY`` says how many of them are kept hand-set results.
    """
    ids = list(student_ids)
    total = len(ids)
    batches = load_batches()
    plans = PlanCache()
    counts = {PRE: 0, FAILED: 0}
    skipped = 0
    kept = 0  # hand-set results (修改毕业审核结果) kept instead of the computed one
    done = 0
    if progress:
        progress(0, total)
    for chunk in chunks(ids, AUDIT_CHUNK):
        now_chunk = now or utcnow()
        cases = load_cases(chunk, batches, plans)
        inserts, updates, snapshots, logs = [], [], [], []
        for case in cases:
            if case.batch is None:
                skipped += 1
                continue
            verdict, prog = evaluate(case)
            reasons = verdict.lines()  # notes naming the course exceptions after the reasons
            old = effective_result(case.audit)
            if case.audit is None:
                new = verdict.result
                inserts.append({
                    "student_id": case.student.id, "batch_id": case.batch.id, "result": new,
                    "computed_result": verdict.result, "computed_reasons": reasons,
                    "computed_at": now_chunk, "computed_task_id": task_id,
                })
            else:
                locked = is_locked(case.audit)
                new = old if locked else (case.audit.override_result or verdict.result)
                updates.append({"id": case.audit.id, "computed_result": verdict.result, "computed_reasons": reasons,
                                "computed_at": now_chunk, "computed_task_id": task_id, "result": new,
                                "batch_id": case.audit.batch_id if locked else case.batch.id})
            snapshots.append({
                "task_id": task_id, "student_id": case.student.id, "batch_id": case.batch.id,
                "result": verdict.result, "reasons": reasons, "passed_courses": prog.passed_courses,
                "earned_credits": prog.total_credits, "created_at": now_chunk,
            })
            if new in counts:
                counts[new] += 1
            if case.audit is not None and case.audit.override_result is not None:
                kept += 1
            if new != old:
                logs.append((case, old, new))
        conn = db.session.connection()
        facts.bulk_insert(_AUDIT_T, inserts)
        facts.bulk_update_values(_AUDIT_T, updates)
        audited = [s["student_id"] for s in snapshots]
        if audited:
            conn.execute(delete(_SNAPSHOT_T).where(
                _SNAPSHOT_T.c.task_id == task_id, _SNAPSHOT_T.c.student_id.in_(audited)))
            facts.bulk_insert(_SNAPSHOT_T, snapshots)
        if logs:
            audit_ids = {c.audit.student_id: c.audit.id for c, _, _ in logs if c.audit is not None}
            new_rows = [c.student.id for c, _, _ in logs if c.audit is None]
            if new_rows:
                audit_ids.update(conn.execute(
                    select(_AUDIT_T.c.student_id, _AUDIT_T.c.id).where(_AUDIT_T.c.student_id.in_(new_rows))
                ).tuples().all())
            oplog.record_many([
                log_row(actor=actor, action="graduation_audit", student=c.student,
                         record_id=audit_ids.get(c.student.id), old=result_label(o), new=result_label(n),
                         task_id=task_id, at=now_chunk)
                for c, o, n in logs
            ])
        done += len(chunk)
        if progress:
            progress(done, total)
    summary = {result_label(code): n for code, n in counts.items()}
    if skipped:
        summary[SKIPPED_KEY] = skipped
    if kept:
        summary[KEPT_OVERRIDES_KEY] = kept
    return summary


def audit_finished(task: Task, summary: dict) -> dict:
    """The whole cohort's results are new: fresh planner statistics for the pages that filter on them."""
    facts.refresh_statistics(GraduationAudit.__table__, task.total or 0)
    return summary


def run_audit(task: Task, student_ids: list[int], progress) -> dict:
    """毕业审核任务, one chunk: audit these students (any worker may run any chunk)."""
    return audit_students(student_ids, task_id=task.id, actor=task.requested_by, progress=progress)


def sync_finished(task: Task, summary: dict) -> dict:
    """One 同步课程数据 log entry for the whole task, written with its 成功."""
    done = int(summary.get("已同步", 0))
    oplog.record(actor=task.requested_by, action="graduation_sync", record_type="Task", record_id=task.id,
                 new=f"{done} 名学生", task_id=task.id)
    return {"已同步": done}


def run_sync(task: Task, student_ids: list[int], progress) -> dict:
    """同步课程数据任务, one chunk: recompute the synced figures (each sub-chunk committed)."""
    total = len(student_ids)
    progress(0, total)
    done = 0
    for chunk in chunks(student_ids, CHUNK):
        done += sync_course_data(chunk)
        progress(done, total)
    return {"已同步": done}

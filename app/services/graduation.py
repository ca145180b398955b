"""毕业审核 workflow (SPEC §3, manual section 2): filter, sync, audit, override, confirm, publish.

The rules themselves are pure (``app.audit.graduation``); this module gathers their inputs in a
few set queries per chunk of students, stores results, snapshots and log entries, and enforces
who may change what. Services flush; the request or the job commits.

The filter of the 毕业审核管理 page is turned into SQL in exactly one place,
``filtered_students_query``; the page, the jobs and 一键确认毕业 all go through it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Row, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased, joinedload

from app.audit import confirmation
from app.audit.confirmation import CONFIRM_LABELS, active_batches, batch_key, batch_matches_sql
from app.audit.exceptions import course_standings
from app.audit.graduation import GraduationConditions, GraduationFacts, audit_graduation_with_progress
from app.audit.scores import Progress
from app.audit.types import NO_EXCEPTIONS, NOTE_CODE, Exceptions, Plan, Reason, Verdict
from app.clock import to_local
from app.extensions import db
from app.ids import parse_id
from app.models.account import Account
from app.models.base import utcnow
from app.models.graduation import GraduateForm, GraduationAudit, GraduationBatch, GraduationSnapshot
from app.models.org import Major, Organisation
from app.models.student import Student
from app.models.task import Task
from app.security import Scope, role_of, scope_of, student_scope_clause
from app.services import facts, numbering, oplog, tasks
from app.services.common import chunks, posted_ids
from app.services.errors import DomainError, NotAllowed, NotFound
from app.services.numbering import allocate, diploma_prefix
from app.services.reasons import clean_reason
from app.services.sync import sync_course_data
from app.statuses import (
    LABELS,
    ConfirmState,
    CourseState,
    EnrolmentStatus,
    FormState,
    GraduationResult,
    Level,
    RoleName,
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
_UNCONFIRMED = ConfirmState.UNCONFIRMED.value

# --------------------------------------------------------------------------- time


def _fmt(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------- filters


FILTER_KEYS = ("enrol_grade", "study_grade", "level", "site_id", "major_id", "result", "q", "confirm_state")
_INT_KEYS = {"enrol_grade", "study_grade", "site_id", "major_id"}
MAX_TICKED = 100_000  # ticked ids a bulk action carries (a list page ticks at most PAGE_SIZE_MAX)


def clean_filters(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keep only known, well-formed filter values (plain, JSON-serialisable: jobs carry them).

    Unknown keys and malformed values are dropped rather than refused: a filter never widens
    the scope, it only narrows it. ``student_ids`` (the ticked rows of a bulk action, already
    checked against the scope by the view) is kept as a sorted list of ints.
    """
    out: dict[str, Any] = {}
    for key in FILTER_KEYS:
        value = (raw or {}).get(key)
        if value is None:
            continue
        value = str(value).strip()
        if not value:
            continue
        if key in _INT_KEYS:
            number = parse_id(value)
            if number is not None:
                out[key] = number
        elif key == "level":
            if value in {m.value for m in Level}:
                out[key] = value
        elif key == "result":
            if value in {m.value for m in GraduationResult}:
                out[key] = value
        elif key == "confirm_state":
            if value in CONFIRM_LABELS:
                out[key] = value
        elif key == "q":
            out[key] = value[:50]
    ticked = (raw or {}).get("student_ids")
    if isinstance(ticked, (list, tuple)) and ticked:
        ids = sorted({n for n in (parse_id(str(v)) for v in ticked[:MAX_TICKED]) if n is not None})
        if ids:
            out["student_ids"] = ids
    return out


def filter_clauses(filters: Mapping[str, Any] | None) -> list:
    """The filter bar as SQL conditions over ``Student`` (the audit row is probed with EXISTS).

    The one filter→SQL translation: ``filtered_students_query`` (jobs, 一键确认毕业, exports) and the
    FAB filters of the 毕业审核管理 / 毕业生列表 pages both use it, so a page and its bulk action
    can never disagree about who "the current filter" is. A student without an audit row counts
    as 未审核 and 未确认.
    """
    f = clean_filters(filters)
    audit = aliased(GraduationAudit)  # its own name: the query may join graduation_audit too
    own = audit.student_id == Student.id
    out = []
    if "enrol_grade" in f:
        out.append(Student.enrol_grade == f["enrol_grade"])
    if "study_grade" in f:
        out.append(Student.study_grade == f["study_grade"])
    if "level" in f:
        out.append(Student.level == f["level"])
    if "site_id" in f:
        out.append(Student.site_id == f["site_id"])
    if "major_id" in f:
        out.append(Student.major_id == f["major_id"])
    if "result" in f:
        if f["result"] == UNAUDITED:
            out.append(~exists().where(own, audit.result != UNAUDITED))
        else:
            out.append(exists().where(own, audit.result == f["result"]))
    if "confirm_state" in f:
        out.append(confirmation.confirm_state_exists(f["confirm_state"], audit, own))
    if "q" in f:
        q = f["q"]
        out.append(or_(Student.student_no.startswith(q, autoescape=True), Student.name.contains(q, autoescape=True)))
    if "student_ids" in f:
        out.append(Student.id.in_(f["student_ids"]))
    return out


def filtered_students_query(filters: Mapping[str, Any] | None, scope: Scope, *, with_related: bool = False):
    """The one filter→query function: ``select(Student, GraduationAudit)`` limited to the scope.

    Args:
        filters: Raw or cleaned filter values (学籍年级, 学习年级, 层次, 教学点, 专业, 毕业审核结果,
            姓名/学号, 确认状态 for 毕业生列表, and the ticked ``student_ids`` of a bulk action).
        scope: Whose students may be seen; applied through ``student_scope_clause`` always.
        with_related: Eager-load 专业 and 教学点 (for pages) in the same query.

    Returns:
        A ``Select`` ordered by 学号; use ``.with_only_columns(Student.id)`` for ids.
    """
    stmt = (
        select(Student, GraduationAudit)
        .outerjoin(GraduationAudit, GraduationAudit.student_id == Student.id)
        .where(student_scope_clause(scope), *filter_clauses(filters))
    )
    if with_related:
        stmt = stmt.options(joinedload(Student.major), joinedload(Student.site))
    return stmt.order_by(Student.student_no, Student.id)


def count_query(stmt) -> int:
    """Row count of a filtered query (one COUNT over its id column)."""
    ids = stmt.with_only_columns(Student.id).order_by(None)
    return db.session.scalar(select(func.count()).select_from(ids.subquery())) or 0


def filter_options(scope: Scope) -> dict[str, list[tuple[Any, str]]]:
    """Dropdown options of the filter bar, only from the students the scope may see.

    Sites and majors are EXISTS probes on the student indexes (one per organisation/major, not a scan
    of every student); the grades see ``grade_options``.
    """
    clause = student_scope_clause(scope)
    sites = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(exists().where(Student.site_id == Organisation.id, clause))
        .order_by(Organisation.code)
    ).all()
    majors = db.session.execute(
        select(Major.id, Major.name)
        .where(exists().where(Student.major_id == Major.id, clause))
        .order_by(Major.code)
    ).all()
    enrol, study = grade_options(clause)
    return {
        "enrol_grade": [(g, f"{g}级") for g in enrol],
        "study_grade": [(g, f"{g}级") for g in study],
        "level": [(m.value, LABELS[m]) for m in Level],
        "site_id": [(i, n) for i, n in sites],
        "major_id": [(i, n) for i, n in majors],
        "result": [(m.value, LABELS[m]) for m in GraduationResult],
    }


def grade_options(clause) -> tuple[list[int], list[int]]:
    """学籍年级 and 学习年级 choices, newest first: every year from the earliest to the latest grade.

    Four index probes (min/max of each grade) instead of a DISTINCT over every student the scope
    sees, which cost more than the rest of the page at 100,000 students. A year between two
    cohorts without students is offered too; choosing it simply lists nobody.
    """
    lo_e, hi_e, lo_s, hi_s = db.session.execute(
        select(func.min(Student.enrol_grade), func.max(Student.enrol_grade),
               func.min(Student.study_grade), func.max(Student.study_grade)).where(clause)
    ).one()
    enrol = list(range(hi_e, lo_e - 1, -1)) if lo_e is not None else []
    study = list(range(hi_s, lo_s - 1, -1)) if lo_s is not None else []
    return enrol, study


def parse_ids(values: Iterable[Any]) -> list[int]:
    """Posted ``ids`` as distinct ints; anything malformed is a bad request."""
    return posted_ids(values, DomainError("所选学生编号无效"))


def ids_in_scope(student_ids: Sequence[int], scope: Scope) -> list[int]:
    """The subset of ``student_ids`` the scope may see."""
    found: list[int] = []
    for chunk in chunks(list(student_ids), CHUNK):
        found.extend(db.session.scalars(select(Student.id).where(Student.id.in_(chunk), student_scope_clause(scope))))
    return found


def all_in_scope(student_ids: Sequence[int], scope: Scope) -> bool:
    """True when every id exists and is visible to the scope (views answer 404 otherwise)."""
    return len(set(ids_in_scope(student_ids, scope))) == len(set(student_ids))


def resolve_student_ids(params: Mapping[str, Any]) -> list[int]:
    """Student ids of a job: the selected ids or the filter, always re-checked against the scope."""
    scope = Scope.from_params(params.get("scope"))
    if params.get("student_ids"):
        return sorted(set(ids_in_scope([int(i) for i in params["student_ids"]], scope)))
    stmt = filtered_students_query(params.get("filters") or {}, scope).with_only_columns(Student.id)
    return list(db.session.scalars(stmt))


def describe(filters: Mapping[str, Any] | None, student_ids: Sequence[int] | None = None) -> str:
    """Human-readable scope of a task in the page's own labels (任务中心 shows it)."""
    f = clean_filters(filters)
    ticked = list(student_ids or f.get("student_ids") or [])
    if ticked:
        return f"已勾选 {len(ticked)} 名学生"
    parts = []
    if "enrol_grade" in f:
        parts.append(f"学籍年级 {f['enrol_grade']}")
    if "study_grade" in f:
        parts.append(f"学习年级 {f['study_grade']}")
    if "level" in f:
        parts.append(f"层次 {label(f['level'], Level)}")
    if "site_id" in f:
        org = db.session.get(Organisation, f["site_id"])
        parts.append(f"教学点 {org.name if org else f['site_id']}")
    if "major_id" in f:
        major = db.session.get(Major, f["major_id"])
        parts.append(f"专业 {major.name if major else f['major_id']}")
    if "result" in f:
        parts.append(f"毕业审核结果 {label(f['result'], GraduationResult)}")
    if "confirm_state" in f:
        parts.append(f"确认状态 {CONFIRM_LABELS[f['confirm_state']]}")
    if "q" in f:
        parts.append(f"姓名/学号 {f['q']}")
    return "筛选：" + ("，".join(parts) if parts else "全部")


def start_task(kind: str, *, actor: Account, scope: Scope, filters: Mapping[str, Any] | None,
               student_ids: Sequence[int] | None = None) -> Task:
    """Create (flush, not commit) a sync/audit/publish task for the filter or the selected students.

    Raises:
        DomainError: when the filter matches nobody (no task is created).
        Conflict: when the same kind of task is already open for the actor's organisation.
    """
    f = clean_filters(filters)
    ids = list(student_ids or [])
    if kind == "graduation_publish" and role_of(actor) != RoleName.CE_ADMIN.value:
        raise NotAllowed("只有继教院管理员可以发布毕业名单")
    if ids:
        if not all_in_scope(ids, scope):
            raise NotFound("所选学生不存在或不在您的管理范围内")
        total = len(ids)
    else:
        total = count_query(filtered_students_query(f, scope))
    if total == 0:
        raise DomainError("当前筛选条件下没有学生，未创建任务")
    params: dict[str, Any] = {"scope": scope.to_params()}
    if ids:
        params["student_ids"] = ids
    else:
        params["filters"] = f
    return tasks.create_task(kind, actor=actor, params=params, scope_text=describe(f, ids),
                             lock_key=tasks.lock_key_for(kind, actor), total=total)


# --------------------------------------------------------------------------- loading the rule inputs


def load_batches() -> dict[tuple[int, int, str], GraduationBatch]:
    """Active batch per (学籍年级, 学习年级, 层次) (``confirmation.active_batches``: the latest id)."""
    return active_batches(db.session.scalars(select(GraduationBatch)))


def active_batch(student: Student) -> GraduationBatch | None:
    """The batch that matches the student (``confirmation.batch_matches_sql``), latest id first."""
    return db.session.scalar(
        select(GraduationBatch)
        .where(batch_matches_sql(student, GraduationBatch))
        .order_by(GraduationBatch.id.desc())
        .limit(1)
    )


_CONDITIONS = {(p, f, ph): GraduationConditions(p, f, ph) for p in (True, False) for f in (True, False)
               for ph in (True, False)}  # the eight possible values, built once (evaluated per student)


def conditions_of(batch: GraduationBatch | None) -> GraduationConditions:
    """The a/b/c conditions a batch has in force; without a batch every condition applies."""
    if batch is None:
        return _CONDITIONS[True, True, True]
    return _CONDITIONS[bool(batch.require_plan_courses), bool(batch.require_form), bool(batch.require_photo)]


@dataclass
class PlanCache:
    """Teaching plans as rule values, keyed by (专业, 层次, 年级); loaded once per job."""

    plans: dict[tuple[int, str, int], tuple[int, Plan] | None] = field(default_factory=dict)

    def load(self, keys: Iterable[tuple[int, str, int]]) -> None:
        missing = {k for k in keys if k not in self.plans}
        if not missing:
            return
        found = facts.load_plans(missing)
        for key in missing:
            self.plans[key] = found.get(key)

    def get(self, key: tuple[int, str, int]) -> tuple[int, Plan] | None:
        return self.plans.get(key)


@dataclass
class Case:
    """Everything the rules need about one student, plus the row to update."""

    student: Any  # a Row of student columns
    batch: GraduationBatch | None
    plan: Plan | None
    best: dict[str, float]
    form_state: str | None
    audit: Any | None  # a Row of graduation_audit columns
    verdict: Verdict | None = None
    exceptions: Exceptions = field(default_factory=dict)  # approved course exceptions (课程替代 / 免修 / 学分认定)


_STUDENT_COLS = (
    Student.id, Student.student_no, Student.name, Student.status, Student.major_id, Student.level,
    Student.enrol_grade, Student.study_grade, Student.photo_path, Student.site_id, Student.college_id,
)
_AUDIT_COLS = (
    GraduationAudit.id, GraduationAudit.student_id, GraduationAudit.result, GraduationAudit.computed_result,
    GraduationAudit.override_result, GraduationAudit.confirmed_at, GraduationAudit.published_at,
    GraduationAudit.batch_id,
)


def _core_rows(stmt) -> list[Any]:
    """Rows of a column SELECT through the session's connection (Core rows: no ORM loading cost)."""
    db.session.flush()
    return list(db.session.connection().execute(stmt))


def load_cases(student_ids: Sequence[int], batches: Mapping, plans: PlanCache) -> list[Case]:
    """The rule inputs of a chunk of students in five set queries (students, forms, plans, grades, audits)."""
    ids = list(student_ids)
    students = _core_rows(select(*_STUDENT_COLS).where(Student.id.in_(ids)).order_by(Student.id))
    forms = dict(_core_rows(
        select(GraduateForm.student_id, GraduateForm.state).where(GraduateForm.student_id.in_(ids))
    ))
    audits = {r.student_id: r for r in _core_rows(
        select(*_AUDIT_COLS).where(GraduationAudit.student_id.in_(ids))
    )}
    plans.load(facts.plan_key(s) for s in students)
    best = facts.best_scores_for(ids)
    approved = facts.approved_exceptions_for(ids)
    cases = []
    for s in students:
        batch = batches.get(batch_key(s.enrol_grade, s.study_grade, s.level))
        plan = plans.get(facts.plan_key(s))
        cases.append(Case(student=s, batch=batch, plan=plan[1] if plan else None, best=best.get(s.id, {}),
                          form_state=forms.get(s.id), audit=audits.get(s.id),
                          exceptions=approved.get(s.id, NO_EXCEPTIONS)))
    return cases


def evaluate(case: Case) -> tuple[Verdict, Progress]:
    """Run the pure rules on the student's real facts with the batch's conditions in force
    (no batch: every condition applies) — the batch audit and 审核预览 both come here."""
    facts = GraduationFacts(
        enrolment_status=case.student.status,
        form_state=case.form_state,
        has_photo=bool(case.student.photo_path),
    )
    return audit_graduation_with_progress(facts, case.plan, case.best, conditions_of(case.batch), case.exceptions)


def _is_locked(audit_row) -> bool:
    """Confirmed or published results keep their result through later audits."""
    return audit_row is not None and confirm_state(audit_row) != _UNCONFIRMED


def _effective(audit_row) -> str:
    return audit_row.result if audit_row is not None else UNAUDITED


def result_label(code: str | None) -> str:
    return label(code or UNAUDITED, GraduationResult)


# --------------------------------------------------------------------------- 审核预览


def preview(student: Student) -> Verdict:
    """审核预览: the same rules on the same data as the batch audit, writing nothing."""
    batch = active_batch(student)
    batches = {} if batch is None else {batch_key(batch.enrol_grade, batch.study_grade, batch.level): batch}
    return evaluate(load_cases([student.id], batches, PlanCache())[0])[0]


# --------------------------------------------------------------------------- jobs


def _log_row(*, actor: Account | None, action: str, student, record_id: int | None, old: str | None,
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


_AUDIT_T = GraduationAudit.__table__
_SNAPSHOT_T = GraduationSnapshot.__table__


def audit_students(student_ids: Sequence[int], *, task_id: int, actor: Account | None,
                   progress=None, now: dt.datetime | None = None) -> dict[str, int]:
    """Audit students chunk by chunk: upsert results, replace this task's snapshots, log changes.

    Per chunk: five set queries, the pure rules in memory, then one executemany each for new
    results, changed results, snapshots and log entries (Core statements: no ORM unit of work).
    Idempotent per task: a rerun of the same task replaces its snapshots instead of adding more.
    Confirmed and published rows keep their result; the computed one is stored beside it.
    """
    ids = list(student_ids)
    total = len(ids)
    batches = load_batches()
    plans = PlanCache()
    counts = {PRE: 0, FAILED: 0}
    skipped = 0
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
            old = _effective(case.audit)
            if case.audit is None:
                new = verdict.result
                inserts.append({
                    "student_id": case.student.id, "batch_id": case.batch.id, "result": new,
                    "computed_result": verdict.result, "computed_reasons": reasons,
                    "computed_at": now_chunk, "computed_task_id": task_id,
                })
            else:
                locked = _is_locked(case.audit)
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
                _log_row(actor=actor, action="graduation_audit", student=c.student,
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
    return summary


def task_student_ids(task: Task) -> list[int]:
    """The task's students, resolved once when it fans out (filter or ids, re-checked against the scope)."""
    return resolve_student_ids(task.params or {})


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


# --------------------------------------------------------------------------- 修改毕业审核结果


def _load_for_change(student_ids: Sequence[int], actor: Account) -> list[tuple[Student, GraduationAudit | None]]:
    """Students (and their audit rows) the actor may act on; NotFound if any id is outside the scope."""
    ids = list(dict.fromkeys(int(i) for i in student_ids))
    if not ids:
        raise DomainError("请先勾选要修改的学生")
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
        raise NotFound("所选学生不存在或不在您的管理范围内")
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
        raise DomainError("毕业审核结果只能修改为“预毕业”或“不合格”")
    reason = clean_reason(reason, "核实说明")
    rows = _load_for_change(student_ids, actor)
    is_ce = role_of(actor) == RoleName.CE_ADMIN.value
    states = {s.id: confirm_state(a) for s, a in rows}
    published = [s.student_no for s, _a in rows if states[s.id] == ConfirmState.PUBLISHED.value]
    if published:
        raise NotAllowed(f"已发布毕业的学生不能修改毕业审核结果：{'、'.join(published[:10])}")
    confirmed = [s.student_no for s, _a in rows if states[s.id] == ConfirmState.CONFIRMED.value]
    if confirmed and not is_ce:
        raise NotAllowed(f"已确认毕业的结果已锁定，只有继教院管理员可以修改：{'、'.join(confirmed[:10])}")
    batches = load_batches()
    missing_batch = [s.student_no for s, a in rows if a is None
                     and batch_key(s.enrol_grade, s.study_grade, s.level) not in batches]
    if missing_batch:
        raise DomainError(f"以下学生不在任何毕业批次中，不能修改毕业审核结果：{'、'.join(missing_batch[:10])}")
    now = now or utcnow()
    changed = 0
    for student, audit in rows:
        if (audit is not None and audit.override_result == result and audit.override_reason == reason
                and audit.override_by_id == actor.id and audit.result == result):
            continue  # the same override posted again: nothing changes, nothing is logged
        changed += 1
        old = _effective(audit)
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


# --------------------------------------------------------------------------- 一键确认毕业


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
        confirmation.confirm_state_is(_UNCONFIRMED, GraduationAudit.confirmed_at, GraduationAudit.published_at),
    )
    rows = db.session.execute(stmt).all()
    if not rows:
        return 0
    batches = {b.id: b for b in db.session.scalars(
        select(GraduationBatch).where(GraduationBatch.id.in_({r[1] for r in rows})))}
    for batch in sorted(batches.values(), key=lambda b: b.id):
        if not (batch.confirm_start <= local <= batch.confirm_end):
            raise DomainError(f"不在确认毕业时间内（{_fmt(batch.confirm_start)} 至 {_fmt(batch.confirm_end)}）")
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
            student = _Plain(id=sid, site_id=site_id, college_id=college_id)
            logs.append(_log_row(actor=actor, action="graduation_confirm", student=student, record_id=audit_id,
                                 old=CONFIRM_LABELS["unconfirmed"], new=CONFIRM_LABELS["confirmed"], at=now))
    oplog.record_many(logs)
    db.session.flush()
    db.session.expire_all()
    return confirmed


@dataclass(frozen=True)
class _Plain:
    id: int
    site_id: int | None
    college_id: int | None


# --------------------------------------------------------------------------- 发布


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
            _log_row(actor=actor, action="graduation_publish", student=_Plain(r[2], r[5], r[6]), record_id=r[0],
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
        raise NotAllowed("只有继教院管理员可以发布毕业名单")
    ids = resolve_student_ids(task.params or {})
    return publish_students(ids, task_id=task.id, actor=task.requested_by, progress=progress)


# --------------------------------------------------------------------------- pages


def confirm_state(audit: GraduationAudit | None) -> str:
    """确认状态 of an audit row (or of any object with confirmed_at/published_at); none is 未确认."""
    if audit is None:
        return ConfirmState.UNCONFIRMED.value
    return confirmation.confirm_state(audit.confirmed_at, audit.published_at)


def reasons_of(audit: GraduationAudit | None) -> list[Reason]:
    if audit is None or not audit.computed_reasons:
        return []
    return [Reason.from_dict(d) for d in audit.computed_reasons]


def load_student(student_id: int, scope: Scope) -> Student:
    """One student through the scope, or NotFound (views answer 404)."""
    student = db.session.scalar(select(Student).where(Student.id == student_id, student_scope_clause(scope)))
    if student is None:
        raise NotFound("学生不存在或不在您的管理范围内")
    return student


def student_detail(student_id: int, scope: Scope) -> dict:
    """Everything the detail page shows: facts, plan progress, result, override, preview, history."""
    student = load_student(student_id, scope)
    audit = db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == student.id))
    batch = audit.batch if audit is not None else active_batch(student)
    plan = facts.plan_for(student)
    best = facts.best_scores_for([student.id])[student.id]
    exceptions = facts.approved_exceptions_for([student.id]).get(student.id, NO_EXCEPTIONS)
    courses = []
    if plan is not None:
        natures = {c.course_code: c.nature_label for c in plan.courses}
        for st in course_standings(facts.rule_plan(plan), best, exceptions):
            courses.append({"code": st.course.code, "name": st.course.name, "label": st.label,
                            "credits": st.course.credits, "nature": natures[st.course.code], "best": st.score,
                            "passed": st.passed, "state_label": label(st.state, CourseState)})
    form = db.session.scalar(select(GraduateForm).where(GraduateForm.student_id == student.id))
    snapshots = db.session.execute(
        select(GraduationSnapshot).where(GraduationSnapshot.student_id == student.id)
        .order_by(GraduationSnapshot.created_at.desc(), GraduationSnapshot.id.desc())
    ).scalars().all()
    override_by = db.session.get(Account, audit.override_by_id) if audit is not None and audit.override_by_id else None
    verdict = preview(student)
    return {
        "student": student,
        "audit": audit,
        "batch": batch,
        "plan": plan,
        "courses": courses,
        "form": form,
        "reasons": [r for r in reasons_of(audit) if r.code != NOTE_CODE],
        "notes": [r for r in reasons_of(audit) if r.code == NOTE_CODE],
        "result_label": result_label(audit.result if audit else None),
        "computed_label": result_label(audit.computed_result) if audit is not None and audit.computed_result else "",
        "confirm_label": CONFIRM_LABELS[confirm_state(audit)],
        "override_by": override_by,
        "preview": verdict,
        "preview_label": result_label(verdict.result),
        "snapshots": [
            {"at": s.created_at, "task_id": s.task_id, "result_label": result_label(s.result),
             "reasons": [Reason.from_dict(d) for d in (s.reasons or [])],
             "passed_courses": s.passed_courses, "earned_credits": s.earned_credits}
            for s in snapshots
        ],
    }


# --------------------------------------------------------------------------- 学生空间


def _form_of(student: Student) -> GraduateForm | None:
    return db.session.scalar(select(GraduateForm).where(GraduateForm.student_id == student.id))


def student_view(student: Student) -> dict:
    """What 学生空间 shows about the student's own graduation (no staff-only notes)."""
    audit = db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == student.id))
    form = _form_of(student)
    result = audit.result if audit is not None else UNAUDITED
    state = confirm_state(audit)
    return {
        "result": result,
        "result_label": result_label(result),
        "reasons": [r.message for r in reasons_of(audit) if r.code != NOTE_CODE] if result == FAILED else [],
        "notes": [r.message for r in reasons_of(audit) if r.code == NOTE_CODE],
        "confirmed": state in (ConfirmState.CONFIRMED.value, ConfirmState.PUBLISHED.value),
        "graduated": state == ConfirmState.PUBLISHED.value,
        "confirm_label": CONFIRM_LABELS[state],
        "diploma_no": audit.diploma_no if audit is not None else None,
        "graduation_date": audit.graduation_date if audit is not None else None,
        "form_state": form.state if form is not None else None,
        "form_state_label": form.state_label if form is not None else label(FormState.DRAFT),
        "form_text": form.self_assessment if form is not None else "",
        "form_editable": form is None or form.state == FormState.DRAFT.value,
        "form_max_chars": FORM_MAX_CHARS,
        "has_photo": bool(student.photo_path),
    }


def save_form(student: Student, text: str, submit: bool, actor: Account | None) -> GraduateForm:
    """Save or submit the 毕业生登记表's 自我鉴定; a submitted form can no longer be edited."""
    text = (text or "").strip()
    form = _form_of(student)
    if form is not None and form.state != FormState.DRAFT.value:
        raise DomainError("毕业生登记表已提交，不能再修改")
    if len(text) > FORM_MAX_CHARS:
        raise DomainError(f"自我鉴定不能超过 {FORM_MAX_CHARS} 字（当前 {len(text)} 字）")
    if submit and not text:
        raise DomainError("请填写自我鉴定后再提交")
    if form is None:
        form = GraduateForm(student_id=student.id, self_assessment=text, state=FormState.DRAFT.value)
        db.session.add(form)
    form.self_assessment = text
    if submit:
        form.state = FormState.SUBMITTED.value
        form.submitted_at = utcnow()
    db.session.flush()
    if submit:
        oplog.record(actor=actor, action="form_submit", record=form, student=student,
                     old=label(FormState.DRAFT), new=label(FormState.SUBMITTED))
    return form

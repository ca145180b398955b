"""学位审核 (SPEC §4, manual section 3): applications, condition audit, 修改授予结论, 初审, 终审, 发布.

The workflow of one application: a student applies in the batch window (or an admin registers it) →
学位条件审核 (a set-based background job) sets 已达标 / 未达标 with reasons → a site admin may 修改授予结论
and gives the signed 初审 → the college admin's 批量终审 sends it to the CE college → the CE admin's
发布 grants the degree with a 学位证书编号.

Every function takes the actor as an argument, checks the actor's role and scope itself (views only
add FAB permissions on top), raises ``DomainError`` before writing anything and only ``flush()``es.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.orm import contains_eager, joinedload

from app.audit import degree as degree_rules
from app.audit.confirmation import confirm_state, has_graduated
from app.audit.degree import DegreeMarks, LanguageExam, audit_degree_with_average, degree_course_average
from app.audit.language import DEFAULT_PASS_MARK, substitute_passed
from app.audit.scores import format_number
from app.audit.types import NO_EXCEPTIONS, Exceptions, Plan
from app.clock import format_local, local_now
from app.extensions import db
from app.ids import parse_id
from app.models import (
    Account,
    DegreeApplication,
    DegreeBatch,
    DegreeSnapshot,
    GraduationAudit,
    LanguageScore,
    Major,
    Organisation,
    Student,
)
from app.models.base import utcnow
from app.security import Scope, scope_of, student_scope_clause
from app.services import facts, numbering, oplog
from app.services.common import changed_rows, chunks, count_rows
from app.services.errors import DomainError, NotAllowed, NotFound
from app.services.numbering import allocate, degree_prefix
from app.services.reasons import clean_reason
from app.services.tasks import Progress, create_task, lock_key_for
from app.statuses import (
    DegreeApplicationState,
    DegreeConditionResult,
    GraduationResult,
    Level,
    OrgKind,
    ReviewOpinion,
    SubstituteExam,
    label,
)

CHUNK = 500
AUDIT_CHUNK = 5000  # applications per transaction of the audit job (a whole fan-out chunk by default)
BACHELOR_LEVELS = (Level.HIGH_TO_BACHELOR.value, Level.JUNIOR_TO_BACHELOR.value)
NOT_AUDITED_TEXT = "学位条件审核尚未进行"
MET = DegreeConditionResult.MET.value
NOT_MET = DegreeConditionResult.NOT_MET.value
OUT_OF_SCOPE = "所选学位申请不存在或不在您的管理范围内"
NAMES_SHOWN = 10
NEWEST_BATCH_FIRST = (DegreeBatch.apply_start.desc(), DegreeBatch.id.desc())

# --------------------------------------------------------------------------- time


def fmt_time(value: dt.datetime | None) -> str:
    """'YYYY-MM-DD HH:MM' of a stored (UTC) timestamp in Asia/Shanghai ('' for None)."""
    return format_local(value, "%Y-%m-%d %H:%M")


def _window_text(batch: DegreeBatch) -> str:
    return f"{batch.apply_start:%Y-%m-%d %H:%M:%S} 至 {batch.apply_end:%Y-%m-%d %H:%M:%S}"


# --------------------------------------------------------------------------- batches


def degree_level(level: str | None) -> bool:
    """Only 本科 students (高起本, 专升本) can ever get a degree; 高起专 never."""
    return level in BACHELOR_LEVELS


def batch_level_label(level: str | None) -> str:
    """How a batch's level scope reads: one level, or both 本科 levels when unset."""
    return label(level, Level) if level else "本科（高起本、专升本）"


def active_batch(student: Student) -> DegreeBatch | None:
    """The latest batch whose grade and level scope contain the student (None for 高起专)."""
    if not degree_level(student.level):
        return None
    stmt = (
        select(DegreeBatch)
        .where(
            DegreeBatch.enrol_grade == student.enrol_grade,
            or_(DegreeBatch.level == student.level, DegreeBatch.level.is_(None)),
        )
        .order_by(DegreeBatch.apply_start.desc(), DegreeBatch.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def latest_batch() -> DegreeBatch | None:
    """The batch the audit pages open on when none is chosen."""
    return db.session.scalar(select(DegreeBatch).order_by(*NEWEST_BATCH_FIRST).limit(1))


def batch_students_clause(batch: DegreeBatch):
    """SQL condition: the student is in the batch's grade and level scope."""
    levels = (batch.level,) if batch.level else BACHELOR_LEVELS
    return and_(
        Student.enrol_grade == batch.enrol_grade,
        Student.level.in_([lv for lv in levels if lv in BACHELOR_LEVELS]),
    )


def marks_of(batch: DegreeBatch) -> DegreeMarks:
    return DegreeMarks(
        language_pass_mark=float(DEFAULT_PASS_MARK if batch.language_pass_mark is None else batch.language_pass_mark),
        course_average_mark=float(batch.course_average_mark if batch.course_average_mark is not None else 70),
    )


# --------------------------------------------------------------------------- roles and scope


def _admin_scope(actor) -> Scope:
    """The scope of an institution account; students and unknown accounts may not act here."""
    scope = scope_of(actor)
    if scope.kind not in ("all", "college", "site"):
        raise NotAllowed("没有权限进行此操作")
    return scope


def _names(apps_or_students: Iterable[Any]) -> str:
    people = [getattr(x, "student", x) for x in apps_or_students]
    shown = "、".join(f"{s.name}（{s.student_no}）" for s in people[:NAMES_SHOWN])
    return shown + (f" 等 {len(people)} 人" if len(people) > NAMES_SHOWN else "")


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class DegreeFilter:
    """The filter bar of the degree pages, as plain values (also what jobs receive).

    Attributes:
        batch_id: 学位批次; the pages fill in the latest batch when empty.
        applied: 学生申请状态 (``DegreeApplicationState`` value).
        result: 学位申请条件是否达标 (``DegreeConditionResult`` value) or None.
        site_id: 教学点.  major_id: 专业.  grade: 年级 (学籍年级).  level: 层次.
        q: 姓名/学号.
        published: 发布状态 on 学位授予管理: "yes", "no" or None.
    """

    batch_id: int | None = None
    applied: str = DegreeApplicationState.APPLIED.value
    result: str | None = None
    site_id: int | None = None
    major_id: int | None = None
    grade: int | None = None
    level: str | None = None
    q: str = ""
    published: str | None = None

    FIELDS = ("batch_id", "applied", "result", "site_id", "major_id", "grade", "level", "q", "published")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DegreeFilter:
        """Parse request args or job params; unknown values are dropped rather than trusted."""
        get = values.get
        applied = get("applied") or DegreeApplicationState.APPLIED.value
        if applied not in {m.value for m in DegreeApplicationState}:
            applied = DegreeApplicationState.APPLIED.value
        result = get("result") or None
        if result not in {m.value for m in DegreeConditionResult}:
            result = None
        level = get("level") or None
        if level not in {m.value for m in Level}:
            level = None
        published = get("published") if get("published") in ("yes", "no") else None
        return cls(
            batch_id=parse_id(get("batch_id")),
            applied=applied,
            result=result,
            site_id=parse_id(get("site_id")),
            major_id=parse_id(get("major_id")),
            grade=parse_id(get("grade")),
            level=level,
            q=str(get("q") or "").strip()[:50],
            published=published,
        )

    def to_params(self) -> dict[str, str]:
        """Non-empty fields as strings: hidden inputs, query strings and task params."""
        out = {}
        for name in self.FIELDS:
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = str(value)
        return out

    def with_batch(self, batch_id: int | None) -> DegreeFilter:
        return DegreeFilter(**{**{n: getattr(self, n) for n in self.FIELDS}, "batch_id": batch_id})

    def describe(self) -> str:
        """Human-readable scope for the task center."""
        parts = []
        if self.batch_id:
            batch = db.session.get(DegreeBatch, self.batch_id)
            parts.append(f"学位批次：{batch.name if batch else self.batch_id}")
        parts.append(f"学生申请状态：{label(self.applied, DegreeApplicationState)}")
        if self.result:
            parts.append(f"学位申请条件是否达标：{label(self.result, DegreeConditionResult)}")
        if self.site_id:
            site = db.session.get(Organisation, self.site_id)
            parts.append(f"教学点：{site.name if site else self.site_id}")
        if self.major_id:
            major = db.session.get(Major, self.major_id)
            parts.append(f"专业：{major.name if major else self.major_id}")
        if self.grade:
            parts.append(f"年级：{self.grade}")
        if self.level:
            parts.append(f"层次：{label(self.level, Level)}")
        if self.q:
            parts.append(f"姓名/学号：{self.q}")
        return "；".join(parts)


def _student_clauses(flt: DegreeFilter) -> list:
    clauses = []
    if flt.site_id:
        clauses.append(Student.site_id == flt.site_id)
    if flt.major_id:
        clauses.append(Student.major_id == flt.major_id)
    if flt.grade:
        clauses.append(Student.enrol_grade == flt.grade)
    if flt.level:
        clauses.append(Student.level == flt.level)
    if flt.q:
        clauses.append(or_(Student.student_no.startswith(flt.q, autoescape=True),
                           Student.name.contains(flt.q, autoescape=True)))
    return clauses


PENDING, FINAL, ANY = "pending", "final", "any"


def applications_select(scope: Scope, flt: DegreeFilter | None = None, *, stage: str = PENDING):
    """SELECT of applications (joined to their student) in the scope and the filter.

    ``stage`` PENDING is the 学位申请审核管理 page (not yet 终审), FINAL is 学位授予管理.
    """
    stmt = (
        select(DegreeApplication)
        .join(Student, Student.id == DegreeApplication.student_id)
        .where(student_scope_clause(scope))
    )
    if stage == PENDING:
        stmt = stmt.where(DegreeApplication.final_at.is_(None))
    elif stage == FINAL:
        stmt = stmt.where(DegreeApplication.final_at.is_not(None))
    if flt is not None:
        stmt = stmt.where(*_student_clauses(flt))
        if flt.batch_id:
            stmt = stmt.where(DegreeApplication.batch_id == flt.batch_id)
        if flt.result:
            stmt = stmt.where(DegreeApplication.result == flt.result)
        if flt.published == "yes":
            stmt = stmt.where(DegreeApplication.published_at.is_not(None))
        elif flt.published == "no":
            stmt = stmt.where(DegreeApplication.published_at.is_(None))
    return stmt


def unapplied_students_select(scope: Scope, flt: DegreeFilter, batch: DegreeBatch):
    """SELECT of in-scope students of the batch's scope without an application in it (未申请)."""
    applied = exists().where(DegreeApplication.student_id == Student.id, DegreeApplication.batch_id == batch.id)
    return select(Student).where(student_scope_clause(scope), batch_students_clause(batch), ~applied,
                                 *_student_clauses(flt))


def _load_selected(scope: Scope, ids: Sequence[Any], *, stage: str = ANY) -> list[DegreeApplication]:
    """Applications by id through the scope; any id outside it refuses the whole request."""
    try:
        wanted = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise NotFound(OUT_OF_SCOPE) from None
    if not wanted:
        return []
    stmt = (applications_select(scope, stage=stage)
            .where(DegreeApplication.id.in_(wanted))
            .options(contains_eager(DegreeApplication.student))
            .order_by(DegreeApplication.id))
    rows = list(db.session.scalars(stmt).unique())
    if len(rows) != len(wanted):
        raise NotFound(OUT_OF_SCOPE)
    return rows


def _resolve(scope: Scope, ids: Sequence[Any] | None, flt: DegreeFilter | None, *,
             stage: str) -> list[DegreeApplication]:
    """Ticked ids (all must be in scope) or, when none are ticked, every row of the filter."""
    if ids:
        return _load_selected(scope, ids)
    if flt is None:
        raise DomainError("请勾选学位申请，或先设置筛选条件")
    stmt = (applications_select(scope, flt, stage=stage)
            .options(contains_eager(DegreeApplication.student))
            .order_by(DegreeApplication.id))
    return list(db.session.scalars(stmt).unique())


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class DegreeFacts:
    """What the degree rule needs about one student, gathered from the database.

    ``best`` holds the best score of each 学位课程 of the student's plan — all that the rule, the
    average and the tables read (not every course of the plan).
    """

    graduation_result: str | None
    graduated: bool
    exams: tuple[LanguageExam, ...]
    plan: Plan | None
    best: dict[str, float] = field(default_factory=dict)
    language_rows: tuple[tuple[float | None, str | None, float | None, bool], ...] = ()
    exceptions: Exceptions = field(default_factory=dict)  # approved 课程替代 / 免修 / 学分认定


class DegreeFigures(NamedTuple):
    """The part of ``DegreeFacts`` the tables show (学位外语成绩, 学位课程成绩, 学位课程平均分): no
    graduation result, so nothing to decide with — ``language_text`` and ``average_text`` read either."""

    plan: Plan | None
    best: dict[str, float]
    language_rows: tuple[tuple[float | None, str | None, float | None, bool], ...]  # score, sub, sub score, passed
    exceptions: Exceptions = NO_EXCEPTIONS  # approved course exceptions; ``best`` has their substitutes' scores


PlanCache = dict  # plan key → (plan id, plan) or None, kept by a job across its chunks


def gather_figures(students: Sequence[Any], plans: PlanCache | None = None) -> dict[int, DegreeFigures]:
    """Language scores, the (专业, 层次, 年级) plans and the best grade of each degree course (SQL MAX
    over all attempts) of many students, in a handful of queries read as plain columns.

    ``students``: models or rows with id, major_id, level and study_grade. ``plans``: a cache the
    caller keeps across chunks (filled with the keys it lacks); without it the plans are loaded.
    """
    ids = [s.id for s in students]
    if not ids:
        return {}
    language: dict[int, list] = {i: [] for i in ids}
    for sid, score, substitute, substitute_score, passed in facts.raw_rows(
        select(LanguageScore.student_id, LanguageScore.score, LanguageScore.substitute,
               LanguageScore.substitute_score, LanguageScore.passed)
        .where(facts.ids_in(LanguageScore.student_id, ids))
        .order_by(LanguageScore.student_id, LanguageScore.exam_date)
    ):
        language[sid].append((score, substitute, substitute_score, bool(passed)))
    plans = {} if plans is None else plans
    missing = {facts.plan_key(s) for s in students} - plans.keys()
    if missing:
        found = facts.load_plans(missing)
        plans.update({key: found.get(key) for key in missing})
    best = facts.best_degree_scores_for(ids)
    approved = facts.approved_exceptions_for(ids)
    facts.add_substitute_scores(best, approved)
    out = {}
    for s in students:
        plan = plans[facts.plan_key(s)]
        out[s.id] = DegreeFigures(plan[1] if plan else None, best[s.id], tuple(language[s.id]),
                                  approved.get(s.id, NO_EXCEPTIONS))
    return out


def gather_facts(students: Sequence[Any]) -> dict[int, DegreeFacts]:
    """Facts for many students in a handful of queries (no per-student query): ``gather_figures``
    and the graduation result.

    ``students``: models or rows with id, major_id, level, study_grade and status.
    """
    figures = gather_figures(students)
    if not figures:
        return {}
    graduation: dict[int, tuple[str | None, str]] = {}
    for sid, result, confirmed_at, published_at in facts.raw_rows(
        select(GraduationAudit.student_id, GraduationAudit.result, GraduationAudit.confirmed_at,
               GraduationAudit.published_at)
        .where(facts.ids_in(GraduationAudit.student_id, list(figures)))
    ):
        graduation[sid] = (result, confirm_state(confirmed_at, published_at))

    out = {}
    for s in students:
        result, state = graduation.get(s.id, (None, None))
        plan, best, rows, exceptions = figures[s.id]
        exams = tuple(LanguageExam(score, substitute, substitute_score, passed if substitute else None)
                      for score, substitute, substitute_score, passed in rows)  # passed: a PETS-3's 合格 only
        out[s.id] = DegreeFacts(
            graduation_result=result,
            graduated=has_graduated(state, s.status),
            exams=exams,
            plan=plan,
            best=best,
            language_rows=rows,
            exceptions=exceptions,
        )
    return out


def language_text(facts: DegreeFacts | DegreeFigures | None) -> str:
    """学位外语成绩 as shown: the best score, or the accepted substitute, or ''."""
    if facts is None:
        return ""
    subs = [sub for _s, sub, mark, recorded in facts.language_rows if sub and substitute_passed(sub, mark, recorded)]
    scores = [score for score, sub, *_ in facts.language_rows if score is not None and not sub]
    if scores:
        return format_number(max(scores))
    if subs:
        try:
            return f"{label(subs[0], SubstituteExam)}（替代）"
        except ValueError:
            return subs[0]
    return ""


def average_text(facts: DegreeFacts | DegreeFigures | None) -> str:
    """学位课程平均分 as shown, or ''."""
    return "" if facts is None else plan_average_text(facts.plan, facts.best, facts.exceptions)


def plan_average_text(plan: Plan | None, best: Mapping[str, float], exceptions: Exceptions = NO_EXCEPTIONS) -> str:
    """``average_text`` from the plan, the best scores and the approved exceptions themselves."""
    avg = degree_course_average(plan, best, exceptions)
    return "" if avg is None else format_number(avg)


# --------------------------------------------------------------------------- 学位申请


def _graduation_allows(student: Student) -> tuple[bool, str]:
    """Whether the student's graduation lets them apply (``may_apply_for_degree``), and the result shown if not."""
    row = db.session.execute(
        select(GraduationAudit.result, GraduationAudit.confirmed_at, GraduationAudit.published_at)
        .where(GraduationAudit.student_id == student.id)
    ).first()
    result, state = (row.result, confirm_state(row.confirmed_at, row.published_at)) if row is not None else (None, None)
    if degree_rules.may_apply_for_degree(result, state, student.status):
        return True, ""
    return False, label(result or GraduationResult.UNAUDITED.value, GraduationResult)


def _apply(student: Student, actor, now: dt.datetime | None) -> DegreeApplication:
    if not degree_level(student.level):
        raise DomainError(f"{student.level_label}层次的学生不能申请学位")
    batch = active_batch(student)
    if batch is None:
        raise DomainError("当前没有可申请的学位批次")
    now = now or local_now()
    if not (batch.apply_start <= now <= batch.apply_end):
        raise DomainError(f"不在学位申请时间内（{batch.name}：{_window_text(batch)}）")
    already = db.session.scalar(select(DegreeApplication.id).where(
        DegreeApplication.batch_id == batch.id, DegreeApplication.student_id == student.id))
    if already is not None:
        raise DomainError(f"{student.name}已提交过学位申请")
    ok, shown = _graduation_allows(student)
    if not ok:
        raise DomainError(f"{student.name}的毕业审核结果为{shown}，需为预毕业或已毕业，暂不能申请学位")
    app = DegreeApplication(batch_id=batch.id, student_id=student.id, applied_at=utcnow(),
                            applied_by_id=getattr(actor, "id", None),
                            result=DegreeConditionResult.UNAUDITED.value)
    db.session.add(app)
    db.session.flush()
    who = "本人申请" if getattr(actor, "student_id", None) == student.id else "代为申请"
    oplog.record(actor=actor, action="degree_apply", record=app, student=student,
                 old=label(DegreeApplicationState.NOT_APPLIED), new=label(DegreeApplicationState.APPLIED), reason=who)
    return app


def apply(student: Student, actor, now: dt.datetime | None = None) -> DegreeApplication:
    """学位申请 by the student in 学生空间, inside the active batch's window.

    Args:
        student: The applicant.
        actor: The account applying (the student's own account).
        now: Asia/Shanghai wall time; defaults to the clock (tests pass it).
    """
    if getattr(actor, "student_id", None) != student.id:
        raise NotAllowed("只能为本人申请学位")
    return _apply(student, actor, now)


def register_application(student_id: int, actor, now: dt.datetime | None = None) -> DegreeApplication:
    """代为申请: an admin registers an application for a student of their scope, same rules."""
    scope = _admin_scope(actor)
    student = db.session.scalar(select(Student).where(Student.id == student_id, student_scope_clause(scope)))
    if student is None:
        raise NotFound("学生不存在或不在您的管理范围内")
    return _apply(student, actor, now)


def register_applications(student_ids: Sequence[Any], actor, now: dt.datetime | None = None) -> int:
    """代为申请 for the ticked students; any refusal refuses them all (the request rolls back)."""
    try:
        ids = sorted({int(i) for i in student_ids})
    except (TypeError, ValueError):
        raise NotFound("学生不存在或不在您的管理范围内") from None
    if not ids:
        raise DomainError("请勾选要代为申请的学生")
    scope = _admin_scope(actor)
    found = db.session.scalar(select(func.count()).where(Student.id.in_(ids), student_scope_clause(scope)))
    if found != len(ids):
        raise NotFound("学生不存在或不在您的管理范围内")
    for sid in ids:
        register_application(sid, actor, now)
    return len(ids)


def student_view(student: Student) -> dict:
    """What 学生空间 shows about the degree: batch and window, application, and 达标状态.

    达标状态 and its reasons appear only once a 学位条件审核 has run for the application.
    """
    batch = active_batch(student)
    app = None
    if batch is not None:
        app = db.session.scalar(select(DegreeApplication).where(
            DegreeApplication.batch_id == batch.id, DegreeApplication.student_id == student.id))
    if app is None:
        app = db.session.scalar(select(DegreeApplication).where(DegreeApplication.student_id == student.id)
                                .order_by(DegreeApplication.id.desc()).limit(1))
        if app is not None:
            batch = app.batch
    now = local_now()
    window_open = batch is not None and batch.apply_start <= now <= batch.apply_end
    audited = app is not None and app.computed_at is not None
    view: dict[str, Any] = {
        "eligible": degree_level(student.level),
        "batch": batch,
        "batch_name": batch.name if batch else "",
        "window": _window_text(batch) if batch else "",
        "window_open": window_open,
        "applied": app is not None,
        "applied_at": fmt_time(app.applied_at) if app else "",
        "can_apply": app is None and window_open and degree_level(student.level),
        "audited": audited,
        "status_text": NOT_AUDITED_TEXT,
        "result": None,
        "result_label": "",
        "reasons": [],
        "final": bool(app and app.final_at),
        "published": bool(app and app.published_at),
        "degree_no": app.degree_no if app else None,
        "granted_on": app.granted_on if app else None,
    }
    if app is not None and audited:
        view["result"] = app.result
        view["result_label"] = label(app.result, DegreeConditionResult)
        view["status_text"] = view["result_label"]
        if app.result == NOT_MET:
            view["reasons"] = [r.get("message", "") for r in (app.computed_reasons or [])] \
                if app.override_result is None else [f"授予结论经人工核实修改：{app.override_reason or ''}"]
    return view


# --------------------------------------------------------------------------- 学位条件审核


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
        raise DomainError("没有需要审核的学位申请（请先筛选“已申请”的学生）")
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


# --------------------------------------------------------------------------- 修改授予结论


def override(ids: Sequence[Any] | None, result: str, reason: str, actor, *, flt: DegreeFilter | None = None) -> int:
    """修改授予结论: set 已达标/未达标 by hand with a reason; kept across later audits.

    Sites and colleges cannot change an application after 终审; the CE admin can. Posting the same
    override again changes and logs nothing. Returns the number of changed applications.
    """
    scope = _admin_scope(actor)
    if result not in (MET, NOT_MET):
        raise DomainError("请选择授予结论：已达标或未达标")
    reason = clean_reason(reason, "修改授予结论的核实说明")
    apps = _resolve(scope, ids, flt, stage=PENDING)
    if not apps:
        raise DomainError("没有可修改的学位申请")
    if not scope.is_all:
        locked = [a for a in apps if a.final_at is not None]
        if locked:
            raise NotAllowed(f"以下学生的学位申请已终审，不能修改授予结论：{_names(locked)}")
    now = utcnow()
    changed = 0
    for app in apps:
        if (app.override_result == result and app.override_reason == reason
                and app.override_by_id == actor.id and app.result == result):
            continue  # the same override posted again: nothing changes, nothing is logged
        changed += 1
        old = app.result
        app.override_result = result
        app.override_reason = reason
        app.override_by_id = actor.id
        app.override_at = now
        app.result = result
        oplog.record(actor=actor, action="degree_override", record=app, student=app.student,
                     old=label(old, DegreeConditionResult), new=label(result, DegreeConditionResult), reason=reason)
    db.session.flush()
    return changed


# --------------------------------------------------------------------------- 初审


def first_review(ids: Sequence[Any] | None, opinion: str, comment: str, actor, *,
                 flt: DegreeFilter | None = None) -> int:
    """初审 by a teaching-site admin, signed with the admin's current electronic signature.

    Only 已达标 rows can be reviewed; any other row refuses the whole request. Submitting the
    same review twice changes nothing the second time.
    """
    from app.services.signatures import current_signature

    scope = scope_of(actor)
    if scope.kind != "site":
        raise NotAllowed("仅教学点管理员可以初审")
    if opinion not in {m.value for m in ReviewOpinion}:
        raise DomainError("请选择初审意见：同意或不同意")
    comment = clean_reason(comment, "初审说明", required=False)
    apps = _resolve(scope, ids, flt, stage=PENDING)
    if not apps:
        raise DomainError("没有可初审的学位申请")
    final = [a for a in apps if a.final_at is not None]
    if final:
        raise NotAllowed(f"以下学生的学位申请已终审，不能再初审：{_names(final)}")
    unmet = [a for a in apps if a.result != MET]
    if unmet:
        raise DomainError(f"只能对学位申请条件已达标的学生初审，以下学生未达标或未审核：{_names(unmet)}")
    signature = current_signature(actor)
    if signature is None:
        raise DomainError("请先上传电子签名")
    now = utcnow()
    changed = 0
    t = DegreeApplication
    for app in apps:
        if (app.review_opinion, app.review_comment or "", app.review_signature_id, app.reviewed_by_id) == \
                (opinion, comment, signature.id, actor.id):
            continue
        old = label(app.review_opinion, ReviewOpinion) if app.review_opinion else "未初审"
        # Written only if the row still differs: the same review submitted at the same moment by a
        # second request (double click, two tabs) then changes and logs nothing.
        if not changed_rows(
            update(t).where(t.id == app.id, t.final_at.is_(None), or_(
                t.review_opinion.is_distinct_from(opinion), func.coalesce(t.review_comment, "") != comment,
                t.review_signature_id.is_distinct_from(signature.id), t.reviewed_by_id.is_distinct_from(actor.id)))
            .values(review_opinion=opinion, review_comment=comment, reviewed_by_id=actor.id, reviewed_at=now,
                    review_signature_id=signature.id)
            .execution_options(synchronize_session="fetch")
        ):
            continue
        oplog.record(actor=actor, action="degree_review", record=app, student=app.student, old=old,
                     new=f"{label(opinion, ReviewOpinion)}（签名第{signature.version}版）", reason=comment or None)
        changed += 1
    db.session.flush()
    return changed


# --------------------------------------------------------------------------- 批量终审


def _final_ready(app: DegreeApplication) -> bool:
    return app.result == MET and app.review_opinion == ReviewOpinion.AGREE.value


def final_review(actor, *, ids: Sequence[Any] | None = None, flt: DegreeFilter | None = None) -> dict[str, int]:
    """批量终审 by a college admin: 已达标 rows with 初审 同意 go to the CE college.

    Ticked rows that are not ready refuse the request (with names); by filter they are skipped and
    counted. Rows already 终审 are left as they are.

    Returns:
        {"终审": rows finalised now, "跳过": rows of the filter skipped}.
    """
    scope = scope_of(actor)
    if scope.kind != "college":
        raise NotAllowed("仅学院管理员可以终审")
    if ids:
        apps = [a for a in _load_selected(scope, ids) if a.final_at is None]
        not_ready = [a for a in apps if not _final_ready(a)]
        if not_ready:
            raise DomainError(f"只能终审学位申请条件已达标且初审同意的学生，以下学生不符合：{_names(not_ready)}")
        skipped = 0
    else:
        if flt is None:
            raise DomainError("请勾选学位申请，或先设置筛选条件")
        candidates = _resolve(scope, None, flt, stage=PENDING)
        apps = [a for a in candidates if _final_ready(a)]
        skipped = len(candidates) - len(apps)
    if not apps:
        raise DomainError("没有可终审的学位申请（需学位申请条件已达标且初审同意）")
    now = utcnow()
    logs = []
    for app in apps:
        app.final_at = now
        app.final_by_id = actor.id
        logs.append(_log_row(actor, app, "degree_final", "未终审", "已终审", None, None, now))
    db.session.flush()
    oplog.record_many(logs)
    return {"终审": len(apps), "跳过": skipped}


# --------------------------------------------------------------------------- 发布


def start_publish(actor, *, ids: Sequence[Any] | None = None, flt: DegreeFilter | None = None):
    """Create (flush) a 学位发布 task over final, unpublished applications. CE admin only."""
    scope = scope_of(actor)
    if not scope.is_all:
        raise NotAllowed("仅继教院管理员可以发布学位")
    if ids:
        rows = _load_selected(scope, ids)
        not_final = [a for a in rows if a.final_at is None]
        if not_final:
            raise DomainError(f"以下学生的学位申请尚未终审，不能发布：{_names(not_final)}")
        targets = [a.id for a in rows if a.published_at is None]
        params: dict = {"ids": targets}
        scope_text = f"选中的 {len(targets)} 条学位申请"
        total = len(targets)
    else:
        flt = (flt or DegreeFilter())
        params = {"filter": {**flt.to_params(), "published": "no"}}
        scope_text = flt.describe()
        total = count_rows(applications_select(scope, DegreeFilter.from_mapping(params["filter"]), stage=FINAL))
    if total == 0:
        raise DomainError("没有待发布的学位申请（需已终审且尚未发布）")
    return create_task("degree_publish", actor=actor, params=params, scope_text=scope_text,
                       lock_key=lock_key_for("degree_publish", actor), total=total)


def run_publish(task, progress: Progress) -> dict:
    """学位发布 job: number and date every final, unpublished application; a rerun adds nothing."""
    actor = db.session.get(Account, task.requested_by_id)
    scope = scope_of(actor)
    if not scope.is_all:
        raise NotAllowed("仅继教院管理员可以发布学位")
    ids = _task_ids(task, scope, stage=FINAL,
                    order=(DegreeApplication.batch_id, Student.site_id, Student.student_no, DegreeApplication.id))
    progress(0, len(ids))
    school = current_app.config["SCHOOL_CODE"]
    today = local_now().date()
    published = done = 0
    for chunk in chunks(ids, CHUNK):
        order = {app_id: i for i, app_id in enumerate(chunk)}
        apps = sorted(db.session.scalars(
            select(DegreeApplication).join(Student, Student.id == DegreeApplication.student_id)
            .where(DegreeApplication.id.in_(chunk), DegreeApplication.published_at.is_(None),
                   DegreeApplication.final_at.is_not(None))
            .options(contains_eager(DegreeApplication.student))
        ).unique(), key=lambda a: order[a.id])
        by_batch: dict[int, list[DegreeApplication]] = {}
        for app in apps:
            by_batch.setdefault(app.batch_id, []).append(app)
        now = utcnow()
        logs = []
        for batch_id, group in by_batch.items():
            batch = db.session.get_one(DegreeBatch, batch_id)
            prefix = degree_prefix(school, batch.year)
            numbering.lock(prefix)  # then re-read: a publication beside this one may have numbered some
            fresh = set(db.session.scalars(select(DegreeApplication.id).where(
                DegreeApplication.id.in_([a.id for a in group]), DegreeApplication.published_at.is_(None))))
            group = [a for a in group if a.id in fresh]
            published += len(group)
            numbers = allocate(prefix, len(group))
            for app, number in zip(group, numbers, strict=True):
                app.degree_no = number
                app.granted_on = batch.grant_date or today
                app.published_at = now
                app.published_task_id = task.id
                logs.append(_log_row(actor, app, "degree_publish", "未发布", f"已发布 {number}", None, task.id, now))
        db.session.flush()
        oplog.record_many(logs)
        done += len(chunk)
        progress(done)
    return {"已发布": published}


# --------------------------------------------------------------------------- pages


def filter_options(scope: Scope) -> dict:
    """Choices of the filter bar, limited to what the scope may see."""
    batches = list(db.session.scalars(select(DegreeBatch).order_by(*NEWEST_BATCH_FIRST)))
    in_scope = select(Student.site_id).where(student_scope_clause(scope))
    sites_stmt = select(Organisation).where(Organisation.kind == OrgKind.SITE.value).order_by(Organisation.code)
    majors_stmt = select(Major).order_by(Major.code)
    if not scope.is_all:
        sites_stmt = sites_stmt.where(Organisation.id.in_(in_scope))
        majors_stmt = majors_stmt.where(Major.id.in_(select(Student.major_id).where(student_scope_clause(scope))))
    grades = sorted({b.enrol_grade for b in batches}, reverse=True)
    return {
        "batches": [(b.id, b.name) for b in batches],
        "sites": [(o.id, o.name) for o in db.session.scalars(sites_stmt)],
        "majors": [(m.id, m.name) for m in db.session.scalars(majors_stmt)],
        "grades": grades,
        "levels": [(lv, label(lv, Level)) for lv in BACHELOR_LEVELS],
        "applied": [(m.value, label(m)) for m in DegreeApplicationState],
        "results": [(m.value, label(m)) for m in DegreeConditionResult],
    }


def _accounts(ids: Iterable[int | None]) -> dict[int | None, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {a.id: (f"{a.first_name}{a.last_name or ''}" or a.username)
            for a in db.session.scalars(select(Account).where(Account.id.in_(wanted)))}


def _with_student_cells():
    """Loader options for table rows: the student with its 专业 and 教学点 in the same query (no query per row)."""
    student = contains_eager(DegreeApplication.student)
    return student.joinedload(Student.major), student.joinedload(Student.site)


def _student_cells(s: Student) -> dict:
    return {"student_id": s.id, "student_no": s.student_no, "name": s.name, "grade": s.enrol_grade,
            "level": s.level_label, "major": s.major.name if s.major else "", "site": s.site.name if s.site else ""}


def application_rows(apps: Sequence[DegreeApplication]) -> list[dict]:
    """Plain rows for the tables: student cells, figures, result, override, 初审, 终审, 发布."""
    facts = gather_facts([a.student for a in apps])
    people = _accounts(i for a in apps for i in (a.reviewed_by_id, a.final_by_id, a.override_by_id))
    rows = []
    for a in apps:
        f = facts.get(a.student_id)
        rows.append({
            "id": a.id,
            **_student_cells(a.student),
            "language": language_text(f),
            "average": average_text(f),
            "result": a.result,
            "result_label": label(a.result, DegreeConditionResult),
            "audited": a.computed_at is not None,
            "reasons": [r.get("message", "") for r in (a.computed_reasons or [])],
            "override": a.override_result is not None,
            "override_label": label(a.override_result, DegreeConditionResult) if a.override_result else "",
            "override_reason": a.override_reason or "",
            "override_by": people.get(a.override_by_id, ""),
            "override_at": fmt_time(a.override_at),
            "review_opinion": a.review_opinion,
            "review_label": label(a.review_opinion, ReviewOpinion) if a.review_opinion else "",
            "review_comment": a.review_comment or "",
            "reviewed_by": people.get(a.reviewed_by_id, ""),
            "reviewed_at": fmt_time(a.reviewed_at),
            "signature_id": a.review_signature_id,
            "final": a.final_at is not None,
            "final_label": "已终审" if a.final_at else "未终审",
            "final_by": people.get(a.final_by_id, ""),
            "final_at": fmt_time(a.final_at),
            "published": a.published_at is not None,
            "published_label": "已发布" if a.published_at else "未发布",
            "degree_no": a.degree_no or "",
            "granted_on": a.granted_on.isoformat() if a.granted_on else "",
        })
    return rows


def _page(stmt, page: int, page_size: int):
    total = count_rows(stmt)
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    return total, pages, page, stmt.limit(page_size).offset((page - 1) * page_size)


def audit_page(scope: Scope, flt: DegreeFilter, page: int = 1, page_size: int = 50) -> dict:
    """The 学位申请审核管理 table: pending applications, or 未申请 students of the batch scope."""
    if flt.applied == DegreeApplicationState.NOT_APPLIED.value:
        batch = db.session.get(DegreeBatch, flt.batch_id) if flt.batch_id else None
        if batch is None:
            return {"mode": "not_applied", "rows": [], "total": 0, "pages": 1, "page": 1}
        stmt = (unapplied_students_select(scope, flt, batch).order_by(Student.site_id, Student.student_no)
                .options(joinedload(Student.major), joinedload(Student.site)))
        total, pages, page, stmt = _page(stmt, page, page_size)
        rows = [{"id": s.id, **_student_cells(s)} for s in db.session.scalars(stmt)]
        return {"mode": "not_applied", "rows": rows, "total": total, "pages": pages, "page": page}
    stmt = (applications_select(scope, flt, stage=PENDING)
            .options(*_with_student_cells())
            .order_by(Student.site_id, Student.student_no, DegreeApplication.id))
    total, pages, page, stmt = _page(stmt, page, page_size)
    apps = list(db.session.scalars(stmt).unique())
    return {"mode": "applied", "rows": application_rows(apps), "total": total, "pages": pages, "page": page}


def grant_page(scope: Scope, flt: DegreeFilter, page: int = 1, page_size: int = 50) -> dict:
    """The 学位授予管理 table: applications after 终审, with 发布状态 and 学位证书编号."""
    stmt = (applications_select(scope, flt, stage=FINAL)
            .options(*_with_student_cells())
            .order_by(DegreeApplication.degree_no.is_(None), DegreeApplication.degree_no, Student.student_no))
    total, pages, page, stmt = _page(stmt, page, page_size)
    apps = list(db.session.scalars(stmt).unique())
    return {"rows": application_rows(apps), "total": total, "pages": pages, "page": page}


def application_detail(scope: Scope, application_id: int) -> dict:
    """One application through the scope: reasons, audit history (snapshots), review, 终审, 发布."""
    app = db.session.scalar(applications_select(scope, stage=ANY).where(DegreeApplication.id == application_id)
                            .options(contains_eager(DegreeApplication.student)))
    if app is None:
        raise NotFound("学位申请不存在或不在您的管理范围内")
    snapshots = list(db.session.scalars(
        select(DegreeSnapshot).where(DegreeSnapshot.application_id == app.id)
        .order_by(DegreeSnapshot.created_at.desc(), DegreeSnapshot.id.desc())))
    history = [{
        "task_id": s.task_id,
        "at": fmt_time(s.created_at),
        "result_label": label(s.result, DegreeConditionResult),
        "average": "" if s.average is None else format_number(s.average),
        "reasons": [r.get("message", "") for r in (s.reasons or [])],
    } for s in snapshots]
    batch = app.batch
    return {
        "row": application_rows([app])[0],
        "batch": batch,
        "batch_level": batch_level_label(batch.level),
        "window": _window_text(batch),
        "applied_at": fmt_time(app.applied_at),
        "applied_by": _accounts([app.applied_by_id]).get(app.applied_by_id, ""),
        "computed_label": label(app.computed_result, DegreeConditionResult) if app.computed_result else "",
        "computed_at": fmt_time(app.computed_at),
        "history": history,
    }


# --------------------------------------------------------------------------- dashboard


def degree_counts(scope: Scope) -> list[dict]:
    """Per teaching site and per college: 已申请/已达标/未达标/初审/终审/已授予, one GROUP BY each.

    Returns:
        Rows ``{"kind": "site"|"college", "org_id", "org_name", "已申请", "已达标", "未达标", "初审",
        "终审", "已授予"}``, sites first, each group ordered by organisation code. "初审" counts
        applications with an opinion (同意 or 不同意).
    """
    def measures():
        total = func.count(DegreeApplication.id)
        return (
            total,
            func.sum(case((DegreeApplication.result == MET, 1), else_=0)),
            func.sum(case((DegreeApplication.result == NOT_MET, 1), else_=0)),
            func.sum(case((DegreeApplication.review_opinion.is_not(None), 1), else_=0)),
            func.sum(case((DegreeApplication.final_at.is_not(None), 1), else_=0)),
            func.sum(case((DegreeApplication.published_at.is_not(None), 1), else_=0)),
        )

    keys = ("已申请", "已达标", "未达标", "初审", "终审", "已授予")
    rows: list[dict] = []
    for kind, column in (("site", Student.site_id), ("college", Student.college_id)):
        stmt = (
            select(Organisation.id, Organisation.name, *measures())
            .select_from(DegreeApplication)
            .join(Student, Student.id == DegreeApplication.student_id)
            .join(Organisation, Organisation.id == column)
            .where(student_scope_clause(scope))
            .group_by(Organisation.id, Organisation.name, Organisation.code)
            .order_by(Organisation.code)
        )
        for org_id, name, *values in db.session.execute(stmt):
            rows.append({"kind": kind, "org_id": org_id, "org_name": name,
                         **{k: int(v or 0) for k, v in zip(keys, values, strict=True)}})
    return rows

"""The filter bar of the degree pages (``DegreeFilter``) and the SQL it means: one place for both
the FAB lists (app/views/degree.py) and the jobs."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import exists, false, select
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.ids import parse_id
from app.models import DegreeApplication, DegreeBatch, Major, Organisation, Student
from app.security import Scope, student_scope_clause
from app.services.common import name_or_number
from app.services.degree.common import BACHELOR_LEVELS, OUT_OF_SCOPE, batch_covers, batch_students_clause
from app.services.errors import DomainError, NotFound
from app.statuses import DegreeApplicationState, DegreeConditionResult, Level, label


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
        clauses.append(name_or_number(flt.q))
    return clauses


PENDING, FINAL, ANY = "pending", "final", "any"


def stage_clauses(scope: Scope, stage: str) -> list:
    """Which applications a page's stage covers.

    PENDING is 学位申请审核管理 (not yet 终审); FINAL is 学位授予管理: after 终审, and for teaching sites
    and colleges only once the CE college has published (the manual: they see the grant, not the queue).
    """
    if stage == PENDING:
        return [DegreeApplication.final_at.is_(None)]
    if stage == FINAL:
        clauses = [DegreeApplication.final_at.is_not(None)]
        if not scope.is_all:
            clauses.append(DegreeApplication.published_at.is_not(None))
        return clauses
    return []


def _application_clauses(flt: DegreeFilter) -> list:
    """The filter's conditions on the application itself (批次, 达标, 发布状态)."""
    clauses = []
    if flt.batch_id:
        clauses.append(DegreeApplication.batch_id == flt.batch_id)
    if flt.result:
        clauses.append(DegreeApplication.result == flt.result)
    if flt.published == "yes":
        clauses.append(DegreeApplication.published_at.is_not(None))
    elif flt.published == "no":
        clauses.append(DegreeApplication.published_at.is_(None))
    return clauses


def application_clauses(flt: DegreeFilter) -> list:
    """The filter as conditions on ``DegreeApplication`` alone (its student through a sub-select).

    What the FAB lists' filters apply (their query is over the application, not joined to the student);
    ``applications_select`` applies the same conditions to its join.
    """
    clauses = _application_clauses(flt)
    students = _student_clauses(flt)
    if students:
        clauses.append(DegreeApplication.student_id.in_(select(Student.id).where(*students)))
    return clauses


def applications_select(scope: Scope, flt: DegreeFilter | None = None, *, stage: str = PENDING):
    """SELECT of applications (joined to their student) in the scope, the stage and the filter."""
    stmt = (
        select(DegreeApplication)
        .join(Student, Student.id == DegreeApplication.student_id)
        .where(student_scope_clause(scope), *stage_clauses(scope, stage))
    )
    if flt is not None:
        stmt = stmt.where(*_student_clauses(flt), *_application_clauses(flt))
    return stmt


def student_clauses(flt: DegreeFilter) -> list:
    """The filter's conditions on ``Student`` (教学点, 专业, 年级, 层次, 姓名/学号)."""
    return _student_clauses(flt)


def unapplied_clauses(flt: DegreeFilter) -> list:
    """学生申请状态 未申请 as conditions on ``Student``.

    With ``flt.batch_id``: the students of that batch's scope without an application in it (an unknown
    batch: none). Without: 本科 students of some batch's scope who have not applied in it, which is what
    未申请 means before a batch is chosen. The other fields of the bar narrow either.
    """
    if flt.batch_id:
        batch = db.session.get(DegreeBatch, flt.batch_id)
        if batch is None:
            return [false()]
        applied = exists().where(DegreeApplication.student_id == Student.id, DegreeApplication.batch_id == batch.id)
        return [batch_students_clause(batch), ~applied, *_student_clauses(flt)]
    applied = (select(DegreeApplication.id)
               .where(DegreeApplication.student_id == Student.id, DegreeApplication.batch_id == DegreeBatch.id)
               .correlate_except(DegreeApplication).exists())
    open_batch = (select(DegreeBatch.id)
                  .where(batch_covers(Student.enrol_grade, Student.level), ~applied)
                  .correlate_except(DegreeBatch).exists())
    return [Student.level.in_(BACHELOR_LEVELS), open_batch, *_student_clauses(flt)]


def unapplied_students_select(scope: Scope, flt: DegreeFilter, batch: DegreeBatch):
    """SELECT of in-scope students of the batch's scope without an application in it (未申请)."""
    return select(Student).where(student_scope_clause(scope), *unapplied_clauses(flt.with_batch(batch.id)))


def _load_selected(scope: Scope, ids: Sequence[Any], *, stage: str = ANY) -> list[DegreeApplication]:
    """Applications by id through the scope; any id outside it refuses the whole request."""
    try:
        wanted = sorted({int(i) for i in ids})
    except (TypeError, ValueError):
        raise NotFound(gettext(OUT_OF_SCOPE)) from None
    if not wanted:
        return []
    stmt = (applications_select(scope, stage=stage)
            .where(DegreeApplication.id.in_(wanted))
            .options(contains_eager(DegreeApplication.student))
            .order_by(DegreeApplication.id))
    rows = list(db.session.scalars(stmt).unique())
    if len(rows) != len(wanted):
        raise NotFound(gettext(OUT_OF_SCOPE))
    return rows


def _resolve(scope: Scope, ids: Sequence[Any] | None, flt: DegreeFilter | None, *,
             stage: str) -> list[DegreeApplication]:
    """Ticked ids (all must be in scope) or, when none are ticked, every row of the filter."""
    if ids:
        return _load_selected(scope, ids)
    if flt is None:
        raise DomainError(gettext("请勾选学位申请，或先设置筛选条件"))
    stmt = (applications_select(scope, flt, stage=stage)
            .options(contains_eager(DegreeApplication.student))
            .order_by(DegreeApplication.id))
    return list(db.session.scalars(stmt).unique())



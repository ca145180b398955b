"""课程替代 / 免修 / 学分认定: enter, approve, reject and revoke course exceptions.

Site and college admins enter exceptions for students in their scope (the CE admin too); they count in
the audit (``app.audit.exceptions``) only once the CE admin approved them. Every step is validated
all-or-nothing, written to the operation log and flushed; the request (``run_command``) or the import
job commits.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select

from app.audit.numbers import format_number, is_pass
from app.audit.scores import parse_score
from app.extensions import db
from app.i18n import joined, label_text, word
from app.models.base import utcnow
from app.models.exception import ACTIVE_STATUSES, CourseException
from app.models.grade import Grade
from app.models.plan import PlanCourse
from app.models.student import Student
from app.security import Scope, student_scope_clause
from app.services import facts, oplog
from app.services.errors import Conflict, DomainError, NotAllowed, NotFound
from app.services.graduation.pages import load_student
from app.services.reasons import clean_reason
from app.statuses import ExceptionKind, ExceptionStatus, OplogAction, label

MAX_CREDITS = 20.0   # a plan course never carries more; the recognised credits may not exceed the course's
TEXT_MAX = 100       # 来源院校 / 来源课程名称
PASS_WORD = "合格"   # a recognition without a score
_KINDS = {k.value for k in ExceptionKind}
_KIND_BY_LABEL = {label(k): k.value for k in ExceptionKind}
_ENTERING_SCOPES = ("all", "college", "site")


@dataclass(frozen=True)
class ExceptionInput:
    """What a form, an API call or an import row asks for (raw text; validated by ``validate``)."""

    student_id: int
    course_code: str
    kind: str
    reason: str
    substitute_code: str = ""
    source_institution: str = ""
    source_course: str = ""
    credits: str | float | None = None
    score: str | float | None = None

    @classmethod
    def from_mapping(cls, student_id: int, data: Mapping[str, Any]) -> ExceptionInput:
        def text(key: str) -> str:
            value = data.get(key)
            return "" if value is None else str(value).strip()

        return cls(student_id=student_id, course_code=text("course_code"), kind=text("kind"),
                   reason=text("reason"), substitute_code=text("substitute_code"),
                   source_institution=text("source_institution"), source_course=text("source_course"),
                   credits=data.get("credits"), score=data.get("score"))


def kind_code(raw: str) -> str:
    """``ExceptionKind`` value from its code or Chinese label (课程替代 / 免修 / 学分认定); refused otherwise."""
    raw = (raw or "").strip()
    if raw in _KINDS:
        return raw
    if raw in _KIND_BY_LABEL:
        return _KIND_BY_LABEL[raw]
    raise DomainError(f"类型无法识别：{raw or '（空）'}（应为 课程替代 / 免修 / 学分认定）")


def _credits(raw: str | float | None, course_credits: float) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise DomainError(f"认定学分无法识别：{raw}") from None
    if math.isnan(value) or not 0 < value <= min(course_credits, MAX_CREDITS):
        raise DomainError(f"认定学分应大于 0 且不超过该课程的 {format_number(course_credits)} 学分")
    return round(value, 1)


def _score(raw: str | float | None) -> float | None:
    """The recognised score: a passing number or grade word, or 合格 / empty (no score)."""
    if raw is None or (isinstance(raw, str) and raw.strip() in ("", PASS_WORD)):
        return None
    try:
        value = parse_score(raw)
    except ValueError as exc:
        raise DomainError(f"认定成绩{exc}") from None
    if not is_pass(value):
        raise DomainError(f"认定成绩须为及格（60 分）以上或“{PASS_WORD}”：{raw}")
    return value


def _text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(f"请填写{what}")
    if len(value) > TEXT_MAX:
        raise DomainError(f"{what}不能超过 {TEXT_MAX} 字")
    return value


def _plan_courses(student: Student) -> list[PlanCourse]:
    """The courses of the plan the student follows (``facts.plan_for``: the audit's plan match), in plan order."""
    plan = facts.plan_for(student)
    return list(plan.courses) if plan is not None else []


def _plan_course(student: Student, code: str) -> PlanCourse:
    course = next((c for c in _plan_courses(student) if c.course_code == code), None)
    if course is None:
        raise DomainError(f"课程 {code or '（空）'} 不在学生 {student.student_no} 的教学计划中")
    return course


def _passed_substitute(student: Student, code: str, plan_code: str) -> str:
    """The substitute's course name; refused unless the student passed it (best attempt ≥ 60)."""
    if not code:
        raise DomainError("请填写替代课程代码")
    if code == plan_code:
        raise DomainError("替代课程不能是该课程本身")
    if not is_pass(facts.best_scores_for([student.id]).get(student.id, {}).get(code)):
        raise DomainError(f"替代课程 {code} 不在学生 {student.student_no} 已通过的成绩中")
    return str(db.session.scalar(select(func.max(Grade.course_name))
                                 .where(Grade.student_id == student.id, Grade.course_code == code)))


@contextmanager
def _about(field: str) -> Iterator[None]:
    """A ``DomainError`` raised inside names ``field`` (an ``ExceptionInput`` field) unless it names one."""
    try:
        yield
    except DomainError as exc:
        exc.field = exc.field or field
        raise


def build(data: ExceptionInput, scope: Scope) -> CourseException:
    """A validated, unsaved exception (待审核), or ``DomainError`` with the first problem found (its ``field``:
    the ``ExceptionInput`` field it is about)."""
    if scope.kind not in _ENTERING_SCOPES:
        raise NotAllowed("只有教学点、学院和继教院管理员可以录入课程替代与免修")
    student = load_student(data.student_id, scope)
    with _about("kind"):
        kind = kind_code(data.kind)
    with _about("course_code"):
        course = _plan_course(student, (data.course_code or "").strip())
    with _about("reason"):
        reason = clean_reason(data.reason, "理由")
    row = CourseException(student_id=student.id, course_code=course.course_code, course_name=course.course_name,
                          kind=kind, reason=reason, status=ExceptionStatus.PENDING.value)
    if kind == ExceptionKind.SUBSTITUTE.value:
        code = (data.substitute_code or "").strip()
        with _about("substitute_code"):
            row.substitute_name = _passed_substitute(student, code, course.course_code)
        row.substitute_code = code
    elif kind == ExceptionKind.RECOGNITION.value:
        with _about("source_institution"):
            row.source_institution = _text(data.source_institution, "来源院校")
        with _about("source_course"):
            row.source_course = _text(data.source_course, "来源课程名称")
        with _about("credits"):
            row.credits = _credits(data.credits, float(course.credits))
            if row.credits is None:
                raise DomainError("请填写认定学分")
        with _about("score"):
            row.score = _score(data.score)
    active = db.session.scalar(
        select(func.count()).select_from(CourseException)
        .where(CourseException.student_id == student.id, CourseException.course_code == course.course_code,
               CourseException.status.in_(ACTIVE_STATUSES))
    )
    if active:
        raise Conflict(f"学生 {student.student_no} 的课程 {course.course_name} 已有待审核或已通过的课程替代/免修/认定",
                       field="course_code")
    row.student = student
    return row


def describe(row: CourseException) -> str:
    """The line naming the exception as the audit does; the approval date only once approved."""
    return row.detail


def create(data: ExceptionInput, *, actor: Any, scope: Scope) -> CourseException:
    """Enter one exception (待审核), logged; flushed, not committed."""
    row = build(data, scope)
    row.entered_by_id = getattr(actor, "id", None)
    db.session.add(row)
    db.session.flush()
    oplog.record(actor=actor, action=OplogAction.EXCEPTION_CREATE, record=row, student=row.student,
                 new=f"{row.kind_label}：{describe(row)}", reason=row.reason)
    return row


def created_message(row: CourseException) -> str:
    """What the page and the API say after ``create`` (in the request's language; the detail is data)."""
    return gettext("已录入%(kind)s：%(detail)s，待继教院审核", kind=word(row.kind_label), detail=describe(row))


def decided_message(decision: str, n: int) -> str:
    """What the page and the API say after ``approve`` / ``reject`` / ``revoke`` changed ``n`` rows."""
    if decision == "approve":
        return gettext("已审核通过 %(n)s 条课程替代与免修", n=n)
    if decision == "reject":
        return gettext("已驳回 %(n)s 条课程替代与免修", n=n)
    return gettext("已撤销 %(n)s 条课程替代与免修", n=n)


def _scoped_rows(ids: Sequence[int], scope: Scope) -> list[CourseException]:
    """The ticked exceptions in one scoped query; an id outside the scope → ``NotFound`` (404)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise DomainError(gettext("请先勾选课程替代与免修记录"))
    rows = list(db.session.scalars(
        select(CourseException).join(Student, Student.id == CourseException.student_id)
        .where(CourseException.id.in_(ids), student_scope_clause(scope)).order_by(CourseException.id)
    ))
    if len(rows) != len(ids):
        raise NotFound(gettext("所选记录不存在或不在您的管理范围内"))
    return rows


def _decide(ids: Sequence[int], *, actor: Any, scope: Scope, new_status: str, action: OplogAction,
            allowed_from: tuple[str, ...], note: str | None, note_required: bool) -> list[CourseException]:
    rows = _scoped_rows(ids, scope)
    note = clean_reason(note, "审核说明", required=note_required) or None
    wrong = [r for r in rows if r.status not in allowed_from]
    if wrong:
        shown = joined((f"{r.student.student_no} {r.course_name}（{word(r.status_label)}）" for r in wrong[:5]), "、")
        raise Conflict(gettext("以下记录的状态不能%(action)s：%(records)s", action=label_text(action), records=shown))
    now = utcnow()
    for row in rows:
        old = row.status_label
        row.status = new_status
        row.decided_by_id = getattr(actor, "id", None)
        row.decided_at = now
        row.decision_note = note
        oplog.record(actor=actor, action=action, record=row, student=row.student, old=old,
                     new=f"{row.status_label}：{describe(row)}", reason=note)
    db.session.flush()
    return rows


def _ce_only(scope: Scope) -> None:
    if not scope.is_all:
        raise NotAllowed(gettext("只有继教院管理员可以审核课程替代与免修"))


def approve(ids: Sequence[int], *, actor: Any, scope: Scope, note: str | None = None) -> list[CourseException]:
    """审核通过 the ticked pending exceptions (CE admin): they count from the next audit on."""
    _ce_only(scope)
    return _decide(ids, actor=actor, scope=scope, new_status=ExceptionStatus.APPROVED.value,
                   action=OplogAction.EXCEPTION_APPROVE, allowed_from=(ExceptionStatus.PENDING.value,),
                   note=note, note_required=False)


def reject(ids: Sequence[int], *, actor: Any, scope: Scope, note: str | None) -> list[CourseException]:
    """驳回 the ticked pending exceptions (CE admin), with a required note."""
    _ce_only(scope)
    return _decide(ids, actor=actor, scope=scope, new_status=ExceptionStatus.REJECTED.value,
                   action=OplogAction.EXCEPTION_REJECT, allowed_from=(ExceptionStatus.PENDING.value,),
                   note=note, note_required=True)


def revoke(ids: Sequence[int], *, actor: Any, scope: Scope, note: str | None) -> list[CourseException]:
    """撤销: the CE admin withdraws pending or approved exceptions; a site or college admin withdraws
    pending ones of their students. A revoked exception stops counting at the next audit."""
    if scope.kind not in _ENTERING_SCOPES:
        raise NotAllowed(gettext("只有教学点、学院和继教院管理员可以撤销课程替代与免修"))
    allowed = ACTIVE_STATUSES if scope.is_all else (ExceptionStatus.PENDING.value,)
    return _decide(ids, actor=actor, scope=scope, new_status=ExceptionStatus.REVOKED.value,
                   action=OplogAction.EXCEPTION_REVOKE, allowed_from=tuple(allowed), note=note, note_required=True)


def find_student(student_no: str, scope: Scope) -> Student:
    """A student by 学号 within the scope (the entry form names students by 学号)."""
    student = db.session.scalar(select(Student).where(Student.student_no == (student_no or "").strip(),
                                                      student_scope_clause(scope)))
    if student is None:
        raise DomainError(f"学号 {student_no or '（空）'} 不存在或不在您的管理范围内")
    return student


def entry_choices(student: Student) -> dict[str, list[tuple[str, str]]]:
    """What the entry form offers for a student: the plan's courses, and the passed courses (substitutes)."""
    plan = [(c.course_code, f"{c.course_code} {c.course_name}（{format_number(c.credits)}学分）")
            for c in _plan_courses(student)]
    best = facts.best_scores_for([student.id]).get(student.id, {})
    names: dict[str, str] = {code: name for code, name in db.session.execute(
        select(Grade.course_code, func.max(Grade.course_name))
        .where(Grade.student_id == student.id).group_by(Grade.course_code))}
    passed = [(code, f"{code} {names[code]}（{format_number(score)}）")
              for code, score in sorted(best.items()) if is_pass(score)]
    return {"plan": plan, "passed": passed}

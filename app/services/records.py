"""学籍管理: what a student's record page shows, and the checks a student edit must pass."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy import select

from app.audit.scores import best_scores, course_progress, format_number, is_pass
from app.extensions import db
from app.models.grade import Grade
from app.models.graduation import GraduateForm
from app.models.org import Major, Organisation
from app.models.plan import TeachingPlan
from app.models.student import Student
from app.services import facts, oplog
from app.services.errors import Conflict, DomainError
from app.statuses import CourseNature, FormState, OrgKind, label


@dataclass
class PlanRow:
    """One plan course on the record page: passed or not, with the best score."""

    code: str
    name: str
    credits: float
    nature: str
    degree_course: bool
    best: float | None
    passed: bool

    @property
    def best_text(self) -> str:
        return "" if self.best is None else format_number(self.best)


@dataclass
class StudentDetail:
    """Everything the 学生学籍 page shows below the record itself."""

    terms: list[tuple[str, list[Grade]]] = field(default_factory=list)
    plan: TeachingPlan | None = None
    plan_rows: list[PlanRow] = field(default_factory=list)
    earned_credits: float = 0.0
    elective_credits: float = 0.0
    passed_courses: int = 0


plan_for = facts.plan_for
rule_plan = facts.rule_plan


def student_detail(student: Student) -> StudentDetail:
    """Grades by 学期 (every attempt) and the progress against the plan (best attempt counts)."""
    grades = db.session.scalars(
        select(Grade).where(Grade.student_id == student.id).order_by(Grade.term, Grade.course_code, Grade.id)
    ).all()
    detail = StudentDetail(terms=[(term, list(rows)) for term, rows in groupby(grades, key=lambda g: g.term)])
    best = best_scores((g.course_code, g.score) for g in grades)
    plan = plan_for(student)
    detail.plan = plan
    if plan is None:
        detail.passed_courses = course_progress(None, best).passed_courses
        return detail
    for c in plan.courses:
        score = best.get(c.course_code)
        detail.plan_rows.append(PlanRow(c.course_code, c.course_name, c.credits, label(c.nature, CourseNature),
                                        bool(c.is_degree_course), score, is_pass(score)))
    progress = course_progress(rule_plan(plan), best)
    detail.earned_credits = progress.total_credits
    detail.elective_credits = progress.elective_credits
    detail.passed_courses = progress.passed_courses
    return detail


def check_student_orgs(student: Student) -> None:
    """A student's site must be a 教学点 and its major must exist; the college follows the major.

    Raises DomainError before anything is written: FAB forms can be bypassed with related-view
    filter arguments, so the organisation is checked here, not only by the dropdowns.
    """
    site = student.site if student.site is not None else (
        db.session.get(Organisation, student.site_id) if student.site_id else None)
    if site is None or site.kind != OrgKind.SITE.value:
        raise DomainError("教学点必须是一个教学点机构")
    major = student.major if student.major is not None else (
        db.session.get(Major, student.major_id) if student.major_id else None)
    if major is None:
        raise DomainError("请选择专业")
    # ids set explicitly: relationship changes only reach the columns during the flush
    student.site_id = site.id
    student.major_id = major.id
    student.college_id = major.college_id


def review_form(form: GraduateForm, actor) -> bool:
    """审核 a submitted 毕业生登记表 (已提交 → 已审核); returns False when it was not submitted."""
    if form.state != FormState.SUBMITTED.value:
        return False
    old = form.state
    form.state = FormState.REVIEWED.value
    oplog.record(actor=actor, action="record_update", record=form,
                 old=label(old, FormState), new=label(FormState.REVIEWED), reason="审核毕业生登记表")
    db.session.flush()
    return True


def review_forms(forms: list[GraduateForm], actor) -> int:
    """Review every submitted form of the list; nothing is changed when none is submitted."""
    if not forms:
        raise DomainError("请先选择毕业生登记表")
    done = sum(1 for f in forms if review_form(f, actor))
    if done == 0:
        raise Conflict("所选登记表均不是“已提交”状态，无需审核")
    return done

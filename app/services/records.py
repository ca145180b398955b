"""学籍管理: what a student's record page shows, and the checks a student edit must pass."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby

from flask_babel import gettext
from sqlalchemy import inspect, select
from sqlalchemy.orm import InstanceState

from app.audit.exceptions import course_standings
from app.audit.language import CET4_MAX, CET4_PASS, language_passed, substitute_passed
from app.audit.scores import best_scores, course_progress, format_number
from app.audit.types import NO_EXCEPTIONS
from app.extensions import db
from app.models.grade import Grade, LanguageScore
from app.models.graduation import GraduateForm
from app.models.org import Major, Organisation
from app.models.plan import TeachingPlan
from app.models.student import Student
from app.services import facts, oplog
from app.services.errors import Conflict, DomainError
from app.statuses import CourseNature, FormState, OrgKind, SubstituteExam, label


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
    exceptions = facts.approved_exceptions_for([student.id]).get(student.id, NO_EXCEPTIONS)
    natures = {c.course_code: c.nature for c in plan.courses}
    for st in course_standings(rule_plan(plan), best, exceptions):
        c = st.course
        detail.plan_rows.append(PlanRow(c.code, st.label, c.credits, label(natures[c.code], CourseNature),
                                        c.degree_course, st.score, st.passed))
    progress = course_progress(rule_plan(plan), best, exceptions)
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
        raise DomainError(gettext("教学点必须是一个教学点机构"))
    major = student.major if student.major is not None else (
        db.session.get(Major, student.major_id) if student.major_id else None)
    if major is None:
        raise DomainError(gettext("请选择专业"))
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
        raise DomainError(gettext("请先选择毕业生登记表"))
    done = sum(1 for f in forms if review_form(f, actor))
    if done == 0:
        raise Conflict(gettext("所选登记表均不是“已提交”状态，无需审核"))
    return done


def check_language_score(item: LanguageScore) -> None:
    """Check a 学位外语成绩 entered on its page and set its 合格 by ``language.language_passed`` (at the default
    mark; the 学位条件审核 decides again with its batch's mark). Raises ``DomainError`` on bad input."""
    item.substitute = item.substitute or None
    if item.substitute == SubstituteExam.CET4.value:
        if item.substitute_score is None or not substitute_passed(item.substitute, item.substitute_score):
            raise DomainError(f"大学英语四级成绩须不低于 {CET4_PASS:g} 分才可替代学位外语")
        if item.substitute_score > CET4_MAX:
            raise DomainError(f"大学英语四级成绩应在 0–{CET4_MAX:g} 之间")
    elif item.substitute == SubstituteExam.PETS3.value and item.substitute_score is not None:
        if not 0 <= item.substitute_score <= 100:
            raise DomainError(gettext("PETS-3 成绩应在 0–100 之间"))
    elif item.substitute is None and item.substitute_score is not None:
        raise DomainError(gettext("未选择替代考试时替代考试成绩应为空"))
    if item.substitute is None and item.score is None:
        raise DomainError(gettext("请填写学位外语成绩或选择替代考试"))
    if item.score is not None and not 0 <= item.score <= 100:
        raise DomainError(gettext("学位外语成绩应在 0–100 之间"))
    item.passed = language_passed(item.score, item.substitute, item.substitute_score, _pets3_recorded_pass(item))


def _pets3_recorded_pass(item: LanguageScore) -> bool:
    """合格/不合格 of a PETS-3 entered without a score: a certificate entered on the page is 合格; an edit that
    leaves the exam and its score alone keeps what was recorded (an import may have said 不合格)."""
    state: InstanceState[LanguageScore] = inspect(item)
    unchanged = (state.persistent and not state.attrs.substitute.history.has_changes()
                 and not state.attrs.substitute_score.history.has_changes())
    return bool(item.passed) if unchanged and item.passed is not None else True

"""Degree condition audit rules (学位条件审核, SPEC §4 item 2) as a pure function.

Decides 已达标 / 未达标 for one applicant and lists every reason, in a fixed order:
毕业审核结果, 学位外语, 教学计划, 学位课程 (plan order), 学位课程平均分.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Float, Numeric, and_, cast, func, select
from sqlalchemy.orm import aliased

from app.audit.confirmation import has_graduated
from app.audit.exceptions import exception_notes, in_force_sql, passed_and_score, standing_score_sql
from app.audit.graduation import NO_PLAN_MESSAGE
from app.audit.language import DEFAULT_PASS_MARK, language_passed
from app.audit.numbers import format_number, rounded_average
from app.audit.scores import plan_join_condition
from app.audit.types import NO_EXCEPTIONS, Exceptions, Plan, PlanCourse, Reason, Verdict
from app.statuses import DegreeConditionResult, ExceptionStatus, GraduationResult, label


@dataclass(frozen=True, slots=True)
class LanguageExam:
    """One 学位外语成绩 record.

    Attributes:
        score: Exam score, or ``None`` when the record is a substitute only.
        substitute: ``SubstituteExam`` value (already validated upstream), or ``None``.
        substitute_score: The substitute's score (大学英语四级, PETS-3), if recorded.
        recorded_pass: PETS-3 without a score: its recorded 合格/不合格 (the stored ``passed``).

    Whether the record passes is ``language.language_passed`` with the batch's mark.
    """

    score: float | None
    substitute: str | None
    substitute_score: float | None = None
    recorded_pass: bool | None = None


@dataclass(frozen=True, slots=True)
class DegreeMarks:
    """Pass marks of the degree batch.

    Attributes:
        language_pass_mark: 学位外语合格线 (default 60).
        course_average_mark: 学位课程平均分合格线 (default 70).
    """

    language_pass_mark: float = DEFAULT_PASS_MARK
    course_average_mark: float = 70


def degree_course_average(plan: Plan | None, best: Mapping[str, float],
                          exceptions: Exceptions = NO_EXCEPTIONS) -> float | None:
    """Average of the scores used for the plan's degree courses.

    Args:
        plan: The teaching plan, or ``None``.
        best: Best score per course code.
        exceptions: The student's approved course exceptions keyed by plan course code.

    Returns:
        The average over the degree courses whose standing (``exceptions.course_standing``) has a
        score — the best attempt, a substitution's substitute score, a recognition's score — rounded
        to 2 decimals; ``None`` when there is no plan or no degree course has a score. A 免修 course,
        or a 学分认定 合格, has no score and does not enter the average.
    """
    if plan is None:
        return None
    return _average(_figures([c for c in plan.courses if c.degree_course], best, exceptions))


def degree_course_average_sql(student, *, grade, plan, plan_course, exception):
    """``degree_course_average`` of the ``student`` row of the enclosing query, as a correlated scalar
    subquery over the given mapped classes (the rules import no model): usable as a column or a sort key.

    Over the degree courses of the student's plan (``scores.plan_join_condition``), the score used is
    ``course_standing``'s (``exceptions.standing_score_sql`` with the approved exception in force,
    ``exceptions.in_force_sql``; the best attempt otherwise); the average of those with a score, rounded
    to 2 decimals. NULL without a plan or without any score, like the Python rule.

    Rounding: ``ROUND`` of the average as a decimal, half away from zero — on scores (0–100) the same
    四舍五入 as ``numbers.rounded_average`` (checked on half-cent averages on both databases).
    """
    own = aliased(grade)
    exc = aliased(exception)

    def best_of(code):
        return (select(func.max(own.score)).where(own.student_id == student.id, own.course_code == code)
                .correlate_except(own).scalar_subquery())  # the student two levels up, the course one up

    used = standing_score_sql(plan_course.course_code, exc, best_of)
    average = func.avg(cast(used, Float))
    return (
        select(func.round(cast(average, Numeric(asdecimal=False)), 2, type_=Float))
        .select_from(plan_course)
        .join(plan, and_(plan.id == plan_course.plan_id, plan_join_condition(plan, student)))
        .outerjoin(exc, and_(exc.student_id == student.id, exc.course_code == plan_course.course_code,
                             exc.status == ExceptionStatus.APPROVED.value, in_force_sql(exc, grade)))
        .where(plan_course.is_degree_course.is_(True))
        .correlate(student)
        .scalar_subquery()
    )


Figure = tuple[PlanCourse, bool, "float | None"]  # (degree course, counts as passed, score used)


def _figures(courses: Sequence[PlanCourse], best: Mapping[str, float], exceptions: Exceptions) -> list[Figure]:
    """Each degree course's standing as (course, passed, score used): ``exceptions.passed_and_score``."""
    return [(c, *passed_and_score(c, best, exceptions)) for c in courses]


def _average(figures: Sequence[Figure]) -> float | None:
    scores = [score for _course, _passed, score in figures if score is not None]
    if not scores:
        return None
    return rounded_average(scores)


_PRE = GraduationResult.PRE_GRADUATE.value


def graduation_allows_degree(graduation_result: str | None, graduated: bool) -> bool:
    """SPEC §4: a degree needs the graduation result 预毕业 or 已毕业 (``graduated``: ``has_graduated``)."""
    return graduated or graduation_result == _PRE


def may_apply_for_degree(graduation_result: str | None, confirm_state: str | None,
                         enrolment_status: str | None) -> bool:
    """Whether a student's graduation lets them apply for (and be audited for) a degree.

    Args:
        graduation_result: ``GraduationResult`` value of the student's graduation audit, or ``None``.
        confirm_state: ``ConfirmState`` value of that result (``confirmation.confirm_state``), or ``None``.
        enrolment_status: The student's 学籍状态 (``EnrolmentStatus`` value).

    Returns:
        True for 预毕业, for a published graduate and for a student imported with 学籍状态 毕业.
    """
    return graduation_allows_degree(graduation_result, has_graduated(confirm_state, enrolment_status))


def _graduation_label(code: str | None) -> str:
    """Chinese label of a graduation result code; ``None`` reads as 未审核."""
    if code is None:
        return label(GraduationResult.UNAUDITED)
    try:
        return label(code, GraduationResult)
    except ValueError:
        return str(code)


def language_ok(exams: Sequence[LanguageExam], pass_mark: float) -> bool:
    """Whether any 学位外语 record passes under the batch's mark (``language.language_passed``)."""
    return any(language_passed(e.score, e.substitute, e.substitute_score, e.recorded_pass, pass_mark)
               for e in exams)


def _language_reasons(exams: Sequence[LanguageExam], pass_mark: float) -> list[Reason]:
    """Reason about the degree foreign-language exam, if it is not passed."""
    if language_ok(exams, pass_mark):
        return []
    scores = [e.score for e in exams if e.score is not None]
    if not scores:
        return [Reason("language_missing", "无学位外语成绩", {"pass_mark": pass_mark})]
    best = max(scores)
    return [Reason(
        "language_below",
        f"学位外语成绩 {format_number(best)}，低于合格线 {format_number(pass_mark)}",
        {"score": best, "pass_mark": pass_mark},
    )]


def _course_reasons(figures: Sequence[Figure], marks: DegreeMarks, average: float | None) -> list[Reason]:
    """Reasons about the degree courses of an existing plan (``average``: their average)."""
    if not figures:
        return [Reason("no_degree_courses", "教学计划未设置学位课程", {})]
    reasons: list[Reason] = []
    for course, passed, score in figures:
        if passed:
            continue
        detail = {"course_code": course.code, "course_name": course.name, "credits": course.credits}
        if score is None:  # 未修
            reasons.append(Reason("degree_course_missing", f"学位课程无成绩：{course.name}", detail))
        else:
            reasons.append(Reason(
                "degree_course_failed",
                f"学位课程不合格：{course.name} {format_number(score)}",
                {**detail, "score": score},
            ))
    if average is not None and average < marks.course_average_mark:
        reasons.append(Reason(
            "degree_average_below",
            f"学位课程平均分 {format_number(average)}，低于 {format_number(marks.course_average_mark)}",
            {"average": average, "required": marks.course_average_mark},
        ))
    return reasons


def audit_degree(
    graduation_result: str | None,
    graduated: bool,
    exams: Sequence[LanguageExam],
    plan: Plan | None,
    best: Mapping[str, float],
    marks: DegreeMarks,
    exceptions: Exceptions = NO_EXCEPTIONS,
) -> Verdict:
    """Check one degree applicant against the degree conditions.

    Args:
        graduation_result: ``GraduationResult`` value, or ``None`` when never audited.
        graduated: True when the student has already graduated (已毕业: ``confirmation.has_graduated``).
        exams: The student's degree foreign-language records.
        plan: The student's teaching plan, or ``None`` when none exists.
        best: Best score per course code.
        marks: Pass marks of the degree batch.
        exceptions: The student's approved course exceptions keyed by plan course code: a degree
            course stands as ``exceptions.course_standing`` decides (see ``degree_course_average``).

    Returns:
        ``DegreeConditionResult.MET`` when no reason is found, otherwise ``NOT_MET``
        with every reason. The average is compared after rounding to 2 decimals, so the
        decision matches the figure shown.
    """
    return audit_degree_with_average(graduation_result, graduated, exams, plan, best, marks, exceptions)[0]


def audit_degree_with_average(
    graduation_result: str | None,
    graduated: bool,
    exams: Sequence[LanguageExam],
    plan: Plan | None,
    best: Mapping[str, float],
    marks: DegreeMarks,
    exceptions: Exceptions = NO_EXCEPTIONS,
) -> tuple[Verdict, float | None]:
    """``audit_degree`` plus the 学位课程平均分 it was decided on (``degree_course_average``).

    The audit job stores both (result and snapshot): computed once instead of twice per applicant.
    """
    courses = [c for c in plan.courses if c.degree_course] if plan is not None else []
    figures = _figures(courses, best, exceptions)
    average = _average(figures) if plan is not None else None
    reasons: list[Reason] = []
    if not graduation_allows_degree(graduation_result, graduated):
        result_label = _graduation_label(graduation_result)
        reasons.append(Reason(
            "graduation_not_met",
            f"毕业审核结果为{result_label}，需为预毕业或已毕业",
            {"graduation_result": graduation_result, "graduation_result_label": result_label},
        ))
    reasons.extend(_language_reasons(exams, marks.language_pass_mark))
    if plan is None:
        reasons.append(Reason("no_plan", NO_PLAN_MESSAGE, {}))
    else:
        reasons.extend(_course_reasons(figures, marks, average))
    result = DegreeConditionResult.NOT_MET if reasons else DegreeConditionResult.MET
    notes = exception_notes(courses, best, exceptions) if exceptions else ()
    return Verdict(result.value, tuple(reasons), notes), average

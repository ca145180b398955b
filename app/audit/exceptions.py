"""Course exceptions (课程替代 / 免修 / 学分认定) in the audit: where each plan course stands for a student.

``course_standing`` is the one rule: from a plan course, the student's best scores and their approved
exceptions it decides the state (已通过 / 未通过 / 未修 / 免修 / 替代 / 认定), the score used, the credits
earned and the label naming the exception. ``scores.course_progress`` (已通过课程数 / 已获总学分, the
graduation audit) and ``degree`` (degree courses and their average) read every course through it.

The rule, per kind, for an approved exception of a plan course:

* 课程替代: in force while the substitute course's best score is a pass. The course is 替代, earns its
  plan credits, and **the substitute's best score is the score used** — also when an attempt at the plan
  course itself scored otherwise (the registrar decided the substitute stands for it; revoke the
  exception to go back to the course's own attempts). A substitute that no longer passes (its grade was
  corrected) leaves the exception out of force: the course's own attempts decide.
* 免修: always in force. The course is 免修, earns its plan credits and has **no score**: a waived
  degree course does not enter the 学位课程平均分 (the average is over the degree courses with a score).
* 学分认定: in force with a recognised score that passes, or with 合格 (no score). The course is 认定,
  earns the recognised credits (the plan credits when none are given), and the recognised score, if
  any, is the score used (it enters the degree average; a 合格 does not).

An exception in force decides the standing even when the plan course was also passed by its own
attempts. Exceptions of courses outside the plan count for nothing (the service refuses them anyway).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import and_, case, null, or_, select

from app.audit.numbers import format_number, is_pass
from app.audit.types import (
    NO_EXCEPTIONS,
    NOTE_CODE,
    ApprovedException,
    CourseStanding,
    Exceptions,
    Plan,
    PlanCourse,
    Reason,
)
from app.statuses import PASS_SCORE, CourseState, ExceptionKind

_SUBSTITUTE = ExceptionKind.SUBSTITUTE.value
_WAIVER = ExceptionKind.WAIVER.value
_RECOGNITION = ExceptionKind.RECOGNITION.value
_PASSED = CourseState.PASSED.value
_FAILED = CourseState.FAILED.value
_NOT_TAKEN = CourseState.NOT_TAKEN.value
_WAIVED = CourseState.WAIVED.value
_SUBSTITUTED = CourseState.SUBSTITUTED.value
_RECOGNISED = CourseState.RECOGNISED.value


def index_exceptions(exceptions: Iterable[ApprovedException]) -> dict[str, ApprovedException]:
    """Approved exceptions keyed by plan course code; the first of a code wins (the database holds at
    most one active exception per student and course)."""
    out: dict[str, ApprovedException] = {}
    for exc in exceptions:
        out.setdefault(exc.course_code, exc)
    return out


def in_force(exc: ApprovedException, best: Mapping[str, float]) -> bool:
    """Whether an approved exception counts today (see the module docstring for each kind)."""
    if exc.kind == _WAIVER:
        return True
    if exc.kind == _SUBSTITUTE:
        return exc.substitute_code is not None and is_pass(best.get(exc.substitute_code))
    if exc.kind == _RECOGNITION:
        return (exc.credits is None or exc.credits > 0) and (exc.score is None or is_pass(exc.score))
    return False


def in_force_sql(exception, grade):
    """``in_force`` as a SQL condition on a row of ``exception`` (the course exceptions' mapped class or an
    alias; ``grade``: the grades'): 免修 always; 课程替代 while the substitute has a passing attempt (its
    best score passes); 学分认定 with credits that are not 0 and a passing score or 合格. Whether the
    exception is approved is the caller's condition."""
    substitute_passes = (
        select(grade.id)
        .where(grade.student_id == exception.student_id, grade.course_code == exception.substitute_code,
               grade.score >= PASS_SCORE)
        .exists()
    )
    return or_(
        exception.kind == _WAIVER,
        and_(exception.kind == _SUBSTITUTE, substitute_passes),
        and_(exception.kind == _RECOGNITION, or_(exception.credits.is_(None), exception.credits > 0),
             or_(exception.score.is_(None), exception.score >= PASS_SCORE)),
    )


def standing_score_sql(course_code, exception, best_of: Callable):
    """``course_standing``'s score used, as a SQL expression for one plan course: ``exception`` is the
    student's approved exception of the course outer-joined only when in force (``in_force_sql``), so its
    columns are NULL otherwise. 课程替代: the substitute's best score; 免修: none; 学分认定: the recognised
    score (none for 合格); no exception in force: the course's own best score. ``best_of(code)`` gives the
    student's best score of a course code as a scalar SQL expression."""
    return case(
        (exception.kind == _SUBSTITUTE, best_of(exception.substitute_code)),
        (exception.kind == _WAIVER, null()),
        (exception.kind == _RECOGNITION, exception.score),
        else_=best_of(course_code),
    )


def exception_label(course_name: str, exc: ApprovedException, *, approved: bool = True) -> str:
    """The course named with its exception: ``大学英语（以 学术英语 替代，2026-12-01 批准）``,
    ``体育（免修，2026-12-01 批准）``, ``高等数学（学分认定：南京大学 高等数学A 4学分 合格，2026-12-01 批准）``.
    With ``approved=False`` (an exception still 待审核) the approval date is left out."""
    when = f"，{exc.approved_on.isoformat()} 批准" if approved else ""
    if exc.kind == _SUBSTITUTE:
        return f"{course_name}（以 {exc.substitute_name or exc.substitute_code} 替代{when}）"
    if exc.kind == _WAIVER:
        return f"{course_name}（免修{when}）"
    source = " ".join(p for p in (exc.source_institution, exc.source_course) if p)
    parts = [source] if source else []
    if exc.credits is not None:
        parts.append(f"{format_number(exc.credits)}学分")
    parts.append("合格" if exc.score is None else format_number(exc.score))
    return f"{course_name}（学分认定：{' '.join(parts)}{when}）"


def course_standing(course: PlanCourse, best: Mapping[str, float],
                    exceptions: Exceptions = NO_EXCEPTIONS) -> CourseStanding:
    """Where one plan course stands for a student.

    Args:
        course: The plan course.
        best: The student's best score per course code (``scores.best_scores``; all attempts count).
        exceptions: The student's approved exceptions keyed by plan course code.

    Returns:
        The standing: an exception in force decides (替代 / 免修 / 认定); otherwise the best own attempt
        (已通过 at ``PASS_SCORE``, else 未通过, or 未修 without any score).
    """
    exc = exceptions.get(course.code) if exceptions else None
    if exc is not None and in_force(exc, best):
        label = exception_label(course.name, exc)
        if exc.kind == _SUBSTITUTE:
            return CourseStanding(course, _SUBSTITUTED, best.get(exc.substitute_code or ""), course.credits, exc,
                                  label)
        if exc.kind == _WAIVER:
            return CourseStanding(course, _WAIVED, None, course.credits, exc, label)
        credits = course.credits if exc.credits is None else exc.credits
        return CourseStanding(course, _RECOGNISED, exc.score, credits, exc, label)
    score = best.get(course.code)
    if is_pass(score):
        return CourseStanding(course, _PASSED, score, course.credits, None, course.name)
    return CourseStanding(course, _NOT_TAKEN if score is None else _FAILED, score, 0.0, None, course.name)


def passed_and_score(course: PlanCourse, best: Mapping[str, float],
                     exceptions: Exceptions = NO_EXCEPTIONS) -> tuple[bool, float | None]:
    """``course_standing``'s (passed, score used) without building the standing: for the loops that run
    over every course of every student of a year's audit (most students have no exception)."""
    if exceptions and course.code in exceptions:
        standing = course_standing(course, best, exceptions)
        return standing.passed, standing.score
    score = best.get(course.code)
    return is_pass(score), score


def course_standings(plan: Plan, best: Mapping[str, float],
                     exceptions: Exceptions = NO_EXCEPTIONS) -> tuple[CourseStanding, ...]:
    """``course_standing`` of every distinct course of the plan, in plan order (what a worksheet, the
    audit detail page and the transcript show)."""
    return tuple(course_standing(c, best, exceptions) for c in plan.distinct_courses)


def exception_notes(courses: Iterable[PlanCourse], best: Mapping[str, float],
                    exceptions: Exceptions = NO_EXCEPTIONS) -> tuple[Reason, ...]:
    """One informational line (code ``course_exception``) per course whose standing an exception decided,
    in the given order: what a verdict's ``notes`` carry so a 预毕业 / 已达标 names the exceptions."""
    if not exceptions:
        return ()
    notes = []
    for course in courses:
        if course.code not in exceptions:
            continue
        standing = course_standing(course, best, exceptions)
        exc = standing.exception
        if exc is None:
            continue
        notes.append(Reason(NOTE_CODE, standing.label, {
            "course_code": course.code, "course_name": course.name, "kind": exc.kind, "state": standing.state,
            "score": standing.score, "credits": standing.credits, "approved_on": exc.approved_on.isoformat(),
            "substitute_code": exc.substitute_code,
        }))
    return tuple(notes)

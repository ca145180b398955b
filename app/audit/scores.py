"""Score parsing, best-attempt selection and credit progress for the audit rules.

Pure functions only: they turn raw grade records into the figures that the graduation
and degree rules (and 同步课程数据) work with.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Float, and_, case, cast, func, literal, null, select, union_all

from app.audit.exceptions import course_standing, in_force_sql
from app.audit.numbers import format_number as format_number  # re-exported: callers import it from here
from app.audit.numbers import is_pass as is_pass
from app.audit.types import NO_EXCEPTIONS, Exceptions, Plan
from app.statuses import GRADE_WORDS, PASS_SCORE, ExceptionKind, ExceptionStatus


def parse_score(raw: str | float | int | None) -> float | None:
    """Parse a grade as stored or imported.

    Args:
        raw: A number, a numeric string (``"85"``, ``"85.5"``), a grade word
            (优/良/中/及格/不及格), or ``None``/empty.

    Returns:
        The score as a float in 0..100, or ``None`` when there is no score.

    Raises:
        ValueError: With a Chinese message, for text that is neither a number nor a grade
            word, or for a number outside 0..100.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"成绩无法识别：{raw}")
    if isinstance(raw, (int, float)):
        value = float(raw)
        shown = str(raw)
    else:
        text = str(raw).strip()
        if not text:
            return None
        if text in GRADE_WORDS:
            return GRADE_WORDS[text]
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"成绩无法识别：{text}（应为 0–100 的数字或 优/良/中/及格/不及格）") from None
        shown = text
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"成绩无法识别：{shown}")
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"成绩超出范围：{shown}（应在 0–100 之间）")
    return value


def best_scores(attempts: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Keep the best attempt of each course.

    Args:
        attempts: ``(course_code, score)`` pairs; 正考, 补考 and 重修 all count.
            Attempts whose score is ``None`` are ignored.

    Returns:
        Mapping of course code to its best score.
    """
    best: dict[str, float] = {}
    for code, score in attempts:
        if score is None:
            continue
        score = float(score)
        if code not in best or score > best[code]:
            best[code] = score
    return best


@dataclass(frozen=True, slots=True)
class Progress:
    """Figures shown as 已通过课程数 / 已获总学分 and used by the graduation audit.

    Attributes:
        passed_courses: Number of passed courses (plan courses when a plan exists).
        total_credits: Credits of passed plan courses.
        elective_credits: Credits of passed 选修 plan courses.
        required_credits: Credits of passed 必修 plan courses.
        required_passed: Number of passed 必修 plan courses (when it equals the plan's
            ``distinct_required``, no required course is missing).
    """

    passed_courses: int
    total_credits: float
    elective_credits: float
    required_credits: float
    required_passed: int = 0


def course_progress(plan: Plan | None, best: Mapping[str, float],
                    exceptions: Exceptions = NO_EXCEPTIONS) -> Progress:
    """Count passed courses and earned credits against a teaching plan.

    Args:
        plan: The student's teaching plan, or ``None`` when none exists.
        best: Best score per course code (see :func:`best_scores`).
        exceptions: The student's approved course exceptions keyed by plan course code.

    Returns:
        Only plan courses count, each as ``exceptions.course_standing`` decides (a course counts when
        passed or covered by an exception in force, with the credits the standing earns). Without a
        plan, ``passed_courses`` is the number of passing entries in ``best``, all credits are 0 and
        exceptions (which stand for plan courses) count for nothing.
    """
    if plan is None:
        return Progress(sum(1 for s in best.values() if is_pass(s)), 0.0, 0.0, 0.0)
    passed = 0
    required_passed = 0
    required = 0.0
    elective = 0.0
    get = best.get
    for course in plan.distinct_courses:
        if exceptions and course.code in exceptions:
            standing = course_standing(course, best, exceptions)
            if not standing.passed:
                continue
            credits = standing.credits
        else:
            # course_standing's branch without an exception, inlined: this loop runs for every plan
            # course of every student of a year's audit (tests/rules prove the two agree)
            if not is_pass(get(course.code)):
                continue
            credits = course.credits
        passed += 1
        if course.required:
            required_passed += 1
            required += credits
        else:
            elective += credits
    return Progress(
        passed_courses=passed,
        total_credits=round(required + elective, 2),
        elective_credits=round(elective, 2),
        required_credits=round(required, 2),
        required_passed=required_passed,
    )


# --------------------------------------------------------------------------- the same figures in SQL


def plan_join_condition(plan, student):
    """How a student finds the teaching plan: same 专业 and 层次, plan 年级 = the student's 学习年级.

    The 学习年级 (not the 学籍年级) decides, because a student who repeats a year (留级/降级) studies
    under the plan of the cohort they joined (``services.facts.plan_key`` is the Python form).
    """
    return and_(plan.major_id == student.major_id, plan.level == student.level, plan.grade == student.study_grade)


def course_progress_sql(student_ids, *, grade, student, plan, plan_course, exception):
    """``course_progress``'s 已通过课程数 and 已获总学分 for many students as one aggregate SELECT over the
    given mapped classes (``grade``, ``student``, ``plan``, ``plan_course``, ``exception`` — the course
    exceptions: the rules import no model).

    Rows ``(student_id, plan_id, plan_passed, plan_credits, any_passed)`` for the students with at
    least one passed course or approved exception (the others have 0 and 0); read them with
    ``progress_from_sql_row``. A (student, course) counts when its best attempt passes at
    ``PASS_SCORE`` or an approved exception is in force for it (``exceptions.in_force``: 免修 always,
    课程替代 while the substitute has a passing attempt, 学分认定 with a passing score or 合格), and earns
    the plan credits — a recognition's own credits when given. Only plan courses count (a plan holds
    each course code once: ``uq_plan_course``); without a plan, every passed course code counts, the
    credits are 0 and exceptions count for nothing. ``exception=None`` says the students hold no approved
    exception (the caller checked): the same figures from the passed attempts alone, without the union.
    """
    ids = list(student_ids)
    best = (
        select(grade.student_id.label("sid"), grade.course_code.label("code"), func.max(grade.score).label("best"))
        .where(grade.student_id.in_(ids))
        .group_by(grade.student_id, grade.course_code)
        .subquery()
    )
    passed = select(best.c.sid, best.c.code, literal(1).label("graded"), literal(0).label("excepted"),
                    cast(null(), Float).label("xcredits")).where(best.c.best >= PASS_SCORE)
    if exception is None:  # one row per (student, course) already: nothing to merge
        return _progress_select(passed.subquery(), ids, student=student, plan=plan, plan_course=plan_course)
    recognition = exception.kind == ExceptionKind.RECOGNITION.value
    forced = select(
        exception.student_id, exception.course_code, literal(0), literal(1),
        case((recognition, exception.credits), else_=cast(null(), Float)),
    ).where(exception.student_id.in_(ids), exception.status == ExceptionStatus.APPROVED.value,
            in_force_sql(exception, grade))
    both = union_all(passed, forced).subquery()
    counted = (
        select(both.c.sid, both.c.code, func.max(both.c.graded).label("graded"),
               func.max(both.c.excepted).label("excepted"), func.max(both.c.xcredits).label("xcredits"))
        .group_by(both.c.sid, both.c.code)
        .subquery()
    )
    return _progress_select(counted, ids, student=student, plan=plan, plan_course=plan_course)


def _progress_select(counted, ids, *, student, plan, plan_course):
    """Sum the counted (student, course) rows over each student's plan courses."""
    earned = case(
        (plan_course.id.is_(None), literal(0.0)),
        (and_(counted.c.excepted == 1, counted.c.xcredits.is_not(None)), counted.c.xcredits),
        else_=plan_course.credits,
    )
    return (
        select(
            student.id,
            func.max(plan.id),
            func.count(plan_course.id),
            func.coalesce(func.sum(earned), 0),
            func.coalesce(func.sum(counted.c.graded), 0),
        )
        .select_from(student)
        .join(counted, counted.c.sid == student.id)
        .outerjoin(plan, plan_join_condition(plan, student))
        .outerjoin(plan_course, and_(plan_course.plan_id == plan.id, plan_course.course_code == counted.c.code))
        .where(student.id.in_(ids))  # lets the planner use the key, not scan students
        .group_by(student.id)
    )


def progress_from_sql_row(plan_id, plan_passed, plan_credits, any_passed) -> tuple[int, float]:
    """(已通过课程数, 已获总学分) of one ``course_progress_sql`` row, rounded as ``course_progress`` rounds."""
    if plan_id is None:
        return int(any_passed), 0.0
    return int(plan_passed), round(float(plan_credits or 0), 2)

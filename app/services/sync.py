"""同步课程数据: recompute 已通过课程数 / 已获总学分 from the grades, set-based.

One aggregate query per chunk of students (best score per student and course, joined to the
student's plan courses, grouped per student), then one bulk UPDATE. Semantics are those of
``app.audit.scores.course_progress``: only plan courses count; without a plan the number of
passed courses is the number of passed course codes and the credits are 0.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Iterator, Sequence

from sqlalchemy import and_, func, select

from app.extensions import db
from app.models.base import utcnow
from app.models.grade import Grade
from app.models.plan import PlanCourse, TeachingPlan
from app.models.student import Student
from app.services import facts
from app.statuses import PASS_SCORE

CHUNK = 1000


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[list[int]]:
    """Split ids into lists of at most ``size`` (keeps IN lists within every database's limits)."""
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def plan_join_condition():
    """How a student finds the teaching plan: same 专业 and 层次, plan 年级 = the student's 学习年级.

    The 学习年级 (not the 学籍年级) decides, because a student who repeats a year (留级/降级) studies
    under the plan of the cohort they joined.
    """
    return and_(
        TeachingPlan.major_id == Student.major_id,
        TeachingPlan.level == Student.level,
        TeachingPlan.grade == Student.study_grade,
    )


def progress_figures(student_ids: Iterable[int]) -> dict[int, tuple[int, float]]:
    """(已通过课程数, 已获总学分) per student, computed in SQL; students without a passed course are absent."""
    ids = list(student_ids)
    if not ids:
        return {}
    best = (
        select(
            Grade.student_id.label("sid"),
            Grade.course_code.label("code"),
            func.max(Grade.score).label("best"),
        )
        .where(Grade.student_id.in_(ids))
        .group_by(Grade.student_id, Grade.course_code)
        .subquery()
    )
    stmt = (
        select(
            Student.id,
            func.max(TeachingPlan.id),
            func.count(PlanCourse.id),
            func.coalesce(func.sum(PlanCourse.credits), 0),
            func.count(best.c.code),
        )
        .select_from(Student)
        .join(best, best.c.sid == Student.id)
        .outerjoin(TeachingPlan, plan_join_condition())
        .outerjoin(PlanCourse, and_(PlanCourse.plan_id == TeachingPlan.id, PlanCourse.course_code == best.c.code))
        .where(best.c.best >= PASS_SCORE, Student.id.in_(ids))  # lets the planner use the key, not scan students
        .group_by(Student.id)
    )
    figures: dict[int, tuple[int, float]] = {}
    db.session.flush()
    for sid, plan_id, plan_passed, credits, any_passed in db.session.connection().execute(stmt):
        if plan_id is None:
            figures[sid] = (int(any_passed), 0.0)
        else:
            figures[sid] = (int(plan_passed), round(float(credits or 0), 2))
    return figures


_STUDENT_T = Student.__table__
def sync_course_data(student_ids: Sequence[int], now: dt.datetime | None = None) -> int:
    """Store 已通过课程数, 已获总学分 and 同步时间 for the students; returns how many were updated.

    Flushes only: the job's progress callback (or the request) commits.
    """
    now = now or utcnow()
    count = 0
    for chunk in chunks(list(student_ids)):
        figures = progress_figures(chunk)
        rows = [
            {"id": sid, "passed_courses": figures.get(sid, (0, 0.0))[0],
             "earned_credits": figures.get(sid, (0, 0.0))[1], "synced_at": now}
            for sid in chunk
        ]
        if rows:
            facts.bulk_update_values(_STUDENT_T, rows)  # one UPDATE … FROM VALUES, no ORM unit of work
            count += len(rows)
    db.session.flush()
    return count

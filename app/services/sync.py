"""同步课程数据: recompute 已通过课程数 / 已获总学分 from the grades, set-based.

One aggregate query per chunk of students — the SQL form of ``app.audit.scores.course_progress``,
which lives beside the Python rule (``course_progress_sql``) — then one bulk UPDATE.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import exists, select

from app.audit.scores import course_progress_sql, progress_from_sql_row
from app.extensions import db
from app.models.base import utcnow
from app.models.exception import CourseException
from app.models.grade import Grade
from app.models.plan import PlanCourse, TeachingPlan
from app.models.student import Student
from app.services import facts
from app.services.common import chunks
from app.statuses import ExceptionStatus

CHUNK = 1000


def progress_figures(student_ids: Iterable[int]) -> dict[int, tuple[int, float]]:
    """(已通过课程数, 已获总学分) per student through the rule's SQL form (``scores.course_progress_sql``);
    students without a passed course are absent."""
    ids = list(student_ids)
    if not ids:
        return {}
    db.session.flush()
    # the union with the course exceptions costs ~70% on a chunk; most chunks hold no approved one
    held = db.session.scalar(select(exists().where(CourseException.student_id.in_(ids),
                                                   CourseException.status == ExceptionStatus.APPROVED.value)))
    return {sid: progress_from_sql_row(plan_id, plan_passed, credits, any_passed)
            for sid, plan_id, plan_passed, credits, any_passed
            in db.session.connection().execute(course_progress_sql(
                ids, grade=Grade, student=Student, plan=TeachingPlan, plan_course=PlanCourse,
                exception=CourseException if held else None))}


_STUDENT_T = Student.__table__
def sync_course_data(student_ids: Sequence[int], now: dt.datetime | None = None) -> int:
    """Store 已通过课程数, 已获总学分 and 同步时间 for the students; returns how many were updated.

    Flushes only: the job's progress callback (or the request) commits.
    """
    now = now or utcnow()
    count = 0
    for chunk in chunks(list(student_ids), CHUNK):
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

"""The audit facts every workflow reads the same way: teaching plans and best scores.

One place decides which plan a student follows — (专业, 层次, 学习年级): after 留级 a student follows
the plan of the cohort they now study with — and how attempts combine (the best one counts).
Graduation, degree, exports and the record pages all load these through here, in set queries.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import event, func, select, tuple_
from sqlalchemy.engine import Engine

from app.audit.types import Plan, PlanCourse as RulePlanCourse
from app.extensions import db
from app.models import Grade, PlanCourse, TeachingPlan
from app.statuses import CourseNature

PlanKey = tuple[int, str, int]


def plan_key(student) -> PlanKey:
    """(专业, 层次, 学习年级) of a student (model or row with major_id, level, study_grade)."""
    return (student.major_id, student.level, student.study_grade)


def rule_course(c) -> RulePlanCourse:
    return RulePlanCourse(c.course_code, c.course_name, float(c.credits),
                          c.nature == CourseNature.REQUIRED.value, bool(c.is_degree_course))


def rule_plan(plan: TeachingPlan) -> Plan:
    """The plain-value plan the pure rules work on."""
    return Plan(float(plan.min_total_credits), float(plan.min_elective_credits or 0),
                tuple(rule_course(c) for c in plan.courses))


def load_plans(keys: Iterable[PlanKey]) -> dict[PlanKey, tuple[int, Plan]]:
    """(plan id, rule plan) for each key that has a plan, in one query; keys without a plan are absent."""
    keys = list(set(keys))
    if not keys:
        return {}
    rows = db.session.execute(
        select(TeachingPlan.id, TeachingPlan.major_id, TeachingPlan.level, TeachingPlan.grade,
               TeachingPlan.min_total_credits, TeachingPlan.min_elective_credits, PlanCourse)
        .outerjoin(PlanCourse, PlanCourse.plan_id == TeachingPlan.id)
        .where(tuple_(TeachingPlan.major_id, TeachingPlan.level, TeachingPlan.grade).in_(keys))
        .order_by(TeachingPlan.id, PlanCourse.id)
    ).all()
    heads: dict[PlanKey, tuple[int, float, float]] = {}
    courses: dict[PlanKey, list[RulePlanCourse]] = {}
    for plan_id, major_id, level, grade, min_total, min_elective, course in rows:
        key = (major_id, level, grade)
        heads[key] = (plan_id, float(min_total), float(min_elective or 0))
        bucket = courses.setdefault(key, [])
        if course is not None:
            bucket.append(rule_course(course))
    return {key: (h[0], Plan(h[1], h[2], tuple(courses[key]))) for key, h in heads.items()}


BATCHED = {"batched_executemany": True}


@event.listens_for(Engine, "do_executemany")
def _execute_batch(cursor, statement, parameters, context):
    """Bulk UPDATEs marked ``BATCHED`` go to PostgreSQL 1,000 rows per round trip (psycopg2's
    ``execute_batch``) instead of one round trip per row; other statements and drivers are untouched.
    Only for Core statements whose row count nobody checks (the ORM's flushes never carry the mark)."""
    if not context.execution_options.get("batched_executemany") or context.dialect.driver != "psycopg2":
        return None
    from psycopg2.extras import execute_batch

    execute_batch(cursor, statement, parameters, page_size=1000)
    return True


def bulk_update(stmt, rows: list[dict]) -> None:
    """Run ``UPDATE … WHERE id = :_id`` for many rows in the session's transaction (see ``BATCHED``)."""
    if rows:
        db.session.flush()
        db.session.connection().execute(stmt.execution_options(**BATCHED), rows)


def raw_rows(stmt) -> list[tuple]:
    """Plain tuples of a Core SELECT, fetched through the DBAPI cursor of the session's connection.

    For the few statements that return millions of rows per audit (best scores): skipping the
    ORM and Row layers is most of the audit's Python time. Same transaction as the session.
    """
    db.session.flush()  # what autoflush would do before a session query
    conn = db.session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(compiled.string, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def best_scores_for(student_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """Best score per student and course code over all attempts (正考/补考/重修), in one grouped query."""
    out: dict[int, dict[str, float]] = {sid: {} for sid in student_ids}
    if not student_ids:
        return out
    stmt = (
        select(Grade.student_id, Grade.course_code, func.max(Grade.score))
        .where(Grade.student_id.in_(list(student_ids)))
        .group_by(Grade.student_id, Grade.course_code)
    )
    for sid, code, score in raw_rows(stmt):
        if score is not None:
            bucket = out.get(sid)
            if bucket is None:
                bucket = out[sid] = {}
            bucket[code] = float(score)
    return out


def plan_for(student) -> TeachingPlan | None:
    """The TeachingPlan row (with courses) a single student follows, for detail pages."""
    from sqlalchemy.orm import selectinload

    major_id, level, grade = plan_key(student)
    return db.session.scalar(
        select(TeachingPlan)
        .where(TeachingPlan.major_id == major_id, TeachingPlan.level == level, TeachingPlan.grade == grade)
        .options(selectinload(TeachingPlan.courses))
    )

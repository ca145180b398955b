"""已通过课程数 / 已获总学分: the Python rule (``scores.course_progress``, what the audit and its snapshot
use) and its SQL form (``scores.course_progress_sql``, what 同步课程数据 stores) give the same figures —
on random plans, students, grade attempts and course exceptions (课程替代 / 免修 / 学分认定 of every
status), on SQLite and on PostgreSQL (both CI passes run this)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from sqlalchemy import select

from app.audit.exceptions import course_standings
from app.audit.scores import best_scores, course_progress
from app.audit.types import Plan, PlanCourse
from app.extensions import db
from app.models import Student
from app.services import facts, sync
from tests.rules import cohorts


@pytest.fixture()
def base(app_ctx):
    return cohorts.base()


@cohorts.PROPERTY
@given(drawn_plans=cohorts.plans, drawn_students=cohorts.students)
def test_sync_figures_equal_the_rule(base, drawn_plans, drawn_students):
    """For every student: SQL (同步课程数据) == Python (``course_progress`` on the loaded plan and best scores)."""
    try:
        cohorts.add_plans(base, drawn_plans)
        students = cohorts.add_students(base, drawn_students)
        ids = [s.id for s in students]
        sql = sync.progress_figures(ids)
        plans = facts.load_plans(facts.plan_key(s) for s in students)
        best = facts.best_scores_for(ids)
        for s in students:
            plan = plans.get(facts.plan_key(s))
            rule = course_progress(plan[1] if plan else None, best[s.id])
            assert sql.get(s.id, (0, 0.0)) == (rule.passed_courses, rule.total_credits), (s.id, plan, best[s.id])
        # and what 同步课程数据 stores is that figure
        sync.sync_course_data(ids)
        stored = {sid: (n, c) for sid, n, c in db.session.execute(
            select(Student.id, Student.passed_courses, Student.earned_credits).where(Student.id.in_(ids)))}
        assert stored == {s.id: sql.get(s.id, (0, 0.0)) for s in students}
    finally:
        db.session.rollback()


@settings(cohorts.PROPERTY, max_examples=150)  # four kinds × four statuses × in or out of force: more examples
@given(drawn_plans=cohorts.plans_for_exceptions, drawn_students=cohorts.students_with_exceptions)
def test_sync_figures_honour_approved_exceptions(base, drawn_plans, drawn_students):
    """With course exceptions: SQL (同步课程数据) == ``course_progress`` on the plan, the best scores and the
    approved exceptions the facts loader hands the audit; and ``course_progress`` == the sum over
    ``course_standings`` (the inlined no-exception branch is the same rule)."""
    try:
        cohorts.add_plans(base, drawn_plans)
        students = cohorts.add_students(base, drawn_students)
        ids = [s.id for s in students]
        sql = sync.progress_figures(ids)
        plans = facts.load_plans(facts.plan_key(s) for s in students)
        best = facts.best_scores_for(ids)
        approved = facts.approved_exceptions_for(ids)
        for s in students:
            plan = plans.get(facts.plan_key(s))
            rule_plan = plan[1] if plan else None
            mine = approved.get(s.id, {})
            rule = course_progress(rule_plan, best[s.id], mine)
            assert sql.get(s.id, (0, 0.0)) == (rule.passed_courses, rule.total_credits), (s.id, plan, best[s.id], mine)
            if rule_plan is not None:
                standings = [st for st in course_standings(rule_plan, best[s.id], mine) if st.passed]
                assert rule.passed_courses == len(standings)
                assert rule.total_credits == round(sum(st.credits for st in standings), 2)
    finally:
        db.session.rollback()


@cohorts.PROPERTY
@given(courses=cohorts.plans.filter(bool).map(lambda d: next(iter(d.values()))),
       attempts=cohorts.student.map(lambda d: d["attempts"]))
def test_a_repeated_course_code_counts_once(courses, attempts):
    """A plan listing a course code twice counts it once, with its first credits and nature (as SQL, where
    a plan holds each code once) — and attempts without a score are no attempt."""
    plan = Plan(10, 2, tuple(PlanCourse(code, code, credits, required, degree)
                             for code, credits, required, degree in courses))
    first: dict[str, PlanCourse] = {}
    for c in plan.courses:
        first.setdefault(c.code, c)
    deduped = Plan(10, 2, tuple(first.values()))
    best = best_scores([*attempts, *((code, None) for code, _ in attempts)])
    assert course_progress(plan, best) == course_progress(deduped, best)
    assert best == best_scores(attempts)

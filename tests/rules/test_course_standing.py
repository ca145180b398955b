"""The hot loops' shortcuts are the rule: ``passed_and_score`` and ``course_progress`` agree with
``course_standing`` on random plans, best scores and approved exceptions of every kind (pure, no database)."""
from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from app.audit.exceptions import course_standing, course_standings, index_exceptions, passed_and_score
from app.audit.scores import course_progress
from app.audit.types import ApprovedException, Plan, PlanCourse
from app.statuses import ExceptionKind
from tests.rules import cohorts

approved = st.builds(
    ApprovedException,
    kind=st.sampled_from([k.value for k in ExceptionKind] + ["unknown"]),
    course_code=st.sampled_from(cohorts.CODES),
    approved_on=st.just(dt.date(2026, 12, 1)),
    substitute_code=st.one_of(st.none(), st.sampled_from(cohorts.CODES)),
    substitute_name=st.one_of(st.none(), st.just("替代课程")),
    credits=st.one_of(st.none(), st.just(0.0), cohorts.CREDITS),
    score=st.one_of(st.none(), cohorts.SCORES),
)


@cohorts.PROPERTY
@given(courses=cohorts.plans.filter(bool).map(lambda d: next(iter(d.values()))),
       best=st.dictionaries(st.sampled_from(cohorts.CODES), cohorts.SCORES),
       exceptions=st.lists(approved, max_size=6))
def test_shortcuts_agree_with_course_standing(courses, best, exceptions):
    plan = Plan(10, 2, tuple(PlanCourse(code, f"课程{code}", credits, required, degree)
                             for code, credits, required, degree in courses))
    mine = index_exceptions(exceptions)
    for course in plan.courses:
        standing = course_standing(course, best, mine)
        assert passed_and_score(course, best, mine) == (standing.passed, standing.score)
        assert standing.passed == (standing.credits > 0 or standing.exception is not None
                                   or standing.state == "passed")
    standings = [s for s in course_standings(plan, best, mine) if s.passed]
    progress = course_progress(plan, best, mine)
    assert progress.passed_courses == len(standings)
    assert progress.total_credits == round(sum(s.credits for s in standings), 2)
    assert progress.required_passed == sum(1 for s in standings if s.course.required)

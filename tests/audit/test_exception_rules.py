"""Tests for app.audit.exceptions: 课程替代 / 免修 / 学分认定 in the graduation and degree rules."""
from __future__ import annotations

import datetime as dt

from app.audit.degree import DegreeMarks, LanguageExam, audit_degree, degree_course_average
from app.audit.exceptions import course_standing, course_standings, exception_label, in_force, index_exceptions
from app.audit.graduation import GraduationFacts, audit_graduation
from app.audit.scores import course_progress
from app.audit.types import ApprovedException, Plan, PlanCourse
from app.statuses import CourseState, DegreeConditionResult, EnrolmentStatus, ExceptionKind, FormState, GraduationResult

DAY = dt.date(2026, 12, 1)
ENG = PlanCourse("ENG", "大学英语", 3, True, True)
MATH = PlanCourse("MATH", "高等数学", 4, True, True)
PE = PlanCourse("PE", "体育", 2, False, False)
ART = PlanCourse("ART", "书法", 2, False, False)
PLAN = Plan(11, 2, (ENG, MATH, PE, ART))
GOOD = GraduationFacts(EnrolmentStatus.ENROLLED.value, FormState.SUBMITTED.value, True)
MARKS = DegreeMarks(60, 70)
LANG_OK = [LanguageExam(75, None)]


def substitute(code: str = "ENG", by: str = "AENG", name: str = "学术英语") -> ApprovedException:
    return ApprovedException(ExceptionKind.SUBSTITUTE.value, code, DAY, substitute_code=by, substitute_name=name)


def waiver(code: str) -> ApprovedException:
    return ApprovedException(ExceptionKind.WAIVER.value, code, DAY)


def recognition(code: str, credits: float | None, score: float | None = None) -> ApprovedException:
    return ApprovedException(ExceptionKind.RECOGNITION.value, code, DAY, source_institution="南京大学",
                             source_course="高等数学A", credits=credits, score=score)


def test_substitution_counts_with_the_substitutes_best_score() -> None:
    """A failed plan course (55) substituted by a passed course (best of 58 and 62): 替代, score 62, credits 3,
    and the graduation verdict is 预毕业 with a note naming the substitution."""
    best = {"ENG": 55.0, "AENG": 62.0, "MATH": 80.0, "PE": 70.0, "ART": 70.0}
    exc = index_exceptions([substitute()])
    s = course_standing(ENG, best, exc)
    assert (s.state, s.score, s.credits, s.passed) == (CourseState.SUBSTITUTED.value, 62.0, 3, True)
    assert s.label == "大学英语（以 学术英语 替代，2026-12-01 批准）"
    without = audit_graduation(GOOD, PLAN, best)
    assert without.result == GraduationResult.FAILED.value
    verdict = audit_graduation(GOOD, PLAN, best, exceptions=exc)
    assert verdict.result == GraduationResult.PRE_GRADUATE.value and verdict.ok
    assert [n.message for n in verdict.notes] == ["大学英语（以 学术英语 替代，2026-12-01 批准）"]
    assert verdict.notes[0].detail["kind"] == ExceptionKind.SUBSTITUTE.value


def test_substitute_scoring_lower_than_the_failed_attempt_does_not_pass_the_course() -> None:
    """The substitute's best score is the score used only while it passes: a substitute at 52 (below the
    failed attempt at 58) is out of force, and the course's own attempt decides: 未通过 58."""
    best = {"ENG": 58.0, "AENG": 52.0, "MATH": 80.0, "PE": 70.0, "ART": 70.0}
    exc = index_exceptions([substitute()])
    assert not in_force(exc["ENG"], best)
    s = course_standing(ENG, best, exc)
    assert (s.state, s.score, s.credits, s.exception) == (CourseState.FAILED.value, 58.0, 0.0, None)
    verdict = audit_graduation(GOOD, PLAN, best, exceptions=exc)
    assert [r.message for r in verdict.reasons][0] == "必修课程未通过：大学英语（3学分，最高成绩 58）"
    assert verdict.notes == ()


def test_substitute_score_is_used_even_below_a_passed_own_attempt() -> None:
    """Documented choice: an approved substitution decides; its score (65) is used in the degree average
    although the course itself was passed at 90 (revoke the substitution to use 90)."""
    best = {"ENG": 90.0, "AENG": 65.0, "MATH": 80.0}
    exc = index_exceptions([substitute()])
    assert degree_course_average(PLAN, best) == 85.0
    assert degree_course_average(PLAN, best, exc) == 72.5
    assert course_standing(ENG, best, exc).score == 65.0


def test_waived_elective_counts_its_credits_without_a_score() -> None:
    """免修 of an elective: counts as passed with the plan credits, no score; elective credits reach the minimum."""
    best = {"ENG": 70.0, "MATH": 80.0, "ART": 65.0}
    plan = Plan(9, 4, PLAN.courses)
    exc = index_exceptions([waiver("PE")])
    assert audit_graduation(GOOD, plan, best).result == GraduationResult.FAILED.value
    s = course_standing(PE, best, exc)
    assert (s.state, s.score, s.credits) == (CourseState.WAIVED.value, None, 2)
    assert s.label == "体育（免修，2026-12-01 批准）"
    progress = course_progress(plan, best, exc)
    assert (progress.passed_courses, progress.total_credits, progress.elective_credits) == (4, 11, 4)
    verdict = audit_graduation(GOOD, plan, best, exceptions=exc)
    assert verdict.ok and [n.detail["course_code"] for n in verdict.notes] == ["PE"]


def test_waived_degree_course_leaves_the_average() -> None:
    """A waived degree course without a score does not enter the 学位课程平均分 and gives no reason."""
    best = {"ENG": 62.0, "MATH": 90.0}
    exc = index_exceptions([waiver("ENG")])
    assert degree_course_average(PLAN, best) == 76.0
    assert degree_course_average(PLAN, best, exc) == 90.0
    verdict = audit_degree(GraduationResult.PRE_GRADUATE.value, False, LANG_OK, PLAN, {"MATH": 90.0}, MARKS, exc)
    assert verdict.result == DegreeConditionResult.MET.value
    assert [n.message for n in verdict.notes] == ["大学英语（免修，2026-12-01 批准）"]
    missing = audit_degree(GraduationResult.PRE_GRADUATE.value, False, LANG_OK, PLAN, {"MATH": 90.0}, MARKS)
    assert [r.code for r in missing.reasons] == ["degree_course_missing"]


def test_recognised_credits_push_total_credits_over_the_minimum() -> None:
    """学分认定 of a course never taken: counts with the recognised credits (3 of the plan's 4); the total
    reaches the minimum of 10, and a recognised score enters the degree average."""
    best = {"ENG": 70.0, "PE": 70.0, "ART": 70.0}
    plan = Plan(10, 2, PLAN.courses)
    before = audit_graduation(GOOD, plan, best)
    assert [r.code for r in before.reasons] == ["missing_required_course", "total_credits_short"]
    exc = index_exceptions([recognition("MATH", 3, 88)])
    s = course_standing(MATH, best, exc)
    assert (s.state, s.score, s.credits) == (CourseState.RECOGNISED.value, 88, 3)
    assert s.label == "高等数学（学分认定：南京大学 高等数学A 3学分 88，2026-12-01 批准）"
    progress = course_progress(plan, best, exc)
    assert (progress.total_credits, progress.required_credits) == (10, 6)
    assert audit_graduation(GOOD, plan, best, exceptions=exc).ok
    assert degree_course_average(plan, best, exc) == 79.0


def test_recognition_pass_without_score_and_failing_score() -> None:
    """合格 recognition: no score (not in the average), plan credits when none given; a recognised score
    below the pass mark is out of force."""
    passed = course_standing(MATH, {}, index_exceptions([recognition("MATH", None)]))
    assert (passed.state, passed.score, passed.credits) == (CourseState.RECOGNISED.value, None, 4)
    assert "合格" in passed.label
    failing = course_standing(MATH, {}, index_exceptions([recognition("MATH", 3, 50)]))
    assert (failing.state, failing.credits) == (CourseState.NOT_TAKEN.value, 0.0)


def test_no_exception_means_no_change_and_outside_codes_count_nothing() -> None:
    """Without exceptions the standings are the plain best-score ones; an exception of a code outside
    the plan changes nothing; ``course_progress`` agrees with the standings."""
    best = {"ENG": 59.5, "MATH": 60.0, "PE": 0.0}
    states = [s.state for s in course_standings(PLAN, best)]
    assert states == ["failed", "passed", "failed", "not_taken"]
    outside = index_exceptions([waiver("XX")])
    assert course_progress(PLAN, best, outside) == course_progress(PLAN, best)
    assert audit_graduation(GOOD, PLAN, best, exceptions=outside) == audit_graduation(GOOD, PLAN, best)


def test_first_exception_of_a_course_wins_and_labels_name_the_code_without_a_name() -> None:
    first, second = waiver("ENG"), substitute()
    assert index_exceptions([first, second]) == {"ENG": first}
    assert exception_label("大学英语", substitute(name="")) == "大学英语（以 AENG 替代，2026-12-01 批准）"

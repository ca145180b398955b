"""Tests for app.audit.graduation: graduation audit rules (SPEC §3 item 3)."""
from __future__ import annotations

import json

import pytest

from app.audit.graduation import GraduationFacts, audit_graduation
from app.audit.scores import best_scores, parse_score
from app.audit.types import Plan, PlanCourse, Reason, Verdict
from app.statuses import EnrolmentStatus, FormState, GraduationResult

PLAN = Plan(
    min_total_credits=10,
    min_elective_credits=3,
    courses=(
        PlanCourse("MATH", "高等数学", 4, True, True),
        PlanCourse("ENG", "大学英语", 3, True, False),
        PlanCourse("PHOTO", "摄影", 2, False, False),
        PlanCourse("ART", "书法", 1.5, False, False),
    ),
)
ALL_PASSED = {"MATH": 80.0, "ENG": 70.0, "PHOTO": 90.0, "ART": 65.0}
GOOD = GraduationFacts(EnrolmentStatus.ENROLLED.value, FormState.SUBMITTED.value, True)


def codes(verdict: Verdict) -> list[str]:
    """Reason codes of a verdict, in order."""
    return [r.code for r in verdict.reasons]


@pytest.mark.parametrize("form_state", [FormState.SUBMITTED.value, FormState.REVIEWED.value])
def test_all_conditions_met_is_pre_graduate(form_state: str) -> None:
    """An enrolled student with plan done, form submitted or reviewed and a photo is 预毕业."""
    facts = GraduationFacts(EnrolmentStatus.ENROLLED.value, form_state, True)
    verdict = audit_graduation(facts, PLAN, ALL_PASSED)
    assert verdict == Verdict(GraduationResult.PRE_GRADUATE.value, ())
    assert verdict.ok


@pytest.mark.parametrize(
    ("facts", "plan", "best", "expected"),
    [
        (GraduationFacts(EnrolmentStatus.SUSPENDED.value, "submitted", True), PLAN, ALL_PASSED,
         [("not_enrolled", "学籍状态为休学，不是在籍")]),
        (GraduationFacts(EnrolmentStatus.WITHDRAWN.value, "submitted", True), PLAN, ALL_PASSED,
         [("not_enrolled", "学籍状态为退学，不是在籍")]),
        (GraduationFacts(EnrolmentStatus.GRADUATED.value, "submitted", True), PLAN, ALL_PASSED,
         [("not_enrolled", "学籍状态为毕业，不是在籍")]),
        (GOOD, None, ALL_PASSED,
         [("no_plan", "未找到该生对应的教学计划（专业/层次/年级）")]),
        (GOOD, PLAN, {**ALL_PASSED, "MATH": 52.0, "ENG": 30.0, "PHOTO": 90, "ART": 90},
         [("missing_required_course", "必修课程未通过：高等数学（4学分，最高成绩 52）"),
          ("missing_required_course", "必修课程未通过：大学英语（3学分，最高成绩 30）"),
          ("total_credits_short", "已获总学分 3.5，低于毕业最低总学分 10")]),
        (GOOD, PLAN, {"ENG": 70.0, "PHOTO": 90.0, "ART": 65.0, "MATH_OLD": 99.0},
         [("missing_required_course", "必修课程未通过：高等数学（4学分）"),
          ("total_credits_short", "已获总学分 6.5，低于毕业最低总学分 10")]),
        (GraduationFacts(EnrolmentStatus.ENROLLED.value, None, True), PLAN, ALL_PASSED,
         [("form_not_submitted", "未填写毕业生登记表")]),
        (GraduationFacts(EnrolmentStatus.ENROLLED.value, FormState.DRAFT.value, True), PLAN, ALL_PASSED,
         [("form_not_submitted", "毕业生登记表未提交")]),
        (GraduationFacts(EnrolmentStatus.ENROLLED.value, "submitted", False), PLAN, ALL_PASSED,
         [("photo_missing", "未上传毕业照片")]),
    ],
)
def test_each_failing_condition_gives_its_reason(
    facts: GraduationFacts, plan: Plan | None, best: dict[str, float], expected: list[tuple[str, str]]
) -> None:
    """Each unmet condition yields exactly its reason code and precise Chinese message."""
    verdict = audit_graduation(facts, plan, best)
    assert verdict.result == GraduationResult.FAILED.value
    assert not verdict.ok
    assert [(r.code, r.message) for r in verdict.reasons] == expected


@pytest.mark.parametrize(
    ("plan", "best", "expected"),
    [
        # electives all passed but total short because a plan allows more credits than the courses give
        (Plan(80, 3, PLAN.courses), ALL_PASSED,
         [("total_credits_short", "已获总学分 10.5，低于毕业最低总学分 80")]),
        # total met but elective short
        (Plan(8, 3, PLAN.courses), {"MATH": 80, "ENG": 70, "PHOTO": 90},
         [("elective_credits_short", "选修学分 2，低于选修最低学分 3")]),
        # both short
        (PLAN, {"MATH": 80, "ENG": 70, "ART": 60},
         [("total_credits_short", "已获总学分 8.5，低于毕业最低总学分 10"),
          ("elective_credits_short", "选修学分 1.5，低于选修最低学分 3")]),
        # exactly at the minimum is enough
        (Plan(10.5, 3.5, PLAN.courses), ALL_PASSED, []),
    ],
)
def test_total_and_elective_credits_are_separate(
    plan: Plan, best: dict[str, float], expected: list[tuple[str, str]]
) -> None:
    """Total credits and elective credits are checked separately against their minimums."""
    verdict = audit_graduation(GOOD, plan, best)
    assert [(r.code, r.message) for r in verdict.reasons] == expected


@pytest.mark.parametrize(
    ("attempts", "ok"),
    [
        ([("MATH", "52"), ("MATH", "61")], True),       # 正考 52, 补考 61
        ([("MATH", "不及格"), ("MATH", "及格")], True),  # words: 0 then 65
        ([("MATH", "45"), ("MATH", "59.5")], False),    # still failing after 补考
        ([("MATH", "优"), ("MATH", "40")], True),        # a later worse 重修 does not undo a pass
    ],
)
def test_best_attempt_decides_required_course(attempts: list[tuple[str, str]], ok: bool) -> None:
    """A required course is passed when its best attempt (正考/补考/重修, numbers or 优/良 words) passes."""
    parsed = [(code, parse_score(raw)) for code, raw in attempts]
    best = {**ALL_PASSED, **best_scores(parsed)}  # type: ignore[arg-type]
    assert audit_graduation(GOOD, PLAN, best).ok is ok


def test_reasons_are_all_listed_in_fixed_order() -> None:
    """All reasons come together in order: status, plan courses, credits, form, photo."""
    facts = GraduationFacts(EnrolmentStatus.SUSPENDED.value, FormState.DRAFT.value, False)
    verdict = audit_graduation(facts, PLAN, {"ENG": 30.0})
    assert codes(verdict) == [
        "not_enrolled", "missing_required_course", "missing_required_course",
        "total_credits_short", "elective_credits_short", "form_not_submitted", "photo_missing",
    ]
    assert [r.detail.get("course_name") for r in verdict.reasons[1:3]] == ["高等数学", "大学英语"]


def test_no_plan_reason_replaces_course_reasons() -> None:
    """Without a plan there is one no_plan reason and no course or credit reasons."""
    facts = GraduationFacts(EnrolmentStatus.SUSPENDED.value, None, False)
    assert codes(audit_graduation(facts, None, {})) == [
        "not_enrolled", "no_plan", "form_not_submitted", "photo_missing",
    ]


@pytest.mark.parametrize(
    ("credits", "minimum", "earned_text", "minimum_text"),
    [(78.5, 80.0, "78.5", "80"), (79.0, 80.5, "79", "80.5"), (4.25, 10.0, "4.25", "10")],
)
def test_credit_numbers_have_no_trailing_zero(
    credits: float, minimum: float, earned_text: str, minimum_text: str
) -> None:
    """Credit figures in messages drop a trailing '.0' but keep real decimals."""
    plan = Plan(minimum, 0, (PlanCourse("C", "课程", credits, True, False),))
    verdict = audit_graduation(GOOD, plan, {"C": 90})
    assert verdict.reasons[0].message == f"已获总学分 {earned_text}，低于毕业最低总学分 {minimum_text}"


def test_missing_course_detail_is_json_and_round_trips() -> None:
    """Reason detail names the course and score, is JSON-serialisable and round-trips via dicts."""
    verdict = audit_graduation(GOOD, PLAN, {**ALL_PASSED, "MATH": 52.0})
    reason = verdict.reasons[0]
    assert reason.detail == {"course_code": "MATH", "course_name": "高等数学", "credits": 4, "best_score": 52.0}
    data = json.loads(json.dumps([r.to_dict() for r in verdict.reasons], ensure_ascii=False))
    assert tuple(Reason.from_dict(d) for d in data) == verdict.reasons


def _reference_missing_required(plan: Plan, best: dict) -> list[str]:
    """The rule written the obvious way: every required plan course (in plan order) not passed."""
    return [c.code for c in plan.courses if c.required and not (best.get(c.code) is not None and best[c.code] >= 60)]


@pytest.mark.parametrize("best", [
    {}, ALL_PASSED, {"MATH": 59.5}, {"ENG": 60.0, "MATH": 100.0}, {"MATH": 30.0, "ENG": 20.0, "PHOTO": 99.0},
])
@pytest.mark.parametrize("plan", [
    PLAN,
    Plan(4, 0, (PlanCourse("MATH", "高等数学", 4, True, True), PlanCourse("MATH", "高等数学", 4, True, True))),
    Plan(0, 0, (PlanCourse("PHOTO", "摄影", 2, False, False),)),
    Plan(0, 0, ()),
])
def test_missing_required_courses_match_the_plain_rule(plan: Plan, best: dict) -> None:
    """The audit's short cut (skip the required-course scan when progress says all passed) gives the
    same reasons as checking every required course, duplicated plan entries included."""
    verdict = audit_graduation(GOOD, plan, best)
    got = [r.detail["course_code"] for r in verdict.reasons if r.code == "missing_required_course"]
    assert got == _reference_missing_required(plan, best)

"""Tests for app.audit.degree: degree condition audit rules (SPEC §4 item 2)."""
from __future__ import annotations

import pytest

from app.audit.degree import DegreeMarks, LanguageExam, audit_degree, degree_course_average
from app.audit.scores import best_scores, parse_score
from app.audit.types import Plan, PlanCourse, Verdict
from app.statuses import DegreeConditionResult, GraduationResult, SubstituteExam

PLAN = Plan(
    min_total_credits=10,
    min_elective_credits=0,
    courses=(
        PlanCourse("MGT", "管理学原理", 4, True, True),
        PlanCourse("ECO", "经济学", 3, True, True),
        PlanCourse("ENG", "大学英语", 3, True, False),
    ),
)
GOOD_BEST = {"MGT": 80.0, "ECO": 75.0, "ENG": 40.0}  # ENG is not a degree course
PASSING_EXAM = (LanguageExam(72.0, None),)
PRE = GraduationResult.PRE_GRADUATE.value
MARKS = DegreeMarks()


def messages(verdict: Verdict) -> list[tuple[str, str]]:
    """(code, message) pairs of a verdict, in order."""
    return [(r.code, r.message) for r in verdict.reasons]


@pytest.mark.parametrize(
    ("graduation_result", "graduated", "exams"),
    [
        (PRE, False, PASSING_EXAM),
        (GraduationResult.FAILED.value, True, PASSING_EXAM),   # already graduated overrides
        (None, True, PASSING_EXAM),
        (PRE, False, (LanguageExam(None, SubstituteExam.CET4.value, 430.0),)),
        (PRE, False, (LanguageExam(40.0, None), LanguageExam(None, SubstituteExam.PETS3.value, None, True))),
        (PRE, False, (LanguageExam(52.0, None), LanguageExam(60.0, None))),  # exactly the pass mark
    ],
)
def test_all_conditions_met(graduation_result: str | None, graduated: bool, exams: tuple[LanguageExam, ...]) -> None:
    """预毕业 or graduated, a passing exam or substitute and good degree courses give 已达标."""
    verdict = audit_degree(graduation_result, graduated, exams, PLAN, GOOD_BEST, MARKS)
    assert verdict == Verdict(DegreeConditionResult.MET.value, ())
    assert verdict.ok


@pytest.mark.parametrize(
    ("graduation_result", "graduated", "exams", "plan", "best", "expected"),
    [
        (GraduationResult.FAILED.value, False, PASSING_EXAM, PLAN, GOOD_BEST,
         [("graduation_not_met", "毕业审核结果为不合格，需为预毕业或已毕业")]),
        (GraduationResult.UNAUDITED.value, False, PASSING_EXAM, PLAN, GOOD_BEST,
         [("graduation_not_met", "毕业审核结果为未审核，需为预毕业或已毕业")]),
        (None, False, PASSING_EXAM, PLAN, GOOD_BEST,
         [("graduation_not_met", "毕业审核结果为未审核，需为预毕业或已毕业")]),
        (PRE, False, (), PLAN, GOOD_BEST,
         [("language_missing", "无学位外语成绩")]),
        (PRE, False, (LanguageExam(None, None),), PLAN, GOOD_BEST,
         [("language_missing", "无学位外语成绩")]),
        (PRE, False, (LanguageExam(45.0, None), LanguageExam(52.0, None)), PLAN, GOOD_BEST,
         [("language_below", "学位外语成绩 52，低于合格线 60")]),
        (PRE, False, PASSING_EXAM, None, GOOD_BEST,
         [("no_plan", "未找到该生对应的教学计划（专业/层次/年级）")]),
        (PRE, False, PASSING_EXAM, Plan(0, 0, (PlanCourse("ENG", "大学英语", 3, True, False),)), GOOD_BEST,
         [("no_degree_courses", "教学计划未设置学位课程")]),
        (PRE, False, PASSING_EXAM, PLAN, {"ECO": 75.0},
         [("degree_course_missing", "学位课程无成绩：管理学原理")]),
        (PRE, False, PASSING_EXAM, PLAN, {"MGT": 58.0, "ECO": 95.0},
         [("degree_course_failed", "学位课程不合格：管理学原理 58")]),
        (PRE, False, PASSING_EXAM, PLAN, {"MGT": 65.0, "ECO": 72.0},
         [("degree_average_below", "学位课程平均分 68.5，低于 70")]),
    ],
)
def test_each_failing_condition_gives_its_reason(
    graduation_result: str | None,
    graduated: bool,
    exams: tuple[LanguageExam, ...],
    plan: Plan | None,
    best: dict[str, float],
    expected: list[tuple[str, str]],
) -> None:
    """Each unmet degree condition yields exactly its reason code and precise Chinese message."""
    verdict = audit_degree(graduation_result, graduated, exams, plan, best, MARKS)
    assert verdict.result == DegreeConditionResult.NOT_MET.value
    assert messages(verdict) == expected


def test_reasons_are_all_listed_in_fixed_order() -> None:
    """All reasons come together: graduation, language, degree courses in plan order, average."""
    verdict = audit_degree(GraduationResult.FAILED.value, False, (LanguageExam(30, None),), PLAN,
                           {"ECO": 50.0}, MARKS)
    assert messages(verdict) == [
        ("graduation_not_met", "毕业审核结果为不合格，需为预毕业或已毕业"),
        ("language_below", "学位外语成绩 30，低于合格线 60"),
        ("degree_course_missing", "学位课程无成绩：管理学原理"),
        ("degree_course_failed", "学位课程不合格：经济学 50"),
        ("degree_average_below", "学位课程平均分 50，低于 70"),
    ]


@pytest.mark.parametrize(
    ("marks", "language", "best", "expected_codes"),
    [
        (DegreeMarks(language_pass_mark=75), 72.0, GOOD_BEST, ["language_below"]),
        (DegreeMarks(course_average_mark=75), 72.0, {"MGT": 70.0, "ECO": 75.0}, ["degree_average_below"]),
        (DegreeMarks(course_average_mark=75), 72.0, {"MGT": 75.0, "ECO": 75.0}, []),
        (DegreeMarks(language_pass_mark=50), 52.0, GOOD_BEST, []),
    ],
)
def test_batch_marks_are_configurable(
    marks: DegreeMarks, language: float, best: dict[str, float], expected_codes: list[str]
) -> None:
    """The batch's language pass mark and degree-course average mark are used, not fixed values."""
    verdict = audit_degree(PRE, False, (LanguageExam(language, None),), PLAN, best, marks)
    assert [r.code for r in verdict.reasons] == expected_codes


@pytest.mark.parametrize(
    ("attempts", "expected_codes"),
    [
        ([("MGT", "52"), ("MGT", "78"), ("ECO", "良")], []),                       # 补考 after failed 正考
        ([("MGT", "优"), ("ECO", "中")], []),                                       # 95, 75
        ([("MGT", "及格"), ("ECO", "及格")], ["degree_average_below"]),             # 65, 65
        ([("MGT", "不及格"), ("ECO", "优")], ["degree_course_failed", "degree_average_below"]),  # 0, 95
    ],
)
def test_best_attempt_and_grade_words_feed_degree_courses(
    attempts: list[tuple[str, str]], expected_codes: list[str]
) -> None:
    """Degree courses use the best attempt, with 优/良/中/及格/不及格 mapped to scores."""
    best = best_scores((code, parse_score(raw)) for code, raw in attempts)  # type: ignore[misc]
    verdict = audit_degree(PRE, False, PASSING_EXAM, PLAN, best, MARKS)
    assert [r.code for r in verdict.reasons] == expected_codes


@pytest.mark.parametrize(
    ("plan", "best", "expected"),
    [
        (None, GOOD_BEST, None),
        (PLAN, {}, None),
        (PLAN, {"ENG": 99.0}, None),                       # non-degree course ignored
        (PLAN, {"MGT": 80.0}, 80.0),                       # missing score is absent, not 0
        (PLAN, {"MGT": 65.0, "ECO": 72.0}, 68.5),
        (PLAN, {"MGT": 70.0, "ECO": 70.5, "ENG": 0}, 70.25),
        (Plan(0, 0, PLAN.courses + (PlanCourse("LAW", "法学", 2, False, True),)),
         {"MGT": 70.0, "ECO": 70.0, "LAW": 65.0}, 68.33),  # rounded to 2 decimals
    ],
)
def test_degree_course_average(plan: Plan | None, best: dict[str, float], expected: float | None) -> None:
    """The average covers degree courses with a score only and is rounded to 2 decimals."""
    assert degree_course_average(plan, best) == expected


def test_average_message_formats_numbers() -> None:
    """Average and mark in the message keep real decimals and drop a trailing '.0'."""
    plan = Plan(0, 0, PLAN.courses + (PlanCourse("LAW", "法学", 2, False, True),))
    verdict = audit_degree(PRE, False, PASSING_EXAM, plan, {"MGT": 70.0, "ECO": 70.0, "LAW": 65.0},
                           DegreeMarks(course_average_mark=70.0))
    assert messages(verdict) == [("degree_average_below", "学位课程平均分 68.33，低于 70")]
    assert verdict.reasons[0].detail == {"average": 68.33, "required": 70.0}

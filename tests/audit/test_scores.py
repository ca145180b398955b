"""Tests for app.audit.scores: parsing, best attempt, pass mark, credit progress."""
from __future__ import annotations

import pytest

from app.audit.scores import Progress, best_scores, course_progress, format_number, is_pass, parse_score
from app.audit.types import Plan, PlanCourse

PLAN = Plan(
    min_total_credits=10,
    min_elective_credits=3,
    courses=(
        PlanCourse("M1", "高等数学", 4, True, True),
        PlanCourse("E1", "大学英语", 3.5, True, False),
        PlanCourse("X1", "摄影", 2, False, False),
        PlanCourse("X2", "书法", 1.5, False, False),
    ),
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("85", 85.0),
        ("85.5", 85.5),
        (" 72 ", 72.0),
        (85, 85.0),
        (59.5, 59.5),
        (0, 0.0),
        ("100", 100.0),
        ("优", 95.0),
        ("良", 85.0),
        ("中", 75.0),
        ("及格", 65.0),
        ("不及格", 0.0),
        (" 良 ", 85.0),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_score_accepts_numbers_and_grade_words(raw: object, expected: float | None) -> None:
    """Numbers, numeric text and 优/良/中/及格/不及格 parse to 0..100; empty means no score."""
    assert parse_score(raw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("abc", "无法识别"),
        ("八十五", "无法识别"),
        ("85分", "无法识别"),
        ("nan", "无法识别"),
        ("inf", "无法识别"),
        (True, "无法识别"),
        ("-1", "超出范围"),
        ("100.5", "超出范围"),
        (101, "超出范围"),
        (-0.1, "超出范围"),
    ],
)
def test_parse_score_rejects_garbage(raw: object, fragment: str) -> None:
    """Garbage text and numbers outside 0..100 raise ValueError with a Chinese message."""
    with pytest.raises(ValueError, match=fragment):
        parse_score(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        ([], {}),
        ([("M1", 52.0), ("M1", 61.0)], {"M1": 61.0}),                 # 补考 passes after failed 正考
        ([("M1", 52.0), ("M1", 45.0), ("M1", 70.0)], {"M1": 70.0}),   # 重修 after failed 补考
        ([("M1", 80.0), ("M1", 62.0)], {"M1": 80.0}),                 # later worse attempt never lowers
        ([("M1", 52.0), ("E1", 95.0), ("M1", None)], {"M1": 52.0, "E1": 95.0}),  # None ignored
    ],
)
def test_best_scores_keeps_best_attempt(attempts: list[tuple[str, float]], expected: dict[str, float]) -> None:
    """Every attempt (正考/补考/重修) counts and the best score per course is kept."""
    assert best_scores(attempts) == expected


@pytest.mark.parametrize(
    ("score", "expected"),
    [(None, False), (0.0, False), (59.99, False), (60.0, True), (60, True), (100.0, True)],
)
def test_is_pass_uses_pass_score(score: float | None, expected: bool) -> None:
    """A score passes when it is at least PASS_SCORE (60); no score never passes."""
    assert is_pass(score) is expected


@pytest.mark.parametrize(
    ("plan", "best", "expected"),
    [
        (PLAN, {}, Progress(0, 0.0, 0.0, 0.0, 0)),
        (PLAN, {"M1": 60, "E1": 59, "X1": 85}, Progress(2, 6.0, 2.0, 4.0, 1)),
        (PLAN, {"M1": 95, "E1": 65, "X1": 70, "X2": 88}, Progress(4, 11.0, 3.5, 7.5, 2)),
        (PLAN, {"M1": 95, "ZZ": 99}, Progress(1, 4.0, 0.0, 4.0, 1)),  # non-plan course ignored
        (None, {"M1": 95, "E1": 30, "ZZ": 60}, Progress(2, 0.0, 0.0, 0.0, 0)),  # no plan: count only
    ],
)
def test_course_progress_counts_plan_courses(
    plan: Plan | None, best: dict[str, float], expected: Progress
) -> None:
    """Only passed plan courses count; required and elective credits are split; no plan counts passes only."""
    assert course_progress(plan, best) == expected


def test_course_progress_avoids_float_noise() -> None:
    """Summed credits are rounded so 0.1 + 0.2 reads 0.3, not 0.30000000000000004."""
    plan = Plan(0, 0, (PlanCourse("A", "甲", 0.1, False, False), PlanCourse("B", "乙", 0.2, False, False)))
    assert course_progress(plan, {"A": 90, "B": 90}).total_credits == 0.3


@pytest.mark.parametrize(
    ("value", "text"),
    [(80.0, "80"), (78.5, "78.5"), (80, "80"), (68.333333, "68.33"), (0.0, "0"), (-0.0, "0"), (2.50, "2.5")],
)
def test_format_number_drops_trailing_zero(value: float, text: str) -> None:
    """Numbers in messages have no trailing '.0' and at most two decimals."""
    assert format_number(value) == text

"""Value types shared by the pure audit rules (graduation and degree).

Everything here is immutable and free of Flask/SQLAlchemy so that rules, background
jobs, the what-if preview and the tests all work on the same plain objects.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Reason:
    """One precise reason why an audit condition is not met.

    Attributes:
        code: Stable machine code, e.g. ``"missing_required_course"``.
        message: Chinese sentence naming exactly what is wrong.
        detail: JSON-serialisable parameters (course code/name/credits, earned/required ...).
    """

    code: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable ``{"code", "message", "detail"}`` mapping."""
        return {"code": self.code, "message": self.message, "detail": dict(self.detail)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Reason:
        """Rebuild a reason from the output of :meth:`to_dict`."""
        return cls(code=str(d["code"]), message=str(d.get("message", "")), detail=dict(d.get("detail") or {}))


@dataclass(frozen=True, slots=True)
class PlanCourse:
    """One course of a teaching plan (教学计划课程).

    Attributes:
        code: 课程代码.
        name: 课程名称.
        credits: 学分.
        required: True for 必修, False for 选修.
        degree_course: True when it is a 学位课程.
    """

    code: str
    name: str
    credits: float
    required: bool
    degree_course: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """A teaching plan (教学计划) for one (专业, 层次, 年级).

    Attributes:
        min_total_credits: 毕业最低总学分.
        min_elective_credits: 选修最低学分.
        courses: Plan courses in plan order.
    """

    min_total_credits: float
    min_elective_credits: float
    courses: tuple[PlanCourse, ...]
    # Derived once per plan (a year's audit evaluates each plan ~2,000 times): the first course of
    # each code, and the required ones among all courses, in plan order.
    distinct_courses: tuple[PlanCourse, ...] = field(init=False, repr=False, compare=False)
    required_courses: tuple[PlanCourse, ...] = field(init=False, repr=False, compare=False)
    distinct_required: int = field(init=False, repr=False, compare=False)  # required course codes

    def __post_init__(self) -> None:
        seen: set[str] = set()
        distinct = []
        for course in self.courses:
            if course.code not in seen:
                seen.add(course.code)
                distinct.append(course)
        object.__setattr__(self, "distinct_courses", tuple(distinct))
        object.__setattr__(self, "required_courses", tuple(c for c in self.courses if c.required))
        object.__setattr__(self, "distinct_required", sum(1 for c in distinct if c.required))


@dataclass(frozen=True, slots=True)
class Verdict:
    """Outcome of an audit.

    Attributes:
        result: Enum ``.value`` code (e.g. ``GraduationResult.PRE_GRADUATE.value``).
        reasons: Every unmet condition, in a stable order; empty when the audit passed.
    """

    result: str
    reasons: tuple[Reason, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there is no reason against the student."""
        return not self.reasons

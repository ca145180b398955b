"""Value types shared by the pure audit rules (graduation and degree).

Everything here is immutable and free of Flask/SQLAlchemy so that rules, background
jobs, the what-if preview and the tests all work on the same plain objects.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.statuses import CourseState


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
class ApprovedException:
    """An approved course exception (课程替代 / 免修 / 学分认定) of one student, as the rules see it.

    Only 已通过 (approved) exceptions are handed to the rules; pending, rejected and revoked ones are
    simply not loaded, so they count for nothing.

    Attributes:
        kind: ``ExceptionKind`` value.
        course_code: The plan course it stands for (课程代码 of the student's teaching plan).
        approved_on: 批准日期 (named in labels).
        substitute_code: 课程替代: the passed course that counts instead (any code in the student's grades).
        substitute_name: 课程替代: its name, for labels.
        source_institution: 学分认定: 来源院校.
        source_course: 学分认定: 来源课程名称.
        credits: 学分认定: recognised credits (what the plan course earns; the service keeps it in
            ``0 < credits <= plan course credits``).
        score: 学分认定: the recognised score, or ``None`` for 合格.
    """

    kind: str
    course_code: str
    approved_on: dt.date
    substitute_code: str | None = None
    substitute_name: str | None = None
    source_institution: str | None = None
    source_course: str | None = None
    credits: float | None = None
    score: float | None = None


# Code of the informational lines (``Verdict.notes``) naming an approved course exception; stored after the
# reasons in ``computed_reasons`` (``Verdict.lines``), told apart from reasons by this code.
NOTE_CODE = "course_exception"


def failure_messages(stored: Iterable[Any] | None) -> list[str]:
    """The messages of stored reason rows that say why a condition is not met: the notes naming an approved
    course exception (``NOTE_CODE``) are stored beside them but are no failure, so no 不合格原因 column shows them."""
    return [str(r.get("message", "")) for r in (stored or []) if isinstance(r, Mapping) and r.get("code") != NOTE_CODE]


# Approved exceptions of one student keyed by plan course code (at most one active per course: the
# database's partial unique index ``uq_course_exception_active``). What the facts loader returns per student.
Exceptions = Mapping[str, ApprovedException]
NO_EXCEPTIONS: Exceptions = MappingProxyType({})  # read-only: a shared default


_NOT_PASSED = frozenset({CourseState.FAILED.value, CourseState.NOT_TAKEN.value})


@dataclass(frozen=True, slots=True)
class CourseStanding:
    """Where one plan course stands for one student (``exceptions.course_standing``).

    Attributes:
        course: The plan course.
        state: ``CourseState`` value: 已通过 / 未通过 / 未修 / 免修 / 替代 / 认定.
        score: The score used (best own attempt; a substitution's best substitute score; a recognition's
            score); ``None`` for 未修, 免修 and a recognition 合格.
        credits: Credits the course earns: 0 unless it counts as passed; the plan credits, or the
            recognised credits for 认定.
        exception: The approved exception that decided the standing, or ``None``.
        label: The course name, with the exception named when one decided, e.g.
            ``"大学英语（以 学术英语 替代，2026-12-01 批准）"``.
    """

    course: PlanCourse
    state: str
    score: float | None
    credits: float
    exception: ApprovedException | None
    label: str

    @property
    def passed(self) -> bool:
        """True when the course counts as passed (已通过 or an exception in force)."""
        return self.state not in _NOT_PASSED


@dataclass(frozen=True, slots=True)
class Verdict:
    """Outcome of an audit.

    Attributes:
        result: Enum ``.value`` code (e.g. ``GraduationResult.PRE_GRADUATE.value``).
        reasons: Every unmet condition, in a stable order; empty when the audit passed.
        notes: Informational lines that do not count against the student: the approved course
            exceptions the verdict relied on (code ``"course_exception"``), in plan order.
    """

    result: str
    reasons: tuple[Reason, ...] = ()
    notes: tuple[Reason, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there is no reason against the student."""
        return not self.reasons

    def lines(self) -> list[dict[str, Any]]:
        """Reasons then notes as stored (``computed_reasons``, snapshots): every line a page or export shows."""
        return [r.to_dict() for r in (*self.reasons, *self.notes)]

"""Random cohorts for the Python-vs-SQL property tests: plans (with duplicate course codes), students
(with and without a plan), grade attempts, course exceptions, graduation results and batches — built in the test's open
transaction, which the test rolls back after each example."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import CourseException, Grade, GraduationAudit, GraduationBatch, PlanCourse, Student, TeachingPlan
from app.statuses import CourseNature, EnrolmentStatus, ExceptionKind, ExceptionStatus, Level, OrgKind
from tests import factories

# Deterministic and modest: the same examples on every run and in both CI passes, a few seconds each.
PROPERTY = settings(max_examples=40, derandomize=True, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

CODES = ["A1", "A2", "B1", "B2", "C1", "X9"]  # X9 is in no plan: a grade outside the plan
GRADES = [2020, 2021, 2022]                     # plans exist for some (major, grade) only
LEVELS = [Level.HIGH_TO_BACHELOR.value, Level.JUNIOR_TO_BACHELOR.value]
CREDITS = st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0])  # as plans write them: halves
SCORES = st.one_of(st.sampled_from([0.0, 59.0, 59.5, 60.0, 65.0, 100.0]),
                   st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 1)))

plan_course = st.tuples(st.sampled_from(CODES[:-1]), CREDITS, st.booleans(), st.booleans())
plans = st.dictionaries(
    st.tuples(st.integers(0, 1), st.sampled_from(LEVELS[:1]), st.sampled_from(GRADES[:2])),
    st.lists(plan_course, max_size=7),  # codes may repeat: the plan keeps the first
    max_size=3,
)
student = st.fixed_dictionaries({
    "major": st.integers(0, 1),
    "level": st.sampled_from(LEVELS),
    "enrol_grade": st.sampled_from(GRADES),
    "study_grade": st.sampled_from(GRADES),
    "attempts": st.lists(st.tuples(st.sampled_from(CODES), SCORES), max_size=10),
})
students = st.lists(student, min_size=1, max_size=6)

# Course exceptions of any kind and status (only approved ones count), at most one per course code (the
# active-exception index): substitutes among all codes (a substitute may have no or a failed attempt),
# recognitions with or without credits and with a score (passing or not) or 合格.
exception = st.tuples(
    st.sampled_from([k.value for k in ExceptionKind]),
    st.sampled_from([ExceptionStatus.APPROVED.value] * 3 + [s.value for s in ExceptionStatus]),
    st.sampled_from(CODES),
    st.one_of(st.none(), CREDITS),
    st.one_of(st.none(), SCORES),
)
# Mostly students who follow a drawn plan (the exceptions matter there), some who do not.
student_in_plan = st.fixed_dictionaries({
    "major": st.integers(0, 1),
    "level": st.sampled_from(LEVELS[:1] * 4 + LEVELS[1:]),
    "enrol_grade": st.sampled_from(GRADES),
    "study_grade": st.sampled_from(GRADES[:2] * 4 + GRADES[2:]),
    "attempts": st.lists(st.tuples(st.sampled_from(CODES), SCORES), max_size=12),
})
student_with_exceptions = student_in_plan.flatmap(
    lambda d: st.dictionaries(st.sampled_from(CODES), exception, max_size=4).map(lambda e: {**d, "exceptions": e}))
students_with_exceptions = st.lists(student_with_exceptions, min_size=1, max_size=6)
plans_for_exceptions = st.dictionaries(
    st.tuples(st.integers(0, 1), st.sampled_from(LEVELS[:1]), st.sampled_from(GRADES[:2])),
    st.lists(plan_course, min_size=2, max_size=7), min_size=2, max_size=4,
)


@dataclass
class Base:
    site: object
    majors: list


def base() -> Base:
    """One college, one site and two majors, committed once per test (examples add to them and roll back)."""
    ce = factories.org("继续教育学院", OrgKind.CE)
    college = factories.org("管理学院", OrgKind.COLLEGE, ce)
    site = factories.org("南通教学点", OrgKind.SITE, ce)
    majors = [factories.major("工商管理", college), factories.major("会计学", college)]
    db.session.commit()
    return Base(site, majors)


def add_plans(b: Base, drawn: dict) -> None:
    """The drawn plans; a code drawn twice is stored once (``uq_plan_course``), its first occurrence."""
    for (major, level, grade), courses in drawn.items():
        p = TeachingPlan(major_id=b.majors[major].id, level=level, grade=grade, min_total_credits=10,
                         min_elective_credits=2)
        db.session.add(p)
        db.session.flush()
        seen = set()
        for code, credits, required, degree_course in courses:
            if code in seen:
                continue
            seen.add(code)
            db.session.add(PlanCourse(plan_id=p.id, course_code=code, course_name=f"课程{code}", credits=credits,
                                      nature=(CourseNature.REQUIRED if required else CourseNature.ELECTIVE).value,
                                      is_degree_course=degree_course))
    db.session.flush()


def add_students(b: Base, drawn: list[dict], status: str = EnrolmentStatus.ENROLLED.value) -> list[Student]:
    """The drawn students and their grade attempts (each attempt its own term)."""
    out = []
    for n, d in enumerate(drawn):
        s = Student(student_no=f"P{n:07d}", name=f"学生{n}", gender="男", id_card="11010519491231002X",
                    birth_date=dt.date(1998, 1, 1), mobile="13800000000", enrol_grade=d["enrol_grade"],
                    study_grade=d["study_grade"], level=d["level"], major_id=b.majors[d["major"]].id,
                    college_id=b.majors[d["major"]].college_id, site_id=b.site.id, status=status,
                    enrolled_on=dt.date(d["enrol_grade"], 3, 1), duration_years=5.0)
        db.session.add(s)
        db.session.flush()
        for i, (code, score) in enumerate(d["attempts"]):
            db.session.add(Grade(student_id=s.id, course_code=code, course_name=f"课程{code}",
                                 term=f"{2000 + i}-{2001 + i}-1", score=score, raw_score=str(score),
                                 exam_kind="regular"))
        for code, (kind, status, other, credits, score) in d.get("exceptions", {}).items():
            db.session.add(CourseException(
                student_id=s.id, course_code=code, course_name=f"课程{code}", kind=kind, status=status,
                substitute_code=other if kind == ExceptionKind.SUBSTITUTE.value else None,
                substitute_name=f"课程{other}" if kind == ExceptionKind.SUBSTITUTE.value else None,
                credits=credits if kind == ExceptionKind.RECOGNITION.value else None,
                score=score if kind == ExceptionKind.RECOGNITION.value else None, reason="测试",
                decided_at=dt.datetime(2026, 12, 1, 2, 0)))
        out.append(s)
    db.session.flush()
    return out


batch = st.tuples(st.sampled_from(GRADES), st.sampled_from(GRADES), st.sampled_from(LEVELS))
MOMENT = st.one_of(st.none(), st.just(dt.datetime(2024, 12, 1, 8, 0)))
audit_row = st.one_of(st.none(), st.tuples(st.sampled_from(["pre_graduate", "failed", "unaudited"]), MOMENT, MOMENT))


def add_batches(drawn: list[tuple[int, int, str]]) -> list[GraduationBatch]:
    out = []
    for n, (enrol, study, level) in enumerate(drawn):
        b = GraduationBatch(name=f"批次{n}", enrol_grade=enrol, study_grade=study, level=level,
                            confirm_start=dt.datetime(2024, 11, 25), confirm_end=dt.datetime(2024, 12, 6),
                            diploma_year=2025)
        db.session.add(b)
        out.append(b)
    db.session.flush()
    return out


def add_audits(students_: list[Student], rows: list, batch_id: int) -> None:
    """A graduation result per student where drawn (result, confirmed_at, published_at); None: no row."""
    for s, row in zip(students_, rows, strict=True):
        if row is None:
            continue
        result, confirmed_at, published_at = row
        db.session.add(GraduationAudit(student_id=s.id, batch_id=batch_id, result=result, computed_result=result,
                                       confirmed_at=confirmed_at, published_at=published_at))
    db.session.flush()

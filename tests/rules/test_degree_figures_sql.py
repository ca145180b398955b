"""学位课程平均分 and 学位外语成绩: the Python rules the degree lists show (``degree.degree_course_average``
through ``figures.gather_figures``; ``language.shown_score`` / ``shown_substitute``) and their SQL forms,
which sort those lists (``degree.degree_course_average_sql``, ``language.language_sort_sql``), give the
same figures — on random plans, students, grade attempts, course exceptions (课程替代 / 免修 / 学分认定
of every status) and language records, on SQLite and on PostgreSQL (both CI passes run this). And an
ORDER BY on the SQL form, NULLs last, is the order of the Python figures in both directions."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import asc, desc, select

from app.audit.degree import degree_course_average, degree_course_average_sql
from app.audit.language import language_sort_sql, shown_score, shown_substitute
from app.audit.numbers import format_number, rounded_average
from app.extensions import db
from app.models import CourseException, Grade, LanguageScore, PlanCourse, Student, TeachingPlan
from app.services import degree
from app.statuses import SubstituteExam
from tests.rules import cohorts

AVERAGE = (degree_course_average_sql(Student, grade=Grade, plan=TeachingPlan, plan_course=PlanCourse,
                                     exception=CourseException),)
LANGUAGE = language_sort_sql(Student, language_score=LanguageScore)

# 学位外语 records: own exam scores, substitutes (CET-4 out of 710, PETS-3 out of 100, an unknown one, an
# empty string) with scores around their marks or none, and the stored 合格 either way
SUBSTITUTES = st.sampled_from([None, None, SubstituteExam.CET4.value, SubstituteExam.PETS3.value, "toefl", ""])
SUB_SCORES = st.one_of(st.none(), st.sampled_from([40.0, 59.5, 60.0, 72.0, 424.5, 425.0, 480.0]))
record = st.tuples(st.one_of(st.none(), cohorts.SCORES), SUBSTITUTES, SUB_SCORES, st.booleans())
language_records = st.lists(st.lists(record, max_size=4), min_size=6, max_size=6)


@pytest.fixture()
def base(app_ctx):
    return cohorts.base()


def _add_language(students: list[Student], drawn: list[list[tuple]]) -> dict[int, list[tuple]]:
    """The drawn records, one exam date each, in date order (as ``gather_figures`` reads them)."""
    rows = {}
    for s, records in zip(students, drawn, strict=False):
        rows[s.id] = records
        for n, (score, substitute, substitute_score, passed) in enumerate(records):
            db.session.add(LanguageScore(student_id=s.id, exam_date=dt.date(2020 + n, 5, 1), score=score,
                                         substitute=substitute, substitute_score=substitute_score, passed=passed))
    db.session.flush()
    return rows


def _sql(ids: list[int], keys: tuple) -> dict[int, tuple]:
    return {sid: tuple(values) for sid, *values in db.session.execute(
        select(Student.id, *keys).where(Student.id.in_(ids)))}


def _assert_sql_order(ids: list[int], keys: tuple, python: dict[int, tuple]) -> None:
    """ORDER BY the keys (each NULLs last) then id, both directions == the Python figures sorted alike."""
    for direction, reverse in ((asc, False), (desc, True)):
        order = [direction(k).nulls_last() for k in keys]
        got = list(db.session.scalars(select(Student.id).where(Student.id.in_(ids))
                                      .order_by(*order, direction(Student.id))))
        assert got == _nulls_last(ids, python, reverse), (direction.__name__, python)


def _nulls_last(ids: list[int], python: dict[int, tuple], reverse: bool) -> list[int]:
    """The ids sorted by their figures (each descending when ``reverse``, missing ones last), then by id."""
    def key(sid: int):
        parts = []
        for value in python[sid]:
            missing = value is None
            parts.append((missing, 0 if missing else (-value if reverse else value)))
        return (*parts, -sid if reverse else sid)

    return sorted(ids, key=key)


@settings(cohorts.PROPERTY, max_examples=150)  # exceptions of four kinds × four statuses: more examples
@given(drawn_plans=cohorts.plans_for_exceptions, drawn_students=cohorts.students_with_exceptions)
def test_average_sql_equals_the_rule(base, drawn_plans, drawn_students):
    """For every student: the SQL 学位课程平均分 == ``degree_course_average`` on the plan, the best scores
    and the approved exceptions ``gather_figures`` hands the list (the figure shown, via ``average_text``)."""
    try:
        cohorts.add_plans(base, drawn_plans)
        students = cohorts.add_students(base, drawn_students)
        ids = [s.id for s in students]
        sql = _sql(ids, AVERAGE)
        figures = degree.gather_figures(students)
        python = {}
        for s in students:
            f = figures[s.id]
            rule = degree_course_average(f.plan, f.best, f.exceptions)
            python[s.id] = (rule,)
            assert sql[s.id] == (rule,), (s.id, f)
            assert degree.average_text(f) == ("" if sql[s.id][0] is None else format_number(sql[s.id][0]))
        _assert_sql_order(ids, AVERAGE, python)
    finally:
        db.session.rollback()


# 8 degree courses and scores with up to 2 decimals: about half of the averages fall on a half cent
# (69.125, 70.005 …), where 四舍五入 and Python's float ``round`` (half to even) part ways
HALF_CODES = [f"D{n}" for n in range(8)]
HALF_SCORES = st.sampled_from([60.0, 69.0, 70.0, 85.0, 69.5, 70.25, 88.75, 90.05, 59.99])


@settings(cohorts.PROPERTY, max_examples=60)
@given(drawn=st.lists(st.lists(HALF_SCORES, min_size=1, max_size=8), min_size=1, max_size=6))
def test_average_rounds_half_up_like_sql(base, drawn):
    """On half-cent averages the rule rounds 四舍五入 on the decimal values, as SQL's ROUND does on both
    databases: the figure shown and the sort key never differ by the last cent."""
    try:
        cohorts.add_plans(base, {(0, cohorts.LEVELS[0], 2020): [(c, 2.0, True, True) for c in HALF_CODES]})
        students = cohorts.add_students(base, [
            {"major": 0, "level": cohorts.LEVELS[0], "enrol_grade": 2020, "study_grade": 2020,
             "attempts": list(zip(HALF_CODES, scores, strict=False))} for scores in drawn])
        ids = [s.id for s in students]
        figures = degree.gather_figures(students)
        python = {s.id: (degree_course_average(figures[s.id].plan, figures[s.id].best),) for s in students}
        assert _sql(ids, AVERAGE) == python
        for s, scores in zip(students, drawn, strict=True):
            want = (sum(Decimal(str(x)) for x in scores) / len(scores)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert python[s.id] == (float(want),), scores
    finally:
        db.session.rollback()


def test_rounded_average_is_half_up_on_decimal_values():
    assert rounded_average([69] * 7 + [70]) == 69.13  # 69.125; round() gives 69.12
    assert rounded_average([70.01, 70.0]) == 70.01  # 70.005
    assert rounded_average([2.675]) == 2.68  # round(2.675, 2) == 2.67 (binary float)
    assert rounded_average([69.99, 70.0]) == 70.0  # 69.995: the 70 mark is reached, as SQL says


@cohorts.PROPERTY
@given(drawn_plans=cohorts.plans, drawn_students=cohorts.students)
def test_average_sql_without_exceptions(base, drawn_plans, drawn_students):
    """Students without exceptions, some without a plan (NULL, like ``None``) or without degree scores."""
    try:
        cohorts.add_plans(base, drawn_plans)
        students = cohorts.add_students(base, drawn_students)
        ids = [s.id for s in students]
        figures = degree.gather_figures(students)
        python = {s.id: (degree_course_average(figures[s.id].plan, figures[s.id].best),) for s in students}
        assert _sql(ids, AVERAGE) == python
        _assert_sql_order(ids, AVERAGE, python)
    finally:
        db.session.rollback()


@cohorts.PROPERTY
@given(drawn_students=cohorts.students, drawn_records=language_records)
def test_language_sort_keys_equal_what_the_list_shows(base, drawn_students, drawn_records):
    """The SQL keys of 学位外语成绩 == (the own best score ``language_text`` shows, 1 when it shows a
    substitute instead): read from the rows ``gather_figures`` hands the list."""
    try:
        students = cohorts.add_students(base, drawn_students)
        _add_language(students, drawn_records)
        ids = [s.id for s in students]
        sql = _sql(ids, LANGUAGE)
        figures = degree.gather_figures(students)
        python = {}
        for s in students:
            rows = figures[s.id].language_rows
            score = shown_score(rows)
            python[s.id] = (score, 1 if score is None and shown_substitute(rows) is not None else None)
            assert sql[s.id] == python[s.id], (s.id, rows)
            text = degree.language_text(figures[s.id])
            if score is not None:
                assert text == format_number(score)
            assert text.endswith("（替代）") == (python[s.id][1] == 1)
            assert (text == "") == (python[s.id] == (None, None))
        _assert_sql_order(ids, LANGUAGE, python)
    finally:
        db.session.rollback()

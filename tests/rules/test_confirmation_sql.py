"""确认状态 and batch matching: the Python rules (``confirmation.confirm_state``, ``graduation_state``,
``batch_matches``/``active_batches``) and their SQL forms, as the 毕业生列表 filter, the dashboard and the
services use them, give the same answer on random students, results and batches — on SQLite and
PostgreSQL (both CI passes run this)."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from app.audit.confirmation import (
    active_batches,
    batch_key,
    batch_matches,
    batch_matches_sql,
    confirm_state,
    confirm_state_exists,
    confirm_state_sql,
    graduation_state,
    graduation_state_sql,
)
from app.extensions import db
from app.models import GraduationAudit, GraduationBatch, Student
from app.security import Scope
from app.services import dashboard, graduation
from app.statuses import ConfirmState
from tests import factories
from tests.rules import cohorts

ALL = Scope("all")


@pytest.fixture()
def base(app_ctx):
    return cohorts.base()


def _python_rows(students):
    rows = {r.student_id: r for r in db.session.scalars(select(GraduationAudit))}
    return {s.id: rows.get(s.id) for s in students}


@cohorts.PROPERTY
@given(drawn=st.lists(st.tuples(cohorts.student, cohorts.audit_row), min_size=1, max_size=8),
       drawn_batches=st.lists(cohorts.batch, max_size=4))
def test_confirm_state_and_batches_python_equal_sql(base, drawn, drawn_batches):
    """Per student: 确认状态, the dashboard state, the 确认状态 filter, the batch in force and "due for
    audit" — the Python rule and the SQL that pages and jobs run agree."""
    try:
        batches = cohorts.add_batches(drawn_batches) or cohorts.add_batches([(1999, 1999, cohorts.LEVELS[0])])
        students = cohorts.add_students(base, [d for d, _ in drawn])
        cohorts.add_audits(students, [row for _, row in drawn], batches[0].id)
        rows = _python_rows(students)
        ids = [s.id for s in students]

        sql = {sid: (c, g) for sid, c, g in db.session.execute(
            select(Student.id, confirm_state_sql(GraduationAudit.confirmed_at, GraduationAudit.published_at),
                   graduation_state_sql(GraduationAudit.result, GraduationAudit.confirmed_at,
                                        GraduationAudit.published_at))
            .outerjoin(GraduationAudit, GraduationAudit.student_id == Student.id).where(Student.id.in_(ids)))}
        python = {}
        for sid, r in rows.items():
            c = confirm_state(r.confirmed_at, r.published_at) if r else ConfirmState.UNCONFIRMED.value
            g = graduation_state(r.result, r.confirmed_at, r.published_at) if r else "unaudited"
            python[sid] = (c, g)
        assert sql == python
        assert {sid: graduation.confirm_state(r) for sid, r in rows.items()} == {k: v[0] for k, v in python.items()}

        audit = aliased(GraduationAudit)
        for state in ConfirmState:  # the 毕业生列表 filter, and the same as an EXISTS probe
            want = {sid for sid, (c, _) in python.items() if c == state.value}
            listed = set(db.session.scalars(graduation.filtered_students_query({"confirm_state": state.value}, ALL)
                                            .with_only_columns(Student.id)))
            assert listed == want, state
            probed = set(db.session.scalars(select(Student.id).where(
                Student.id.in_(ids), confirm_state_exists(state.value, audit, audit.student_id == Student.id))))
            assert probed == want, state

        in_force = active_batches(db.session.scalars(select(GraduationBatch)))
        for s in students:
            want = in_force.get(batch_key(s.enrol_grade, s.study_grade, s.level))
            assert graduation.active_batch(s) is want
            assert (want is not None) is any(batch_matches(s, b) for b in batches)
        due_sql = set(db.session.scalars(select(Student.id).where(
            Student.id.in_(ids), exists().where(batch_matches_sql(Student, GraduationBatch)))))
        assert due_sql == {s.id for s in students if any(batch_matches(s, b) for b in batches)}

        # the dashboard's counts: SQL GROUP BY over the due students == the Python rule over the same students
        due = [s for s in students if rows[s.id] is not None or any(batch_matches(s, b) for b in batches)]
        counts = Counter(python[s.id][1] for s in due)
        (site,) = dashboard.state_counts(ALL, Student.site_id) or [{"counts": dict.fromkeys(dashboard.STATES, 0)}]
        assert {k: v for k, v in site["counts"].items() if v} == dict(counts)
    finally:
        db.session.rollback()


def test_a_published_row_is_never_listed_as_unconfirmed(world):
    """A result with 发布 time but no 确认 time (an imported graduate's row) reads 已毕业 everywhere: the
    确认状态 filter used to list it under 未确认 while the row itself said 已毕业."""
    row = factories.graduation_result(world.student1, published=True)
    row.confirmed_at = None
    db.session.commit()
    assert graduation.confirm_state(row) == ConfirmState.PUBLISHED.value
    for state in ConfirmState:
        listed = set(db.session.scalars(graduation.filtered_students_query({"confirm_state": state.value}, ALL)
                                        .with_only_columns(Student.id)))
        assert (world.student1.id in listed) is (state == ConfirmState.PUBLISHED), state
    assert dt.datetime(2024, 12, 20) == row.published_at

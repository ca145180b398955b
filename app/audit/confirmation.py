"""确认状态 of a graduation result and which 毕业批次 applies to a student — each once in Python and
once as SQL, side by side, so that pages, jobs, exports, the API and the dashboard cannot drift apart.

The SQL forms take the columns (or the mapped classes) they read, so this module imports no model;
``tests/rules/test_confirmation_sql.py`` checks both forms agree on SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, case, exists, false

from app.statuses import ConfirmState, EnrolmentStatus, GraduationResult, label

CONFIRM_LABELS = {m.value: label(m) for m in ConfirmState}  # code → 未确认 / 已确认 / 已毕业

_UNCONFIRMED = ConfirmState.UNCONFIRMED.value
_CONFIRMED = ConfirmState.CONFIRMED.value
_PUBLISHED = ConfirmState.PUBLISHED.value
_PRE = GraduationResult.PRE_GRADUATE.value
_FAILED = GraduationResult.FAILED.value
_UNAUDITED = GraduationResult.UNAUDITED.value
_GRADUATED = EnrolmentStatus.GRADUATED.value


def in_window(start: dt.datetime, end: dt.datetime, moment: dt.datetime) -> bool:
    """Whether ``moment`` lies in a batch's window (确认毕业时间, 学位申请时间): both ends included, all three
    in the same clock (local wall time, ``app.clock.local_now``)."""
    return start <= moment <= end


# --------------------------------------------------------------------------- 确认状态


def confirm_state(confirmed_at: dt.datetime | None, published_at: dt.datetime | None) -> str:
    """已毕业 once published, else 已确认 once confirmed, else 未确认 (also for a student without a result)."""
    if published_at is not None:
        return _PUBLISHED
    if confirmed_at is not None:
        return _CONFIRMED
    return _UNCONFIRMED


def confirm_state_sql(confirmed_at: Any, published_at: Any):
    """``confirm_state`` as a SQL CASE over the two columns (NULL columns of an outer join read 未确认)."""
    return case(
        (published_at.is_not(None), _PUBLISHED),
        (confirmed_at.is_not(None), _CONFIRMED),
        else_=_UNCONFIRMED,
    )


def confirm_state_is(state: str, confirmed_at: Any, published_at: Any):
    """``confirm_state(...) == state`` as a WHERE clause the planner can serve from the columns' indexes."""
    if state == _PUBLISHED:
        return published_at.is_not(None)
    if state == _CONFIRMED:
        return and_(confirmed_at.is_not(None), published_at.is_(None))
    if state == _UNCONFIRMED:
        return and_(confirmed_at.is_(None), published_at.is_(None))
    return false()


def confirm_state_exists(state: str, audit: Any, own: Any):
    """``confirm_state_is`` for a query over students that probes their audit row with EXISTS (``audit``: the
    audit table or an alias, ``own``: its join to the student). No row reads 未确认, as in ``confirm_state``."""
    if state == _UNCONFIRMED:
        return ~exists().where(own, ~confirm_state_is(_UNCONFIRMED, audit.confirmed_at, audit.published_at))
    return exists().where(own, confirm_state_is(state, audit.confirmed_at, audit.published_at))


def graduation_state(result: str | None, confirmed_at: dt.datetime | None, published_at: dt.datetime | None) -> str:
    """One state per student for the dashboard: 已毕业 > 已确认 > the audit result (none = 未审核)."""
    state = confirm_state(confirmed_at, published_at)
    if state != _UNCONFIRMED:
        return state
    if result == _PRE or result == _FAILED:
        return result
    return _UNAUDITED


def graduation_state_label(state: str) -> str:
    """The label of a ``graduation_state`` (已毕业 / 已确认 / 预毕业 / 不合格 / 未审核)."""
    if state in CONFIRM_LABELS and state != _UNCONFIRMED:
        return CONFIRM_LABELS[state]
    return label(state if state in (_PRE, _FAILED) else _UNAUDITED, GraduationResult)


def graduation_state_sql(result: Any, confirmed_at: Any, published_at: Any):
    """``graduation_state`` as a SQL CASE over the three columns."""
    return case(
        (published_at.is_not(None), _PUBLISHED),
        (confirmed_at.is_not(None), _CONFIRMED),
        (result == _PRE, _PRE),
        (result == _FAILED, _FAILED),
        else_=_UNAUDITED,
    )


def has_graduated(confirm: str | None, enrolment_status: str | None) -> bool:
    """已毕业: published by our graduation list, or imported with 学籍状态 毕业 (graduated before the platform)."""
    return confirm == _PUBLISHED or enrolment_status == _GRADUATED


# --------------------------------------------------------------------------- 毕业批次


BatchKey = tuple[int, int, str]


def batch_key(enrol_grade: int, study_grade: int, level: str) -> BatchKey:
    """What a student and a 毕业批次 are matched on: (学籍年级, 学习年级, 层次)."""
    return (int(enrol_grade), int(study_grade), str(level))


def batch_matches(student: Any, batch: Any) -> bool:
    """Whether a batch (its 学籍年级/学习年级/层次 scope) concerns a student (objects or rows with those fields)."""
    return (batch_key(student.enrol_grade, student.study_grade, student.level)
            == batch_key(batch.enrol_grade, batch.study_grade, batch.level))


def batch_matches_sql(student: Any, batch: Any):
    """``batch_matches`` as a SQL condition between two tables (mapped classes or aliases)."""
    return and_(
        batch.enrol_grade == student.enrol_grade,
        batch.study_grade == student.study_grade,
        batch.level == student.level,
    )


def active_batches(batches: Iterable[Any]) -> dict[BatchKey, Any]:
    """The batch in force per (学籍年级, 学习年级, 层次): the one with the highest id."""
    out: dict[BatchKey, Any] = {}
    for b in sorted(batches, key=lambda b: b.id):
        out[batch_key(b.enrol_grade, b.study_grade, b.level)] = b
    return out


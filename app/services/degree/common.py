"""Shared pieces of the degree workflow: constants, batches, time text, the actor's scope."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext
from sqlalchemy import and_, or_, select

from app.audit.degree import DegreeMarks
from app.clock import format_local
from app.extensions import db
from app.i18n import joined, period
from app.models import DegreeBatch, Student
from app.security import Scope, scope_of
from app.services.errors import NotAllowed
from app.statuses import DegreeConditionResult, Level, label

CHUNK = 500
AUDIT_CHUNK = 5000  # applications per transaction of the audit job (a whole fan-out chunk by default)
BACHELOR_LEVELS = (Level.HIGH_TO_BACHELOR.value, Level.JUNIOR_TO_BACHELOR.value)
NOT_AUDITED_TEXT = "学位条件审核尚未进行"
MET = DegreeConditionResult.MET.value
NOT_MET = DegreeConditionResult.NOT_MET.value
OUT_OF_SCOPE = "所选学位申请不存在或不在您的管理范围内"
NAMES_SHOWN = 10
NEWEST_BATCH_FIRST = (DegreeBatch.apply_start.desc(), DegreeBatch.id.desc())



def fmt_time(value: dt.datetime | None) -> str:
    """'YYYY-MM-DD HH:MM' of a stored (UTC) timestamp in Asia/Shanghai ('' for None)."""
    return format_local(value, "%Y-%m-%d %H:%M")


def _window_text(batch: DegreeBatch) -> str:
    return period(f"{batch.apply_start:%Y-%m-%d %H:%M:%S}", f"{batch.apply_end:%Y-%m-%d %H:%M:%S}")


# --------------------------------------------------------------------------- batches


def degree_level(level: str | None) -> bool:
    """Only 本科 students (高起本, 专升本) can ever get a degree; 高起专 never."""
    return level in BACHELOR_LEVELS


def batch_level_label(level: str | None) -> str:
    """How a batch's level scope reads: one level, or both 本科 levels when unset."""
    return label(level, Level) if level else "本科（高起本、专升本）"


def batch_covers(enrol_grade, level):
    """SQL over ``DegreeBatch``: the batch's scope holds a student of this 年级 and 层次 (values or ``Student``
    columns) — same 年级, and the batch's 层次 or none (both 本科 levels). ``batch_students_clause`` is the
    same rule for one known batch, over the students."""
    return and_(DegreeBatch.enrol_grade == enrol_grade, or_(DegreeBatch.level == level, DegreeBatch.level.is_(None)))


def active_batch(student: Student) -> DegreeBatch | None:
    """The latest batch whose grade and level scope contain the student (None for 高起专)."""
    if not degree_level(student.level):
        return None
    stmt = (
        select(DegreeBatch)
        .where(batch_covers(student.enrol_grade, student.level))
        .order_by(DegreeBatch.apply_start.desc(), DegreeBatch.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def latest_batch() -> DegreeBatch | None:
    """The batch the audit pages open on when none is chosen."""
    return db.session.scalar(select(DegreeBatch).order_by(*NEWEST_BATCH_FIRST).limit(1))


def batch_students_clause(batch: DegreeBatch):
    """SQL condition over ``Student``: the student is in this batch's grade and level scope (``batch_covers``
    from the batch's side, with its values inlined so the students' indexes serve it)."""
    levels = (batch.level,) if batch.level else BACHELOR_LEVELS
    return and_(
        Student.enrol_grade == batch.enrol_grade,
        Student.level.in_([lv for lv in levels if lv in BACHELOR_LEVELS]),
    )


def marks_of(batch: DegreeBatch) -> DegreeMarks:
    """The batch's pass marks; a mark the batch leaves empty takes the rules' default (``DegreeMarks``)."""
    default = DegreeMarks()
    return DegreeMarks(
        language_pass_mark=float(default.language_pass_mark if batch.language_pass_mark is None
                                 else batch.language_pass_mark),
        course_average_mark=float(default.course_average_mark if batch.course_average_mark is None
                                  else batch.course_average_mark),
    )


# --------------------------------------------------------------------------- roles and scope


def _admin_scope(actor) -> Scope:
    """The scope of an institution account; students and unknown accounts may not act here."""
    scope = scope_of(actor)
    if scope.kind not in ("all", "college", "site"):
        raise NotAllowed(gettext("没有权限进行此操作"))
    return scope


def _names(apps_or_students: Iterable[Any]) -> str:
    people = [getattr(x, "student", x) for x in apps_or_students]
    shown = joined((f"{s.name}（{s.student_no}）" for s in people[:NAMES_SHOWN]), "、")
    return shown + (gettext(" 等 %(n)s 人", n=len(people)) if len(people) > NAMES_SHOWN else "")



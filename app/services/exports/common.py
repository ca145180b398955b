"""What every export shares: chunk sizes, the messages, scoped ids and names in one query."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from app.clock import format_local
from app.exports import archive
from app.extensions import db
from app.models import (
    Student,
)
from app.security import Scope, student_scope_clause
from app.services.common import chunks

CHUNK = 200  # students per archive chunk (three small workbooks each)
ROWS_CHUNK = 1000  # rows per list chunk (the 汇总表 reads SUMMARY_CHUNK)
DEFAULT_SCHOOL = archive.DEFAULT_SCHOOL
OUT_OF_SCOPE = "所选学生不存在或不在您的管理范围内"
NO_DOCUMENT = "请至少选择一种导出文档"
NO_STUDENT = "当前筛选条件下没有学生"


def ids_in_scope(ids: Sequence[int], scope: Scope) -> list[int]:
    found: list[int] = []
    for chunk in chunks(list(ids), ROWS_CHUNK):
        found.extend(db.session.scalars(select(Student.id).where(Student.id.in_(chunk), student_scope_clause(scope))))
    return found


def names_of(model, ids: Iterable[int | None]) -> dict[int, str]:
    """id → name for a set of organisations or majors (one IN query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(wanted))).tuples().all())


def format_time(value: dt.datetime | None) -> str:
    return format_local(value, "%Y-%m-%d %H:%M")

"""Excel import of 课程替代与免修 (e.g. a class of 专升本 students with recognised credits).

Every row goes through the service's own validation (``exceptions.build``: plan course, passed substitute,
credits, score, one active exception per course, the importer's scope) before anything is written; the
import job writes the error report and nothing else when a row fails, or enters every row (待审核).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.imports.cells import text
from app.imports.reader import Row
from app.imports.validate import RowError
from app.models.student import Student
from app.security import scope_of, student_scope_clause
from app.services import exceptions
from app.services.common import chunks
from app.services.errors import DomainError

KIND = "exceptions"
NEW, UPDATED, SAME = "新增", "更新", "未变"
_FIELDS = {"课程代码": "course_code", "类型": "kind", "替代课程代码": "substitute_code",
           "来源院校": "source_institution", "来源课程名称": "source_course", "认定学分": "credits",
           "认定成绩": "score", "理由": "reason"}
_HEADERS = {key: header for header, key in _FIELDS.items()}


def _column(exc: DomainError) -> str:
    """The column a service error is about (its ``field``); 课程代码 when it names none."""
    return _HEADERS.get(exc.field or "", "课程代码")


def validate_rows(rows: Sequence[Row], actor: Any) -> tuple[list[dict], list[RowError]]:
    """Every row checked as the entry form checks it; (records, errors) — records (``ExceptionInput`` fields)
    count only without errors."""
    scope = scope_of(actor)
    numbers = sorted({text(values.get("学号")) for _n, values in rows} - {""})
    students: dict[str, int] = {}
    for chunk in chunks(numbers, 500):
        students.update(db.session.execute(select(Student.student_no, Student.id).where(
            Student.student_no.in_(chunk), student_scope_clause(scope))).tuples().all())
    records: list[dict] = []
    errors: list[RowError] = []
    seen: dict[tuple[int, str], int] = {}
    for n, values in rows:
        number = text(values.get("学号"))
        student_id = students.get(number)
        if student_id is None:
            errors.append(RowError(n, "学号", "学号不存在或不在您的管理范围内" if number else "学号不能为空", number))
            continue
        data = exceptions.ExceptionInput.from_mapping(
            student_id, {key: text(values.get(header)) for header, key in _FIELDS.items()})
        try:
            exceptions.build(data, scope)
        except DomainError as exc:
            errors.append(RowError(n, _column(exc), exc.message, values.get(_column(exc))))
            continue
        key = (student_id, data.course_code)
        if key in seen:
            errors.append(RowError(n, "课程代码", f"与第 {seen[key]} 行重复（同一学生同一课程）", data.course_code))
            continue
        seen[key] = n
        records.append(dataclasses.asdict(data))
    return records, errors


def apply_rows(records: list[dict], actor: Any) -> dict[str, int]:
    """Enter every validated row (待审核, each in the operation log); the job commits."""
    scope = scope_of(actor)
    for record in records:
        exceptions.create(exceptions.ExceptionInput(**record), actor=actor, scope=scope)
    return {NEW: len(records), UPDATED: 0, SAME: 0}

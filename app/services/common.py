"""Small helpers every service uses, once."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar, cast

from flask import current_app
from sqlalchemy import CursorResult, func, or_, select
from sqlalchemy.sql.dml import UpdateBase

from app.extensions import db
from app.ids import parse_id
from app.models.org import Major, Organisation
from app.models.student import Student
from app.services.errors import DomainError

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (a statement's IN list, a transaction's rows)."""
    if size < 1:
        raise ValueError(size)
    seq = items if isinstance(items, list) else list(items)
    for start in range(0, len(seq), size):
        yield seq[start:start + size]


def name_or_number(q: str):
    """The 姓名/学号 field of every filter bar: 学号 starting with ``q`` or 姓名 containing it (LIKE-escaped)."""
    return or_(Student.student_no.startswith(q, autoescape=True), Student.name.contains(q, autoescape=True))


def place_names(students: Iterable[Any]) -> tuple[dict[int, str], dict[int, str]]:
    """The names of the students' 专业 and 教学点 (id → name), one query each: a list page's cells without a
    query per row."""
    students = list(students)
    majors = dict(db.session.execute(select(Major.id, Major.name).where(
        Major.id.in_({s.major_id for s in students if s.major_id}))).tuples().all())
    sites = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({s.site_id for s in students if s.site_id}))).tuples().all())
    return majors, sites


def changed_rows(statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE and say how many rows it changed: the answer of a claim ("did I win?").
    ``Session.execute`` is typed as returning ``Result``; for a DML statement it is a ``CursorResult``."""
    return cast("CursorResult[Any]", db.session.execute(statement)).rowcount


def security_manager() -> Any:
    """Flask-AppBuilder's security manager of the running app. FAB registers itself in ``app.extensions``
    (and as ``app.appbuilder``, which Flask's type does not know)."""
    return current_app.extensions["appbuilder"].sm


def count_rows(stmt: Any) -> int:
    """How many rows a SELECT gives (one COUNT over it as a subquery, its ORDER BY dropped)."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def posted_ids(values: Iterable[Any] | None, refused: DomainError) -> list[int]:
    """Ids posted by a page or the API as distinct ints, in order; blanks are skipped, and anything that is
    not a row id (text, a sign, a number past INTEGER) raises ``refused`` — the caller's own error."""
    out: list[int] = []
    seen: set[int] = set()
    for v in values or ():
        text = str(v).strip()
        if not text:
            continue
        number = parse_id(text)
        if number is None:
            raise refused
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out

"""The 毕业审核管理 filter in one place: cleaning, its SQL, the students it selects, its Chinese description."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask_babel import gettext
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased, joinedload

from app.audit import confirmation
from app.audit.confirmation import CONFIRM_LABELS
from app.extensions import db
from app.ids import parse_id
from app.models.graduation import GraduationAudit
from app.models.org import Major, Organisation
from app.models.student import Student
from app.security import Scope, student_scope_clause
from app.services.common import chunks, name_or_number, posted_ids
from app.services.errors import DomainError
from app.services.graduation.results import CHUNK, UNAUDITED
from app.statuses import (
    LABELS,
    GraduationResult,
    Level,
    label,
)

FILTER_KEYS = ("enrol_grade", "study_grade", "level", "site_id", "major_id", "result", "q", "confirm_state")
_INT_KEYS = {"enrol_grade", "study_grade", "site_id", "major_id"}
MAX_TICKED = 100_000  # ticked ids a bulk action carries (a list page ticks at most PAGE_SIZE_MAX)


def clean_filters(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keep only known, well-formed filter values (plain, JSON-serialisable: jobs carry them).

    Unknown keys and malformed values are dropped rather than refused: a filter never widens
    the scope, it only narrows it. ``student_ids`` (the ticked rows of a bulk action, already
    checked against the scope by the view) is kept as a sorted list of ints.
    """
    out: dict[str, Any] = {}
    for key in FILTER_KEYS:
        value = (raw or {}).get(key)
        if value is None:
            continue
        value = str(value).strip()
        if not value:
            continue
        if key in _INT_KEYS:
            number = parse_id(value)
            if number is not None:
                out[key] = number
        elif key == "level":
            if value in {m.value for m in Level}:
                out[key] = value
        elif key == "result":
            if value in {m.value for m in GraduationResult}:
                out[key] = value
        elif key == "confirm_state":
            if value in CONFIRM_LABELS:
                out[key] = value
        elif key == "q":
            out[key] = value[:50]
    ticked = (raw or {}).get("student_ids")
    if isinstance(ticked, (list, tuple)) and ticked:
        ids = sorted({n for n in (parse_id(str(v)) for v in ticked[:MAX_TICKED]) if n is not None})
        if ids:
            out["student_ids"] = ids
    return out


def filter_clauses(filters: Mapping[str, Any] | None) -> list:
    """The filter bar as SQL conditions over ``Student`` (the audit row is probed with EXISTS).

    The one filter→SQL translation: ``filtered_students_query`` (jobs, 一键确认毕业, exports) and the
    FAB filters of the 毕业审核管理 / 毕业生列表 pages both use it, so a page and its bulk action
    can never disagree about who "the current filter" is. A student without an audit row counts
    as 未审核 and 未确认.
    """
    f = clean_filters(filters)
    audit = aliased(GraduationAudit)  # its own name: the query may join graduation_audit too
    own = audit.student_id == Student.id
    out = []
    if "enrol_grade" in f:
        out.append(Student.enrol_grade == f["enrol_grade"])
    if "study_grade" in f:
        out.append(Student.study_grade == f["study_grade"])
    if "level" in f:
        out.append(Student.level == f["level"])
    if "site_id" in f:
        out.append(Student.site_id == f["site_id"])
    if "major_id" in f:
        out.append(Student.major_id == f["major_id"])
    if "result" in f:
        if f["result"] == UNAUDITED:
            out.append(~exists().where(own, audit.result != UNAUDITED))
        else:
            out.append(exists().where(own, audit.result == f["result"]))
    if "confirm_state" in f:
        out.append(confirmation.confirm_state_exists(f["confirm_state"], audit, own))
    if "q" in f:
        out.append(name_or_number(f["q"]))
    if "student_ids" in f:
        out.append(Student.id.in_(f["student_ids"]))
    return out


def filtered_students_query(filters: Mapping[str, Any] | None, scope: Scope, *, with_related: bool = False):
    """The one filter→query function: ``select(Student, GraduationAudit)`` limited to the scope.

    Args:
        filters: Raw or cleaned filter values (学籍年级, 学习年级, 层次, 教学点, 专业, 毕业审核结果,
            姓名/学号, 确认状态 for 毕业生列表, and the ticked ``student_ids`` of a bulk action).
        scope: Whose students may be seen; applied through ``student_scope_clause`` always.
        with_related: Eager-load 专业 and 教学点 (for pages) in the same query.

    Returns:
        A ``Select`` ordered by 学号; use ``.with_only_columns(Student.id)`` for ids.
    """
    stmt = (
        select(Student, GraduationAudit)
        .outerjoin(GraduationAudit, GraduationAudit.student_id == Student.id)
        .where(student_scope_clause(scope), *filter_clauses(filters))
    )
    if with_related:
        stmt = stmt.options(joinedload(Student.major), joinedload(Student.site))
    return stmt.order_by(Student.student_no, Student.id)


def count_query(stmt) -> int:
    """Row count of a filtered query (one COUNT over its id column)."""
    ids = stmt.with_only_columns(Student.id).order_by(None)
    return db.session.scalar(select(func.count()).select_from(ids.subquery())) or 0


def filter_options(scope: Scope) -> dict[str, list[tuple[Any, str]]]:
    """Dropdown options of the filter bar, only from the students the scope may see.

    Sites and majors are EXISTS probes on the student indexes (one per organisation/major, not a scan
    of every student); the grades see ``grade_options``.
    """
    clause = student_scope_clause(scope)
    sites = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(exists().where(Student.site_id == Organisation.id, clause))
        .order_by(Organisation.code)
    ).all()
    majors = db.session.execute(
        select(Major.id, Major.name)
        .where(exists().where(Student.major_id == Major.id, clause))
        .order_by(Major.code)
    ).all()
    enrol, study = grade_options(clause)
    return {
        "enrol_grade": [(g, f"{g}级") for g in enrol],
        "study_grade": [(g, f"{g}级") for g in study],
        "level": [(m.value, LABELS[m]) for m in Level],
        "site_id": [(i, n) for i, n in sites],
        "major_id": [(i, n) for i, n in majors],
        "result": [(m.value, LABELS[m]) for m in GraduationResult],
        "confirm_state": list(CONFIRM_LABELS.items()),
    }


def grade_options(clause) -> tuple[list[int], list[int]]:
    """学籍年级 and 学习年级 choices, newest first: every year from the earliest to the latest grade.

    Four index probes (min/max of each grade) instead of a DISTINCT over every student the scope
    sees, which cost more than the rest of the page at 100,000 students. A year between two
    cohorts without students is offered too; choosing it simply lists nobody.
    """
    lo_e, hi_e, lo_s, hi_s = db.session.execute(
        select(func.min(Student.enrol_grade), func.max(Student.enrol_grade),
               func.min(Student.study_grade), func.max(Student.study_grade)).where(clause)
    ).one()
    enrol = list(range(hi_e, lo_e - 1, -1)) if lo_e is not None else []
    study = list(range(hi_s, lo_s - 1, -1)) if lo_s is not None else []
    return enrol, study


def parse_ids(values: Iterable[Any]) -> list[int]:
    """Posted ``ids`` as distinct ints; anything malformed is a bad request."""
    return posted_ids(values, DomainError(gettext("所选学生编号无效")))


def ids_in_scope(student_ids: Sequence[int], scope: Scope) -> list[int]:
    """The subset of ``student_ids`` the scope may see."""
    found: list[int] = []
    for chunk in chunks(list(student_ids), CHUNK):
        found.extend(db.session.scalars(select(Student.id).where(Student.id.in_(chunk), student_scope_clause(scope))))
    return found


def all_in_scope(student_ids: Sequence[int], scope: Scope) -> bool:
    """True when every id exists and is visible to the scope (views answer 404 otherwise)."""
    return len(set(ids_in_scope(student_ids, scope))) == len(set(student_ids))


def resolve_student_ids(params: Mapping[str, Any]) -> list[int]:
    """Student ids of a job: the selected ids or the filter, always re-checked against the scope."""
    scope = Scope.from_params(params.get("scope"))
    if params.get("student_ids"):
        return sorted(set(ids_in_scope([int(i) for i in params["student_ids"]], scope)))
    stmt = filtered_students_query(params.get("filters") or {}, scope).with_only_columns(Student.id)
    return list(db.session.scalars(stmt))


def describe(filters: Mapping[str, Any] | None, student_ids: Sequence[int] | None = None) -> str:
    """Human-readable scope of a task in the page's own labels (任务中心 shows it)."""
    f = clean_filters(filters)
    ticked = list(student_ids or f.get("student_ids") or [])
    if ticked:
        return f"已勾选 {len(ticked)} 名学生"
    parts = []
    if "enrol_grade" in f:
        parts.append(f"学籍年级 {f['enrol_grade']}")
    if "study_grade" in f:
        parts.append(f"学习年级 {f['study_grade']}")
    if "level" in f:
        parts.append(f"层次 {label(f['level'], Level)}")
    if "site_id" in f:
        org = db.session.get(Organisation, f["site_id"])
        parts.append(f"教学点 {org.name if org else f['site_id']}")
    if "major_id" in f:
        major = db.session.get(Major, f["major_id"])
        parts.append(f"专业 {major.name if major else f['major_id']}")
    if "result" in f:
        parts.append(f"毕业审核结果 {label(f['result'], GraduationResult)}")
    if "confirm_state" in f:
        parts.append(f"确认状态 {CONFIRM_LABELS[f['confirm_state']]}")
    if "q" in f:
        parts.append(f"姓名/学号 {f['q']}")
    return "筛选：" + ("，".join(parts) if parts else "全部")

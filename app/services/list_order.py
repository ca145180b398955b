"""How the workflow lists sort: per list, FAB's order column (the name in ``?_oc_<View>=``) → the SQL of what
that column shows.

A column sorts by what the page shows, not by what the row stores: 专业 and 教学点 by their names (not their
ids), 毕业审核结果 / 层次 / 状态 … in their fixed order (the enum's: 未审核, 预毕业, 不合格), never by the spelling
of their codes, and a student without a graduation_audit row as 未审核 / 未确认, exactly as
``list_pages.graduation_rows`` and ``degree.application_rows`` show them. Cells that may be empty (毕业证书编号
before 发布, 开始时间 of a queued task) sort last both ways, the same on SQLite and PostgreSQL. Ties are broken by
the row's id so that paging through a sorted list neither skips nor repeats a row.

The expressions are correlated scalar subqueries over the list's own rows (one index lookup per row: the
primary key of ``major`` / ``organisation``, the unique ``graduation_audit.student_id``), so a list's filter
and count stay as they are. A column absent from a mapping is the model's own column of that name.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import asc, case, desc, func, select
from sqlalchemy.orm import aliased

from app.audit.confirmation import confirm_state_sql
from app.models.account import Account
from app.models.degree import DegreeApplication
from app.models.graduation import GraduationAudit
from app.models.org import Major, Organisation
from app.models.student import Student
from app.models.task import Task
from app.statuses import (
    ConfirmState,
    DegreeConditionResult,
    EnrolmentStatus,
    GraduationResult,
    Level,
    ReviewOpinion,
    TaskKind,
    TaskState,
)


@dataclass(frozen=True)
class EmptyLast:
    """An order expression that may be NULL: its empty cells come last, ascending and descending (SQLite puts
    NULL first and PostgreSQL last unless told)."""

    expr: Any


def rank(expr, codes: Iterable[Enum]):
    """A code column in its enum's order (未审核 < 预毕业 < 不合格), not alphabetically by its code; NULL stays NULL."""
    return case({c.value: i for i, c in enumerate(codes)}, value=expr, else_=None)


_major = aliased(Major, name="sort_major")
_site = aliased(Organisation, name="sort_site")
_audit = aliased(GraduationAudit, name="sort_audit")
_user = aliased(Account, name="sort_user")

MAJOR_NAME = select(_major.name).where(_major.id == Student.major_id).correlate(Student).scalar_subquery()
SITE_NAME = select(_site.name).where(_site.id == Student.site_id).correlate(Student).scalar_subquery()


def _of_audit(column):
    """One column of the student's graduation_audit row (NULL without a row)."""
    return select(column).where(_audit.student_id == Student.id).correlate(Student).scalar_subquery()


# 毕业审核管理, 毕业生列表, 毕业生档案管理 (over Student)
STUDENT_ORDER: dict[str, Any] = {
    "major": MAJOR_NAME,
    "site": SITE_NAME,
    "level": rank(Student.level, Level),
    "status": rank(Student.status, EnrolmentStatus),
    "synced_at": EmptyLast(Student.synced_at),
    # 毕业审核结果 as shown: the stored (effective, overrides included) result; no row reads 未审核
    "result": rank(func.coalesce(_of_audit(_audit.result), GraduationResult.UNAUDITED.value), GraduationResult),
    # 是否手工修改: 否 before 是
    "override": func.coalesce(_of_audit(case((_audit.override_result.is_not(None), 1), else_=0)), 0),
    # 确认状态 as shown (app.audit.confirmation's one rule, in SQL); no row reads 未确认
    "confirm_state": rank(func.coalesce(_of_audit(confirm_state_sql(_audit.confirmed_at, _audit.published_at)),
                                        ConfirmState.UNCONFIRMED.value), ConfirmState),
    "diploma_no": EmptyLast(_of_audit(_audit.diploma_no)),
    "graduation_date": EmptyLast(_of_audit(_audit.graduation_date)),
}

# 学位申请审核管理, 学位授予管理 (over DegreeApplication joined to its Student); the names are FAB's URL names
APPLICATION_ORDER: dict[str, Any] = {
    "student.major_id": MAJOR_NAME,
    "student.site_id": SITE_NAME,
    "student.level": rank(Student.level, Level),
    "result": rank(DegreeApplication.result, DegreeConditionResult),
    "review_opinion": EmptyLast(rank(DegreeApplication.review_opinion, ReviewOpinion)),
    "final_at": EmptyLast(DegreeApplication.final_at),
    "published_at": EmptyLast(DegreeApplication.published_at),
    "degree_no": EmptyLast(DegreeApplication.degree_no),
    "granted_on": EmptyLast(DegreeApplication.granted_on),
}

# 学位申请审核管理's 未申请 (over Student)
UNAPPLIED_ORDER: dict[str, Any] = {"major_id": MAJOR_NAME, "site_id": SITE_NAME, "level": rank(Student.level, Level)}

# 任务中心 (over Task)
TASK_ORDER: dict[str, Any] = {
    "kind": rank(Task.kind, TaskKind),
    "state": rank(Task.state, TaskState),
    "requested_by": select(_user.username).where(_user.id == Task.requested_by_id).correlate(Task).scalar_subquery(),
    "started_at": EmptyLast(Task.started_at),
    "finished_at": EmptyLast(Task.finished_at),
}


def order_expression(orders: Mapping[str, Any], model, column: str):
    """The SQL a list sorts by for ``column``: the mapping's, else the model's (or its student's) own column."""
    if column in orders:
        return orders[column]
    table, _, name = column.rpartition(".")
    return getattr(Student if table == "student" else model, name)


def order_clauses(orders: Mapping[str, Any], model, column: str, direction: str) -> list:
    """ORDER BY for a list sorted by ``column`` ``direction`` ("asc"/"desc"): the column, then the row's id.

    A unique column (学号) needs no tie-break, which keeps its index usable for the default order.
    """
    expr = order_expression(orders, model, column)
    way = asc if direction == "asc" else desc
    if isinstance(expr, EmptyLast):
        return [way(expr.expr).nulls_last(), way(model.id)]
    own = getattr(expr, "expression", None)
    if getattr(own, "unique", False) or getattr(own, "primary_key", False):
        return [way(expr)]
    return [way(expr), way(model.id)]

"""How the workflow lists sort: per list, FAB's order column (the name in ``?_oc_<View>=``) → the SQL of what
that column shows.

A column sorts by what the page shows, not by what the row stores: 专业 and 教学点 by their names (not their
ids), 毕业审核结果 / 层次 / 状态 … in their fixed order (the enum's: 未审核, 预毕业, 不合格), never by the spelling
of their codes, and a student without a graduation_audit row as 未审核 / 未确认, exactly as
``list_pages.graduation_rows`` and ``degree.application_rows`` show them. Cells that may be empty (毕业证书编号
before 发布, 开始时间 of a queued task) sort last both ways, the same on SQLite and PostgreSQL. Ties are broken by
the row's id so that paging through a sorted list neither skips nor repeats a row.

A column over another table (专业, 教学点, the audit row, 提交人) outer-joins that table for the sort only, on its
primary key or a unique column, so no row is repeated and the filter and count stay as they are. A join, not a
correlated subquery: PostgreSQL runs a subquery once per row (≈ 250 ms over 100,000 students) where it hashes a
join (≈ 35 ms). A column absent from a mapping is the model's own column of that name.

Two figures the degree lists compute rather than store, 学位外语成绩 and 学位课程平均分, have no column to join:
they sort by the SQL forms of their rules (``audit.language.language_sort_sql``,
``audit.degree.degree_course_average_sql``, proven equal to the Python the page shows by
tests/rules/test_degree_figures_sql.py), correlated subqueries per row by nature (``per_row``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import asc, case, desc, func, text
from sqlalchemy.orm import aliased

from app.audit.confirmation import confirm_state_sql
from app.audit.degree import degree_course_average_sql
from app.audit.language import language_sort_sql
from app.models.account import Account
from app.models.degree import DegreeApplication
from app.models.exception import CourseException
from app.models.grade import Grade, LanguageScore
from app.models.graduation import GraduationAudit
from app.models.org import Major, Organisation
from app.models.plan import PlanCourse, TeachingPlan
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
class Order:
    """What a column sorts by when it is more than a plain column of the list's rows.

    ``joins``: (table, on) pairs outer-joined for the sort, each giving at most one row per listed row.
    ``empty_last``: the expression may be NULL and its empty cells come last, ascending and descending (SQLite
    puts NULL first and PostgreSQL last unless told).
    ``then``: further keys for the rows the first leaves equal, in the same direction, NULLs last.
    ``per_row``: a correlated subquery per listed row (the degree figures): on PostgreSQL the page query
    then runs without JIT (``without_jit``).
    """

    expr: Any
    joins: tuple = ()
    empty_last: bool = False
    then: tuple = ()
    per_row: bool = False


def rank(expr, codes: Iterable[Enum]):
    """A code column in its enum's order (未审核 < 预毕业 < 不合格), not alphabetically by its code; NULL stays NULL."""
    return case({c.value: i for i, c in enumerate(codes)}, value=expr, else_=None)


_major = aliased(Major, name="sort_major")
_site = aliased(Organisation, name="sort_site")
_audit = aliased(GraduationAudit, name="sort_audit")
_user = aliased(Account, name="sort_user")

MAJOR_NAME = Order(_major.name, ((_major, _major.id == Student.major_id),))
SITE_NAME = Order(_site.name, ((_site, _site.id == Student.site_id),))
_AUDIT_ROW = ((_audit, _audit.student_id == Student.id),)  # graduation_audit.student_id is unique


# 毕业审核管理, 毕业生列表, 毕业生档案管理 (over Student)
STUDENT_ORDER: dict[str, Any] = {
    "major": MAJOR_NAME,
    "site": SITE_NAME,
    "level": rank(Student.level, Level),
    "status": rank(Student.status, EnrolmentStatus),
    "synced_at": Order(Student.synced_at, empty_last=True),
    # 毕业审核结果 as shown: the stored (effective, overrides included) result; no row reads 未审核
    "result": Order(rank(func.coalesce(_audit.result, GraduationResult.UNAUDITED.value), GraduationResult),
                    _AUDIT_ROW),
    # 是否手工修改: 否 before 是
    "override": Order(case((_audit.override_result.is_not(None), 1), else_=0), _AUDIT_ROW),
    # 确认状态 as shown (app.audit.confirmation's one rule in SQL; the NULLs of a missing row read 未确认)
    "confirm_state": Order(rank(confirm_state_sql(_audit.confirmed_at, _audit.published_at), ConfirmState),
                           _AUDIT_ROW),
    "diploma_no": Order(_audit.diploma_no, _AUDIT_ROW, empty_last=True),
    "graduation_date": Order(_audit.graduation_date, _AUDIT_ROW, empty_last=True),
}

# 学位外语成绩: the best own score; then, without one, the rows showing a substitute (大学英语四级（替代）) before
# the empty ones, both ways (``language_sort_sql``)
_LANGUAGE_BEST, _LANGUAGE_SUBSTITUTE = language_sort_sql(Student, language_score=LanguageScore)
# 学位课程平均分 as shown (approved course exceptions included; none without a plan or a score)
_AVERAGE = degree_course_average_sql(Student, grade=Grade, plan=TeachingPlan, plan_course=PlanCourse,
                                     exception=CourseException)

# 学位申请审核管理, 学位授予管理 (over DegreeApplication joined to its Student); the names are FAB's URL names
APPLICATION_ORDER: dict[str, Any] = {
    "language": Order(_LANGUAGE_BEST, empty_last=True, then=(_LANGUAGE_SUBSTITUTE,), per_row=True),
    "average": Order(_AVERAGE, empty_last=True, per_row=True),
    "student.major_id": MAJOR_NAME,
    "student.site_id": SITE_NAME,
    "student.level": rank(Student.level, Level),
    "result": rank(DegreeApplication.result, DegreeConditionResult),
    "review_opinion": Order(rank(DegreeApplication.review_opinion, ReviewOpinion), empty_last=True),
    "final_at": Order(DegreeApplication.final_at, empty_last=True),
    "published_at": Order(DegreeApplication.published_at, empty_last=True),
    "degree_no": Order(DegreeApplication.degree_no, empty_last=True),
    "granted_on": Order(DegreeApplication.granted_on, empty_last=True),
}

# 学位申请审核管理's 未申请 (over Student)
UNAPPLIED_ORDER: dict[str, Any] = {"major_id": MAJOR_NAME, "site_id": SITE_NAME, "level": rank(Student.level, Level)}

# 任务中心 (over Task)
TASK_ORDER: dict[str, Any] = {
    "kind": rank(Task.kind, TaskKind),
    "state": rank(Task.state, TaskState),
    "requested_by": Order(_user.username, ((_user, _user.id == Task.requested_by_id),)),
    "started_at": Order(Task.started_at, empty_last=True),
    "finished_at": Order(Task.finished_at, empty_last=True),
}


def order_of(orders: Mapping[str, Any], model, column: str) -> Order:
    """What a list sorts by for ``column``: the mapping's, else the model's (or its student's) own column."""
    if column in orders:
        found = orders[column]
        return found if isinstance(found, Order) else Order(found)
    table, _, name = column.rpartition(".")
    return Order(getattr(Student if table == "student" else model, name))


def ordering(orders: Mapping[str, Any], model, column: str, direction: str) -> tuple[tuple, list]:
    """The outer joins and the ORDER BY for a list sorted by ``column`` ``direction`` ("asc"/"desc"): the column,
    then the row's id. A unique column of the rows themselves (学号 of a student list) needs no tie-break, which
    keeps its index usable for the default order."""
    order = order_of(orders, model, column)
    way = asc if direction == "asc" else desc
    first = way(order.expr).nulls_last() if order.empty_last else way(order.expr)
    own = getattr(order.expr, "expression", None)
    if own is not None and getattr(own, "table", None) is model.__table__ and (own.unique or own.primary_key):
        return order.joins, [first]
    return order.joins, [first, *(way(key).nulls_last() for key in order.then), way(model.id)]


def without_jit(session) -> None:
    """On PostgreSQL, no JIT compilation for the rest of the session's transaction (the list request).

    A ``per_row`` sort key runs a correlated subquery per listed row: over a whole year's batch (30,000
    applications) its estimated cost passes ``jit_optimize_above_cost`` and compiling took 0.5–0.9 s,
    longer than the rest of the query. Elsewhere nothing to do.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))

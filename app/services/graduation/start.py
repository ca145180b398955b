"""Starting a 同步课程数据 / 毕业审核 / 发布 task for a filter or ticked students."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext

from app.models.account import Account
from app.models.task import Task
from app.security import Scope, role_of
from app.services import tasks
from app.services.errors import DomainError, NotAllowed, NotFound
from app.services.graduation.filters import (
    all_in_scope,
    clean_filters,
    count_query,
    describe,
    filtered_students_query,
    resolve_student_ids,
)
from app.statuses import (
    RoleName,
)


def start_task(kind: str, *, actor: Account, scope: Scope, filters: Mapping[str, Any] | None,
               student_ids: Sequence[int] | None = None) -> Task:
    """Create (flush, not commit) a sync/audit/publish task for the filter or the selected students.

    Raises:
        DomainError: when the filter matches nobody (no task is created).
        Conflict: when the same kind of task is already open for the actor's organisation.
    """
    f = clean_filters(filters)
    ids = list(student_ids or [])
    if kind == "graduation_publish" and role_of(actor) != RoleName.CE_ADMIN.value:
        raise NotAllowed(gettext("只有继教院管理员可以发布毕业名单"))
    if ids:
        if not all_in_scope(ids, scope):
            raise NotFound(gettext("所选学生不存在或不在您的管理范围内"))
        total = len(ids)
    else:
        total = count_query(filtered_students_query(f, scope))
    if total == 0:
        raise DomainError(gettext("当前筛选条件下没有学生，未创建任务"))
    params: dict[str, Any] = {"scope": scope.to_params()}
    if ids:
        params["student_ids"] = ids
    else:
        params["filters"] = f
    return tasks.create_task(kind, actor=actor, params=params, scope_text=describe(f, ids),
                             lock_key=tasks.lock_key_for(kind, actor), total=total)


def task_student_ids(task: Task) -> list[int]:
    """The task's students, resolved once when it fans out (filter or ids, re-checked against the scope)."""
    return resolve_student_ids(task.params or {})

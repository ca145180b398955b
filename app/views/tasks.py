"""任务中心: the background tasks of the user's organisation (the CE admin sees all).

The list is a FAB ModelView over Task whose base filter is the organisation scope; every other route
loads tasks through ``_scoped()``: another organisation's task id gives 404, whether it is listed,
polled, downloaded or retried.
"""
from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from sqlalchemy import select

from app import storage
from app.clock import format_local
from app.extensions import db
from app.ids import parse_id
from app.jobs import runner
from app.models.task import Task
from app.security import current_scope, task_scope_clause
from app.services import list_order, tasks
from app.services.tasks import summary_text
from app.statuses import TaskState
from app.views.scoped import PAGE_SIZES, ClampedModelView, WorkflowListWidget

PAGE_SIZE = 20
_OPEN = (TaskState.QUEUED.value, TaskState.RUNNING.value)


def state_text(task: Task) -> str:
    """排队中 / 执行中 / 处理成功 / 失败 — the manual says 处理成功 for a finished task."""
    return "处理成功" if task.state == TaskState.SUCCEEDED.value else task.state_label


def task_json(task: Task) -> dict:
    """What the polling script needs to redraw one row."""
    return {
        "id": task.id,
        "state": task.state,
        "state_text": state_text(task),
        "done": task.done,
        "total": task.total,
        "percent": task.percent,
        "summary": summary_text(task.summary),
        "error": task.error or "",
        "started_at": format_local(task.started_at),
        "finished_at": format_local(task.finished_at),
        "download_url": url_for("TaskView.download", pk=task.id) if task.result_path else "",
        "open": task.state in _OPEN,
    }


class TaskScopeFilter(BaseFilter):
    """Base filter of 任务中心: the user's organisation's tasks (the CE admin's: all)."""

    name = "scope"
    arg_name = "task_scope"

    def apply(self, query, value):
        return query.filter(task_scope_clause(current_scope()))


class TaskListWidget(WorkflowListWidget):
    """The task table (polled by app.js) with FAB's sort links and pager."""

    template = "tasks/widget.html"


class TaskView(ClampedModelView):
    """任务中心 as a FAB list over Task (scoped by organisation), its JSON status endpoint, downloads and retries."""

    datamodel = SQLAInterface(Task)
    route_base = "/tasks"
    list_title = "任务中心"
    base_filters = [["id", TaskScopeFilter, lambda: None]]
    base_order = ("created_at", "desc")
    list_columns = ["id", "kind", "scope_text", "requested_by", "created_at", "started_at", "finished_at", "state"]
    # every column sorts (app.services.list_order.TASK_ORDER: 任务类型 and 状态 in their fixed order, 提交人 by the
    # name shown, empty 开始/结束时间 last; ties by 编号)
    order_columns = ["id", "kind", "scope_text", "requested_by", "created_at", "started_at", "finished_at", "state"]
    orders = list_order.TASK_ORDER
    search_columns = ["kind", "state"]
    label_columns = {"id": "编号", "kind": "任务类型", "scope_text": "范围", "requested_by": "提交人",
                     "created_at": "提交时间", "started_at": "开始时间", "finished_at": "结束时间", "state": "状态"}
    list_widget = TaskListWidget
    page_size = PAGE_SIZE
    page_size_limit = max(PAGE_SIZES)
    include_route_methods = {"list", "status", "download", "retry"}

    def _scoped(self, pk: int) -> Task:
        task = db.session.scalar(select(Task).where(Task.id == pk, task_scope_clause(current_scope())))
        if task is None:
            abort(404)
        return task

    @expose("/list/")
    @expose("/")  # the manual's address, registered first
    @has_access
    def list(self):
        """Newest first, FAB's pages; dead workers' tasks are marked 失败 before they are shown."""
        return self.render_template("tasks/list.html", title="任务中心", widgets=self._list())

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        widgets = widgets or {}
        page, page_size, count, rows = self.sorted_list(filters, order_column, order_direction, page, page_size)
        tasks.reap_stale([t for t in rows if t.state in _OPEN])
        widgets["list"] = self.list_widget(
            route_base=self.route_base, label_columns=self.label_columns, include_columns=self.list_columns,
            value_columns=[], order_columns=self.order_columns, formatters_columns={}, page=page,
            page_size=page_size, count=count, pks=[t.id for t in rows], actions={}, filters=filters,
            modelview_name=self.__class__.__name__, rows=rows, kinds=tasks.TASK_KINDS, state_text=state_text,
            summary_text=summary_text, failed=TaskState.FAILED.value, open_states=_OPEN,
        )
        return widgets

    @expose("/status")
    @has_access
    def status(self):
        """JSON state of the listed tasks (``?ids=1,2``); any id outside the scope makes it a 404."""
        ids = set()
        for part in [p.strip() for p in (request.args.get("ids") or "").split(",") if p.strip()][:100]:
            number = parse_id(part)
            if number is None:
                abort(404)
            ids.add(number)
        rows = db.session.scalars(
            select(Task).where(Task.id.in_(ids), task_scope_clause(current_scope())).order_by(Task.id)
        ).all() if ids else []
        if len(rows) != len(ids):
            abort(404)
        tasks.reap_stale([t for t in rows if t.state in _OPEN])
        return jsonify(tasks=[task_json(t) for t in rows])

    @expose("/download/<int:pk>")
    @has_access
    def download(self, pk):
        """The task's result file under its (possibly Chinese) name."""
        task = self._scoped(pk)
        if not task.result_path:
            abort(404)
        try:
            path = storage.resolve(task.result_path)
        except FileNotFoundError:
            abort(404)
        if not path.is_file():
            abort(404)
        name = task.result_name or path.name
        return send_file(path, as_attachment=True, download_name=name, max_age=0)

    @expose("/retry/<int:pk>", methods=["POST"])
    @has_access
    def retry(self, pk):
        """Run a failed task again as a new task with the same parameters."""
        task = self._scoped(pk)
        new = tasks.retry(task, actor=g.user)  # Conflict unless failed: flashed, nothing changed
        runner.submit(new)
        flash(gettext("已重新提交任务（编号 %(id)s）", id=new.id), "success")
        return redirect(url_for(".list"))


def register(appbuilder) -> None:
    appbuilder.add_view(TaskView(), "任务中心", label="任务中心", icon="fa-tasks")

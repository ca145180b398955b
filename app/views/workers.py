"""系统管理 → 后台进程 (CE admin only, through FAB_ROLES): the ``rq worker``s listening to the job queue.

Thin: ``app.services.workers.worker_liveness`` asks Redis; this page shows the answer. Kept out of
任务中心 (app.views.tasks) for now; it may move there once that list is a ModelView.
"""
from __future__ import annotations

from flask_appbuilder import BaseView, expose, has_access

from app.services.workers import STALE_AFTER, worker_liveness

CATEGORY = "系统管理"  # the menu of 账号管理 and 操作日志 (app.views.admin)


class WorkerView(BaseView):
    route_base = "/workers"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        return self.render_template("workers/index.html", title="后台进程", live=worker_liveness(),
                                    stale_seconds=int(STALE_AFTER.total_seconds()))


def register(appbuilder) -> None:
    appbuilder.add_view(WorkerView(), "后台进程", label="后台进程", icon="fa-server", category=CATEGORY)

"""Exports: 毕业生档案管理 (menu 毕业相关) and the POST route that starts the non-FAB lists' exports.

Thin views: they read the filter and the ticked ids, let ``app.services.exports`` validate them
against the scope (404 for any id outside it, nothing created), commit the task and submit it.
The file itself is served by 任务中心's download route.
"""
from __future__ import annotations

from flask import abort, g, has_request_context, redirect, request
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.filters import BaseFilter

from app.models.student import Student
from app.security import current_scope
from app.services import exports
from app.statuses import EnrolmentStatus
from app.views.bulk import Selection, bulk_action
from app.views.commands import submit_task
from app.views.errors import back_url
from app.views.graduation import StudentBarListView, StudentListWidget
from app.views.scoped import StudentScopeFilter

SUBMITTED = "导出任务已提交，可在任务中心查看和下载"
ADMIN_SCOPES = ("all", "college", "site")
# list → (permission, view) the requester needs on the page whose rows are exported
LIST_PAGES = {
    "students": ("can_list", "StudentView"),
    "graduation": ("can_list", "GraduationAuditView"),
    "graduates": ("can_list", "GraduateListView"),
    "oplog": ("can_list", "OperationLogView"),
}


def _admin_scope():
    """The requester's scope; only institution accounts export (students get 403)."""
    scope = current_scope()
    if scope.kind not in ADMIN_SCOPES:
        abort(403)
    return scope


def _submit(start) -> None:
    """Create the task through ``start()`` and hand it to the one task path (app/views/commands.py)."""
    submit_task(start, SUBMITTED)


class ArchiveListWidget(StudentListWidget):
    """The archive rows with the document choice above them (FAB's pager and sort links)."""

    template = "exports/archive_widget.html"


class ArchiveStateFilter(BaseFilter):
    """毕业状态 of 毕业生档案管理: graduates only unless the bar says 全部 (the manual's default)."""

    name = "毕业状态"
    arg_name = "archive_state"

    def apply(self, query, value):
        if has_request_context() and request.args.get(GRADUATED_ARG) == exports.ALL_STATES:
            return query
        return query.filter(Student.status == EnrolmentStatus.GRADUATED.value)


GRADUATED_ARG = "_flt_0_graduated"


class GraduateArchiveView(StudentBarListView):
    """毕业生档案管理: filter, tick students (none = the filter, after the count), 导出 学籍卡/成绩单/毕业生登记表."""

    route_base = "/graduation/archive"
    list_title = "毕业生档案管理"
    base_filters = [["id", StudentScopeFilter, lambda: None], ["id", ArchiveStateFilter, lambda: None]]
    bar_keys = ("enrol_grade", "study_grade", "level", "site_id", "major_id", "q")
    list_columns = ["student_no", "name", "level", "major", "site", "status"]
    order_columns = ["student_no", "name", "level", "major", "site", "status", "diploma_no"]
    label_columns = {**StudentBarListView.label_columns, "status": "学籍状态"}
    list_widget = ArchiveListWidget
    include_route_methods = {"list", "action_post"}
    method_permission_name = {"list": "list", "action_export": "export"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._filters._search_filters["graduated"] = []  # 毕业状态 travels as a list argument (base filter)

    @expose("/list/")
    @expose("/")
    @has_access
    def list(self):
        _admin_scope()
        return self.render_list("exports/archive.html", "毕业生档案管理",
                                graduated=request.args.get(GRADUATED_ARG) or exports.GRADUATED_ONLY)

    def widget_args(self) -> dict:
        return {"documents": list(exports.DOCUMENTS.items())}

    def bar_options(self) -> dict:
        return exports.archive_filter_options(current_scope())

    def list_url(self, **extra) -> str:
        extra.setdefault(GRADUATED_ARG, request.args.get(GRADUATED_ARG) or exports.GRADUATED_ONLY)
        return super().list_url(**extra)

    @bulk_action("export", "导出", verb="导出档案", icon="fa-download")
    def action_export(self, selection: Selection):
        """档案导出 of the ticked students, or of the confirmed filter, with the chosen documents."""
        scope = _admin_scope()
        filters = {**selection.filters, "graduated": request.args.get(GRADUATED_ARG) or exports.GRADUATED_ONLY}
        _submit(lambda: exports.start_archive_export(
            actor=g.user, scope=scope, filters=filters, student_ids=selection.ids,
            documents=request.form.getlist("documents")))
        return redirect(self.list_url())


# FAB search columns of the model list pages → the export's filter keys (equality filters only).
FAB_SEARCH_KEYS = {
    "enrol_grade": "enrol_grade", "study_grade": "study_grade", "level": "level", "site": "site_id",
    "major": "major_id", "status": "status", "name": "q", "student_no": "q",
    "actor_name": "actor_name", "action": "action",
}


def fab_search_to_filters(form) -> dict:
    """Turn a FAB list page's ``_flt_<n>_<column>`` query arguments into plain export filters."""
    out = {}
    for key, value in form.items():
        if not key.startswith("_flt_") or value == "":
            continue
        column = key.split("_", 3)[-1]
        if column in FAB_SEARCH_KEYS:
            out[FAB_SEARCH_KEYS[column]] = value
    return out


class ExportView(BaseView):
    """POST-only route behind the 导出 buttons of the list pages that are not FAB lists (no menu)."""

    route_base = "/exports"
    default_view = "list_export"

    @expose("/list", methods=["POST"])
    @has_access
    def list_export(self):
        """One main list (学生学籍, 毕业审核管理, 毕业生列表, 操作日志) with the page's filter."""
        scope = _admin_scope()
        kind = request.form.get("list", "")
        if kind not in LIST_PAGES:
            abort(404)
        if not self.appbuilder.sm.has_access(*LIST_PAGES[kind]):
            abort(403)
        filters = {**fab_search_to_filters(request.form), **request.form.to_dict()}
        _submit(lambda: exports.start_list_export(actor=g.user, scope=scope, kind=kind, filters=filters))
        return redirect(back_url())


def register(appbuilder) -> None:
    appbuilder.add_view(GraduateArchiveView(), "毕业生档案管理", label="毕业生档案管理", icon="fa-archive",
                        category="毕业相关", category_label="毕业相关", category_icon="fa-graduation-cap")
    appbuilder.add_view_no_menu(ExportView())

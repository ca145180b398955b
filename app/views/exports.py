"""Exports: 毕业生档案管理 (menu 毕业相关) and the POST routes that start list / summary exports.

Thin views: they read the filter and the ticked ids, let ``app.services.exports`` validate them
against the scope (404 for any id outside it, nothing created), commit the task and submit it.
The file itself is served by 任务中心's download route.
"""
from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.ids import parse_page
from app.security import current_scope
from app.services import degree, exports, graduation
from app.statuses import DegreeApplicationState
from app.views.bulk import confirm_whole_filter, ticked_ids, whole_filter_sentence
from app.views.commands import submit_task
from app.views.errors import back_url

SUBMITTED = "导出任务已提交，可在任务中心查看和下载"
PER_PAGE = 20
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


class GraduateArchiveView(BaseView):
    """毕业生档案管理: filter, tick students (none = all of the filter), export 学籍卡/成绩单/毕业生登记表."""

    route_base = "/graduation/archive"
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        scope = _admin_scope()
        filters = exports.clean_archive_filters(request.args)
        page_no = parse_page(request.args.get("page"))
        rows, total = exports.archive_page(filters, scope, page_no, PER_PAGE)
        return self.render_template(
            "exports/archive.html",
            title="毕业生档案管理",
            rows=rows,
            total=total,
            page_no=page_no,
            pages=max(1, -(-total // PER_PAGE)),
            filters=filters,
            options=exports.archive_filter_options(scope),
            documents=list(exports.DOCUMENTS.items()),
            sentence=whole_filter_sentence,
        )

    @expose("/export", methods=["POST"])
    @has_access
    def export(self):
        """档案导出: the ticked students, or (after the count confirmation) every student of the filter."""
        scope = _admin_scope()
        filters = exports.clean_archive_filters(request.form)
        ids = ticked_ids(request.form.getlist("ids"))
        back = url_for(".list", **filters)
        if not ids:
            count = graduation.count_query(exports.archive_query(filters, scope))
            asked = confirm_whole_filter(self, count, "导出档案", cancel_url=back)
            if asked:
                return asked
        _submit(lambda: exports.start_archive_export(
            actor=g.user, scope=scope, filters=filters, student_ids=ids, documents=request.form.getlist("documents")))
        return redirect(back)


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
    """POST-only routes behind the 导出 buttons of the degree and list pages (no menu)."""

    route_base = "/exports"
    default_view = "list_export"

    @expose("/degree-summary", methods=["POST"])
    @has_access
    def degree_summary(self):
        """学位申请信息汇总表 of the posted degree filter (or the ticked applications)."""
        scope = _admin_scope()
        if not self.appbuilder.sm.has_access("can_export", "DegreeAuditView"):
            abort(403)
        ids = ticked_ids(request.form.getlist("ids"))
        stage = request.form.get("stage", "any")
        if not ids:
            flt = degree.DegreeFilter.from_mapping(request.form)
            count = 0 if flt.applied == DegreeApplicationState.NOT_APPLIED.value else degree.filter_count(
                scope, flt, stage=stage if stage in exports.STAGES else "any")
            asked = confirm_whole_filter(self, count, "导出学位申请信息汇总表", "条学位申请", back_url())
            if asked:
                return asked
        _submit(lambda: exports.start_degree_summary_export(
            actor=g.user, scope=scope, filters=request.form, application_ids=ids, stage=stage))
        return redirect(back_url())

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

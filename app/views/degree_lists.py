"""学位审核及授予: 学位申请审核管理 and 学位授予管理 as FAB ModelViews through ``ScopedModelView``.

Like 毕业审核管理 (app/views/graduation.py): the manual's filter bar drives FAB's own filters, whose SQL
is the service's one filter function (``degree.application_clauses``), so URL, sorting, page size and
pages are FAB's; the bulk operations are FAB actions, each its own permission in ``ROLE_PERMISSIONS``,
following the one rule of ``app.views.bulk`` (ticked = those; nothing ticked = the filter after the
count confirmation; 修改授予结论 needs ticks).

学生申请状态 未申请 lists students, not applications: it is a FAB list of its own over ``Student``
(``DegreeUnappliedView``) with the same bar and widget; the bar's 学生申请状态 switches between the two.
"""
from __future__ import annotations

from flask import abort, g, redirect, request
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext
from sqlalchemy.orm import contains_eager
from werkzeug.datastructures import MultiDict

from app.models import DegreeApplication, Student
from app.security import current_scope
from app.services import approval_forms, degree, exports, list_order
from app.services.errors import NotFound
from app.statuses import DegreeApplicationState, DegreeConditionResult, ReviewOpinion, choices
from app.views.bulk import Selection, bulk_action
from app.views.commands import run_command, submit_task
from app.views.scoped import (
    PAGE_SIZES,
    ScopedModelView,
    StudentScopeFilter,
    install_filters,
    remove_filters,
)

BREADCRUMB = ("学位管理", "学位审核及授予")
APPLICATIONS = "条学位申请"
# the bar's fields that are FAB filters ("_flt_0_<key>" in the URL); 学生申请状态 (applied) picks the list
BAR_KEYS = ("batch_id", "result", "published", "site_id", "major_id", "grade", "level", "q")
BAR_LABELS = {"batch_id": "学位批次", "result": "学位申请条件是否达标", "published": "发布状态", "site_id": "教学点",
              "major_id": "专业", "grade": "年级", "level": "层次", "q": "姓名/学号"}
PREFIX = "_flt_0_"
# the buttons in the manual's order (FAB keeps actions by name)
ACTION_ORDER = ("audit", "override", "review", "final", "register", "publish", "export", "approval_forms")


class ApplicationBarFilter(BaseFilter):
    """One field of the degree filter bar as a FAB filter over DegreeApplication (``degree.application_clauses``)."""

    service_key = ""

    def apply(self, query, value):
        value = value[-1] if isinstance(value, list) and value else value
        flt = degree.DegreeFilter.from_mapping({self.service_key: value})
        return query.filter(*degree.application_clauses(flt))


class UnappliedBarFilter(BaseFilter):
    """One field of the bar over Student for 未申请 (``degree.unapplied_clauses``: the batch's students
    without an application in it, narrowed by the other fields)."""

    service_key = ""

    def apply(self, query, value):
        value = value[-1] if isinstance(value, list) and value else value
        flt = degree.DegreeFilter.from_mapping({self.service_key: value})
        if self.service_key == "batch_id":
            return query.filter(*degree.unapplied_clauses(flt))
        return query.filter(*degree.student_clauses(flt))


def _bar_filter(base: type[BaseFilter], key: str) -> type[BaseFilter]:
    return type(f"{base.__name__}_{key}", (base,), {"service_key": key, "name": BAR_LABELS[key],
                                                    "arg_name": f"degree_{key}"})


class StageFilter(BaseFilter):
    """Base filter: the page's stage for the scope (``degree.stage_clauses``: 学位授予管理 shows sites and
    colleges only what the CE college published)."""

    name = "stage"
    arg_name = "stage"

    def apply(self, query, value):
        return query.filter(*degree.stage_clauses(current_scope(), value() if callable(value) else value))


class NotAppliedFilter(BaseFilter):
    """Base filter of 未申请: 本科 students of some batch's scope without an application in it."""

    name = "未申请"
    arg_name = "not_applied"

    def apply(self, query, value):
        return query.filter(*degree.unapplied_clauses(degree.DegreeFilter()))


class DegreeListWidget(ListWidget):
    """The rows of a degree list: our table (checkboxes, 未达标 reasons, 初审 signatures) in FAB's list widget."""

    template = "degree/list_widget.html"


class DegreeListView(ScopedModelView):
    """What the three degree lists share: the bar, the latest batch by default, the widget, the actions' filter."""

    list_widget = DegreeListWidget
    bulk_noun = APPLICATIONS
    bulk_items = "学位申请"
    bar_keys: tuple[str, ...] = ()
    bar_filter: type[BaseFilter] = ApplicationBarFilter
    mode = DegreeApplicationState.APPLIED.value
    page_name = ""
    template = "degree/list.html"
    search_columns = ["result"]  # a plain column FAB may derive a filter for; replaced by the bar's below
    page_size = 20
    page_sizes = PAGE_SIZES  # the page-size choice offered (issue 16); larger asks are clamped to its largest
    page_size_limit = max(PAGE_SIZES)
    columns: tuple[tuple[str, str], ...] = ()  # (column, header): the widget's header row
    orders = list_order.APPLICATION_ORDER  # order column → what it sorts by (专业/教学点: the names shown)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for column in list(self._filters.get_search_filters()):
            remove_filters(self, column)  # only the bar's fields are filters here
        for key in self.bar_keys:
            install_filters(self, key, [_bar_filter(self.bar_filter, key)])

    # ------------------------------------------------------------------ the URL

    def list_request_args(self):
        """The list's arguments: the former plain bar fields (``?batch_id=``) read as FAB filters, and the
        page opens on the latest 学位批次 when none is chosen (as the manual's page always has one)."""
        args = MultiDict(request.args)
        for key in self.bar_keys:
            if key in args and PREFIX + key not in args:
                args.setlist(PREFIX + key, args.poplist(key))
        if request.method == "GET" and PREFIX + "batch_id" not in args:
            cached = g.get("_degree_latest_batch", False)
            if cached is False:
                latest = degree.latest_batch()
                cached = g._degree_latest_batch = latest.id if latest else None
            if cached is not None:
                args[PREFIX + "batch_id"] = str(cached)
        return args

    def bar_values(self) -> dict:
        return degree.DegreeFilter.from_mapping(self.bulk_filters()).to_params()

    def shown_as(self, view_name: str):
        """学生申请状态 chose the other list: render it here (same URL arguments, the other view's permission)."""
        other = next(v for v in self.appbuilder.baseviews if v.__class__.__name__ == view_name)
        if not self.appbuilder.sm.has_access("can_list", view_name):
            abort(403)
        return other.render_list()

    def render_list(self):
        widgets = self._list()
        keep = {k: v for k, v in request.args.items() if k.startswith(("psize_", "_oc_", "_od_"))}
        return self.render_template(
            self.template, title=self.page_name, page_name=self.page_name, breadcrumb=BREADCRUMB, widgets=widgets,
            filters=self.bar_values(), bar_keys=self.bar_keys, mode=self.mode, keep=keep,
            options=degree.filter_options(current_scope()), scope_kind=current_scope().kind)

    # ------------------------------------------------------------------ FAB's list widget

    def page_rows(self, items: list) -> list[dict]:
        return degree.application_rows(items)

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        widgets = widgets or {}
        page, page_size, count, items = self.sorted_list(filters, order_column, order_direction, page, page_size)
        widgets["list"] = self.list_widget(
            route_base=self.route_base, label_columns=dict(self.columns), include_columns=[c for c, _ in self.columns],
            value_columns=[], order_columns=self.order_columns, formatters_columns={}, page=page,
            page_size=page_size, count=count, pages=max(1, -(-count // page_size)), pks=[i.id for i in items],
            actions=dict(sorted(self.permitted_actions().items(), key=lambda kv: ACTION_ORDER.index(kv[0]))),
            filters=filters, modelview_name=self.__class__.__name__,
            rows=self.page_rows(items), action_url=self.action_url(), list_url=self.list_url(),
            confirm_messages=self.confirm_messages(count), mode=self.mode, opinions=choices(ReviewOpinion),
            page_sizes=self.page_sizes, select_noun=self.bulk_items,
            override_choices=[(v, t) for v, t in choices(DegreeConditionResult) if v != "unaudited"],
        )
        return widgets

    def list_query(self):
        """The page query joined to the student so its columns sort ("student.student_no"), with its 专业 and
        教学点 in the same query (no query per row)."""
        model = self.datamodel.obj
        query = self.datamodel.session.query(model)
        if model is not Student:
            student = contains_eager(model.student)
            query = (query.join(Student, Student.id == model.student_id)
                     .options(student.joinedload(Student.major), student.joinedload(Student.site)))
        return query

    # ------------------------------------------------------------------ actions

    def _filter(self, selection: Selection) -> degree.DegreeFilter:
        return degree.DegreeFilter.from_mapping(selection.filters)

    def _command(self, command, message):
        run_command(command, message, role_refusal_403=True)
        return redirect(self.list_url())

    def _export(self, start, selection: Selection, stage: str):
        submit_task(lambda: start(actor=g.user, scope=current_scope(), filters=self._filter(selection).to_params(),
                                  application_ids=selection.ids, stage=stage),
                    "导出任务已提交，可在任务中心查看和下载")
        return redirect(self.list_url())


_APP_COLUMNS = (("student.student_no", "学号"), ("student.name", "姓名"), ("student.enrol_grade", "年级"),
                ("student.level", "层次"), ("student.major_id", "专业"), ("student.site_id", "教学点"))
_APP_ORDER = ["student.student_no", "student.name", "student.enrol_grade", "student.level", "student.major_id",
              "student.site_id"]


class DegreeAuditView(DegreeListView):
    """学位申请审核管理: 学位条件审核, 修改授予结论, 初审, 批量终审, 导出; the detail page of an application."""

    datamodel = SQLAInterface(DegreeApplication)
    route_base = "/degree/audit"
    page_name = "学位申请审核管理"
    list_title = "学位申请审核管理"
    base_filters = [["id", StudentScopeFilter, lambda: None], ["id", StageFilter, lambda: degree.PENDING]]
    bar_keys = ("batch_id", "result", "site_id", "major_id", "grade", "level", "q")
    columns = (*_APP_COLUMNS, ("language", "学位外语成绩"), ("average", "学位课程平均分"),
               ("result", "学位申请条件是否达标"), ("override", "手工修改"), ("review_opinion", "初审意见"),
               ("applied_at", "提交时间"))
    order_columns = [*_APP_ORDER, "language", "average", "result", "applied_at", "review_opinion"]
    base_order = ("student.student_no", "asc")
    include_route_methods = {"list", "action_post", "detail"}
    method_permission_name = {
        "list": "list", "detail": "detail", "action_audit": "audit", "action_override": "override",
        "action_review": "review", "action_final": "final", "action_export": "export",
        "action_approval_forms": "approval_forms",
    }

    @expose("/list/")
    @expose("/")  # the manual's address; registered first, so url_for(".list") gives it
    @has_access
    def list(self):
        if request.args.get("applied") == DegreeApplicationState.NOT_APPLIED.value:
            return self.shown_as("DegreeUnappliedView")
        return self.render_list()

    @expose("/application/<int:application_id>")
    @has_access
    def detail(self, application_id: int):
        try:
            info = degree.application_detail(current_scope(), application_id)
        except NotFound:
            abort(404)
        same_site = (request.referrer or "").startswith(request.host_url)
        return self.render_template("degree/detail.html", info=info, row=info["row"], breadcrumb=BREADCRUMB,
                                    back=request.referrer if same_site else None)

    @bulk_action("audit", "学位条件审核", verb="执行学位条件审核")
    def action_audit(self, selection: Selection):
        submit_task(lambda: degree.start_audit(g.user, ids=selection.ids or None, flt=self._filter(selection)),
                    lambda task: gettext("已提交学位条件审核任务（%(scope)s），可在任务中心查看进度；"
                                         "完成后点击“查询”查看结果", scope=task.scope_text),
                    role_refusal_403=True)
        return redirect(self.list_url())

    @bulk_action("override", "修改授予结论", needs_ticks=True, icon="fa-edit")
    def action_override(self, selection: Selection):
        return self._command(lambda: degree.override(selection.ids, request.form.get("override_result", ""),
                                                 request.form.get("override_reason", ""), g.user),
                         lambda n: gettext("已修改 %(n)s 名学生的授予结论", n=n))

    @bulk_action("review", "初审", verb="初审", icon="fa-pencil")
    def action_review(self, selection: Selection):
        return self._command(lambda: degree.first_review(selection.ids or None, request.form.get("review_opinion", ""),
                                                     request.form.get("review_comment", ""), g.user,
                                                     flt=self._filter(selection)),
                         degree.first_review_message)

    @bulk_action("final", "批量终审", icon="fa-send")
    def action_final(self, selection: Selection):
        return self._command(lambda: degree.final_review(g.user, ids=selection.ids or None,
                                                     flt=None if selection.ids else self._filter(selection)),
                             degree.final_review_message)

    @bulk_action("export", "导出学位申请信息汇总表", verb="导出学位申请信息汇总表", icon="fa-download")
    def action_export(self, selection: Selection):
        return self._export(exports.start_degree_summary_export, selection, degree.PENDING)

    @bulk_action("approval_forms", "导出审批表", verb="导出学士学位申请审批表", icon="fa-file-pdf-o")
    def action_approval_forms(self, selection: Selection):
        return self._export(approval_forms.start_approval_export, selection, degree.PENDING)


class DegreeUnappliedView(DegreeListView):
    """学位申请审核管理 with 学生申请状态 未申请: the batch's students without an application; 代为申请."""

    datamodel = SQLAInterface(Student)
    route_base = "/degree/audit/unapplied"
    page_name = "学位申请审核管理"
    list_title = "学位申请审核管理"
    mode = DegreeApplicationState.NOT_APPLIED.value
    bulk_noun = "名学生"
    bulk_items = "未申请的学生"
    bar_filter = UnappliedBarFilter
    base_filters = [["id", StudentScopeFilter, lambda: None], ["id", NotAppliedFilter, lambda: None]]
    bar_keys = ("batch_id", "site_id", "major_id", "grade", "level", "q")
    search_columns = ["student_no"]
    columns = (("student_no", "学号"), ("name", "姓名"), ("enrol_grade", "年级"), ("level", "层次"),
               ("major_id", "专业"), ("site_id", "教学点"))
    order_columns = ["student_no", "name", "enrol_grade", "level", "major_id", "site_id"]
    orders = list_order.UNAPPLIED_ORDER
    base_order = ("student_no", "asc")
    include_route_methods = {"list", "action_post"}
    method_permission_name = {"list": "list", "action_register": "register"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        remove_filters(self, "student_no")

    def page_rows(self, items: list) -> list[dict]:
        return degree.student_rows(items)

    @expose("/list/")
    @expose("/")
    @has_access
    def list(self):
        if request.args.get("applied") == DegreeApplicationState.APPLIED.value:
            return self.shown_as("DegreeAuditView")
        return self.render_list()

    @bulk_action("register", "代为申请", needs_ticks=True, icon="fa-plus")
    def action_register(self, selection: Selection):
        return self._command(lambda: degree.register_applications(selection.ids, g.user),
                         lambda n: gettext("已为 %(n)s 名学生代为提交学位申请", n=n))


class DegreeGrantView(DegreeListView):
    """学位授予管理: applications after 终审 (for sites and colleges: once published); 发布 (CE), 导出."""

    datamodel = SQLAInterface(DegreeApplication)
    route_base = "/degree/grants"
    page_name = "学位授予管理"
    list_title = "学位授予管理"
    template = "degree/list.html"
    base_filters = [["id", StudentScopeFilter, lambda: None], ["id", StageFilter, lambda: degree.FINAL]]
    bar_keys = ("batch_id", "published", "site_id", "major_id", "grade", "level", "q")
    columns = (*_APP_COLUMNS, ("language", "学位外语成绩"), ("average", "学位课程平均分"),
               ("review_opinion", "初审意见"), ("final_at", "终审"), ("published_at", "发布状态"),
               ("degree_no", "学位证书编号"), ("granted_on", "授予日期"))
    order_columns = [*_APP_ORDER, "language", "average", "review_opinion", "final_at", "published_at", "degree_no",
                     "granted_on"]
    base_order = ("student.student_no", "asc")
    mode = "grant"
    include_route_methods = {"list", "action_post"}
    method_permission_name = {"list": "list", "action_publish": "publish", "action_export": "export",
                              "action_approval_forms": "approval_forms"}

    @expose("/list/")
    @expose("/")
    @has_access
    def list(self):
        return self.render_list()

    @bulk_action("publish", "发布", verb="发布（分配学位证书编号）", icon="fa-bullhorn")
    def action_publish(self, selection: Selection):
        submit_task(lambda: degree.start_publish(g.user, ids=selection.ids or None, flt=self._filter(selection)),
                    "已提交学位发布任务，可在任务中心查看进度", role_refusal_403=True)
        return redirect(self.list_url())

    @bulk_action("export", "导出学位申请信息汇总表", verb="导出学位申请信息汇总表", icon="fa-download")
    def action_export(self, selection: Selection):
        return self._export(exports.start_degree_summary_export, selection, degree.FINAL)

    @bulk_action("approval_forms", "导出审批表", verb="导出学士学位申请审批表", icon="fa-file-pdf-o")
    def action_approval_forms(self, selection: Selection):
        return self._export(approval_forms.start_approval_export, selection, degree.FINAL)

"""毕业相关: 毕业审核管理, 毕业生列表 and (CE admin) 毕业批次.

毕业审核管理 is a FAB ModelView over ``Student`` (a student without an audit row is listed as 未审核)
through ``ScopedModelView``: the manual's filter bar drives FAB's own filters (so URL, sorting, page
size and pages are FAB's) and the bulk operations are FAB actions, each its own permission, following
the one rule of ``app.views.bulk``. Views stay thin: ``app.views.commands`` commits or explains.
"""
from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from app.extensions import db
from app.ids import parse_id
from app.models.graduation import GraduationBatch
from app.models.student import Student
from app.security import current_scope
from app.services import graduation, list_order, list_pages
from app.services.errors import NotFound
from app.statuses import ConfirmState, GraduationResult, Level, choices, label
from app.views.bulk import Selection, bulk_action
from app.views.commands import FAILED, run_command, submit_task
from app.views.scoped import (
    PAGE_SIZES,
    ScopedModelView,
    StudentScopeFilter,
    WorkflowListWidget,
    install_filters,
)
from app.views.worksheet import worksheet_page

PER_PAGE = 20


class StudentBarFilter(BaseFilter):
    """One field of the 毕业相关 filter bar as a FAB filter over Student.

    The SQL is ``graduation.filter_clauses``, the same function the jobs and 一键确认毕业 use, so the
    page and its actions always mean the same students. ``service_key`` names the field there.
    """

    service_key = ""

    def apply(self, query, value):
        value = value[-1] if isinstance(value, list) and value else value
        return query.filter(*graduation.filter_clauses({self.service_key: value}))


def _bar_filter(key: str, text: str) -> type[StudentBarFilter]:
    return type(f"{key.title().replace('_', '')}BarFilter", (StudentBarFilter,),
                {"service_key": key, "name": text, "arg_name": f"bar_{key}"})


BAR_FILTERS = {
    "enrol_grade": _bar_filter("enrol_grade", "学籍年级"),
    "study_grade": _bar_filter("study_grade", "学习年级"),
    "level": _bar_filter("level", "层次"),
    "site_id": _bar_filter("site_id", "教学点"),
    "major_id": _bar_filter("major_id", "专业"),
    "result": _bar_filter("result", "毕业审核结果"),
    "confirm_state": _bar_filter("confirm_state", "确认状态"),
    "q": _bar_filter("q", "姓名/学号"),
}


class StudentListWidget(WorkflowListWidget):
    """The rows of a 毕业相关 list: our table (checkboxes, dialogs) with FAB's sort links and pager."""

    template = "graduation/audit_widget.html"


class StudentBarListView(ScopedModelView):
    """A FAB list over Student with the manual's filter bar (毕业审核管理, 毕业生列表)."""

    datamodel = SQLAInterface(Student)
    list_widget = StudentListWidget
    page_size_limit = max(PAGE_SIZES)
    bulk_items = "学生"
    bar_keys: tuple[str, ...] = ("enrol_grade", "study_grade", "level", "site_id", "major_id", "result",
                                 "confirm_state", "q")
    search_columns = ["enrol_grade", "study_grade", "level", "student_no", "name"]
    # what sorts (app.services.list_order.STUDENT_ORDER: 专业/教学点 by name, 毕业审核结果 in its fixed order, …)
    order_columns = ["student_no", "name", "enrol_grade", "study_grade", "level", "major", "site", "passed_courses",
                     "earned_credits", "synced_at", "result", "override", "confirm_state"]
    list_columns = ["student_no", "name", "enrol_grade", "study_grade", "level", "major", "site",
                    "passed_courses", "earned_credits", "synced_at"]
    label_columns = {
        "student_no": "学号", "name": "姓名", "enrol_grade": "学籍年级", "study_grade": "学习年级",
        "level": "层次", "major": "专业", "site": "教学点", "passed_courses": "已通过课程数",
        "earned_credits": "已获总学分", "synced_at": "同步时间", "result": "毕业审核结果", "override": "是否手工修改",
        "confirm_state": "确认状态", "diploma_no": "毕业证书编号", "graduation_date": "毕业日期",
        "final_state": "最终状态",
    }
    orders = list_order.STUDENT_ORDER  # order column → what it sorts by
    base_order = ("student_no", "asc")
    page_size = PER_PAGE

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for key in self.bar_keys:
            install_filters(self, key, [BAR_FILTERS[key]])

    def bar_values(self) -> dict:
        """The filter bar's current values (service keys), for the selects and the task description."""
        return graduation.clean_filters(self.bulk_filters())

    def page_rows(self, students: list) -> list[dict]:
        return list_pages.graduation_rows(students)

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        """The count + page query (sorted by what the column shows, ties by id), then the page's audit rows and
        names in two more queries."""
        widgets = widgets or {}
        page, page_size, count, students = self.sorted_list(filters, order_column, order_direction, page, page_size)
        widgets["list"] = self.list_widget(
            route_base=self.route_base, label_columns=self.label_columns, include_columns=self.list_columns,
            value_columns=[], order_columns=self.order_columns, formatters_columns={}, page=page,
            page_size=page_size, count=count, pages=max(1, -(-count // page_size)), pks=[s.id for s in students],
            actions=self.permitted_actions(), filters=filters, modelview_name=self.__class__.__name__,
            rows=self.page_rows(students), action_url=self.action_url(), list_url=self.list_url(),
            confirm_messages=self.confirm_messages(count),
            result_choices=_result_choices(), show_audit=self.show_audit,
            **self.widget_args(),
        )
        return widgets

    def widget_args(self) -> dict:
        """Extra values a list's own widget template needs (none here)."""
        return {}

    show_audit = True

    def render_list(self, template: str, title: str, **extra):
        """The list page: the filter bar above FAB's list widget."""
        widgets = self._list()
        keep = {k: v for k, v in request.args.items() if k.startswith(("psize_", "_oc_", "_od_"))}
        return self.render_template(template, title=title, widgets=widgets, filters=self.bar_values(),
                                    options=self.bar_options(), keep=keep, **extra)

    def bar_options(self) -> dict:
        options = graduation.filter_options(current_scope())
        for key in ("result", "confirm_state"):
            if key not in self.bar_keys:
                options.pop(key)
        return options


def _result_choices() -> list[tuple[str, str]]:
    return [(c, t) for c, t in choices(GraduationResult) if c in graduation.SETTABLE_RESULTS]


class GraduationAuditView(StudentBarListView):
    """毕业审核管理: filter, 同步课程数据, 毕业审核, 修改毕业审核结果, 一键确认毕业, 导出, 发布 (CE)."""

    route_base = "/graduation/audit"
    list_template = "graduation/audit_list.html"
    list_title = "毕业审核管理"
    include_route_methods = {"list", "action_post", "detail", "preview", "progress"}
    # each bulk action is its own permission (can_sync, can_audit, …) in the role table (app/security.py)
    method_permission_name = {
        "list": "list", "detail": "detail", "preview": "preview", "progress": "preview", "action_sync": "sync",
        "action_audit": "audit", "action_override": "override", "action_confirm": "confirm",
        "action_export": "export", "action_publish": "publish",
    }

    @expose("/list/")
    @expose("/")  # the manual's address; registered first, so url_for(".list") gives it
    @has_access
    def list(self):
        return self.render_list("graduation/audit_list.html", "毕业审核管理")

    # ------------------------------------------------------------------ row pages

    @expose("/student/<int:student_id>")
    @has_access
    def detail(self, student_id: int):
        try:
            data = graduation.student_detail(student_id, current_scope())
        except NotFound:
            abort(404)
        return self.render_template(
            "graduation/audit_detail.html",
            title="毕业审核详情",
            result_choices=_result_choices(),
            exception_url=url_for("CourseExceptionView.new")
            if self.appbuilder.sm.has_access("can_new", "CourseExceptionView") else "",
            **data,
        )

    @expose("/student/<int:student_id>/preview")
    @has_access
    def preview(self, student_id: int):
        """审核预览 as JSON: the rules run now on current data, nothing is saved."""
        try:
            student = graduation.load_student(student_id, current_scope())
        except NotFound:
            abort(404)
        verdict = graduation.preview(student)
        return jsonify(
            student_no=student.student_no,
            result=verdict.result,
            result_label=graduation.result_label(verdict.result),
            reasons=[r.to_dict() for r in verdict.reasons],
            notes=[r.to_dict() for r in verdict.notes],
        )

    @expose("/student/<int:student_id>/progress")
    @has_access
    def progress(self, student_id: int):
        """审核预览 as the student's 毕业进度 worksheet, with the same what-if form (nothing is saved)."""
        try:
            student = graduation.load_student(student_id, current_scope())
        except NotFound:
            abort(404)
        return worksheet_page(self, student, "graduation/progress.html",
                              form_action=url_for(".progress", student_id=student.id))

    # ------------------------------------------------------------------ bulk actions

    def _back(self):
        """Back to the list; the detail page's own override returns to the detail page."""
        student_id = parse_id(request.form.get("rowid", "")) if request.form.get("back") == "detail" else None
        if student_id is not None:
            return redirect(url_for(".detail", student_id=student_id))
        return redirect(self.list_url())

    def _start(self, kind: str, selection: Selection):
        submit_task(lambda: graduation.start_task(kind, actor=g.user, scope=current_scope(),
                                                  filters=selection.as_filters()))
        return self._back()

    @bulk_action("sync", "同步课程数据", icon="fa-refresh")
    def action_sync(self, selection: Selection):
        return self._start("graduation_sync", selection)

    @bulk_action("audit", "毕业审核", verb="执行毕业审核")
    def action_audit(self, selection: Selection):
        return self._start("graduation_audit", selection)

    @bulk_action("override", "修改毕业审核结果", needs_ticks=True, icon="fa-edit")
    def action_override(self, selection: Selection):
        # ``result`` may be the list's filter; the new result is ``override_result``
        run_command(lambda: graduation.override(selection.ids, request.form.get("override_result", ""),
                                                request.form.get("reason", ""), actor=g.user),
                    graduation.override_message)
        return self._back()

    @bulk_action("confirm", "一键确认毕业", verb="执行一键确认毕业", icon="fa-paper-plane")
    def action_confirm(self, selection: Selection):
        outcome = run_command(lambda: graduation.confirm(selection.as_filters(), current_scope(), g.user))
        if outcome is not FAILED:
            category = ("warning" if outcome.refused else "success") if outcome.confirmed else "info"
            flash(outcome.message, category)
        return self._back()

    @bulk_action("export", "导出", verb="导出", icon="fa-download")
    def action_export(self, selection: Selection):
        from app.services import exports

        submit_task(lambda: exports.start_list_export(actor=g.user, scope=current_scope(), kind="graduation",
                                                      filters=selection.as_filters()),
                    "导出任务已提交，可在任务中心查看和下载")
        return self._back()

    @bulk_action("publish", "发布", verb="发布（生成毕业证书编号）", icon="fa-bullhorn")
    def action_publish(self, selection: Selection):
        return self._start("graduation_publish", selection)


class PublishedFilter(BaseFilter):
    """Base filter of 毕业生列表: published graduates only (the same SQL as the jobs' 确认状态 已毕业)."""

    name = "已毕业"
    arg_name = "published"

    def apply(self, query, value):
        return query.filter(*graduation.filter_clauses({"confirm_state": ConfirmState.PUBLISHED.value}))


class GraduateListView(StudentBarListView):
    """毕业生列表: published graduates in scope with their 毕业证书编号 and 毕业日期; 导出 as a FAB action."""

    route_base = "/graduation/graduates"
    list_title = "毕业生列表"
    base_filters = [["id", StudentScopeFilter, lambda: None], ["id", PublishedFilter, lambda: None]]
    bar_keys = ("enrol_grade", "study_grade", "level", "site_id", "major_id", "q")
    list_columns = ["student_no", "name", "enrol_grade", "study_grade", "level", "major", "site"]
    order_columns = ["student_no", "name", "enrol_grade", "study_grade", "level", "major", "site", "diploma_no",
                     "graduation_date"]
    show_audit = False
    include_route_methods = {"list", "action_post"}
    method_permission_name = {"list": "list", "action_export": "export"}

    @expose("/list/")
    @expose("/")
    @has_access
    def list(self):
        return self.render_list("graduation/audit_list.html", "毕业生列表")

    @bulk_action("export", "导出", verb="导出", icon="fa-download")
    def action_export(self, selection: Selection):
        from app.services import exports

        submit_task(lambda: exports.start_list_export(actor=g.user, scope=current_scope(), kind="graduates",
                                                      filters=selection.as_filters()),
                    "导出任务已提交，可在任务中心查看和下载")
        return redirect(self.list_url())


LEVEL_CHOICES = [SelectChoice(value, text) for value, text in choices(Level)]  # WTForms 3.3: no tuples


class GraduationBatchView(ModelView):
    """毕业批次 (CE admin): scope, conditions in force, confirmation window, diploma year."""

    datamodel = SQLAInterface(GraduationBatch)
    route_base = "/graduation/batches"
    include_route_methods = {"list", "show", "add", "edit", "delete"}
    list_title = "毕业批次"
    show_title = "毕业批次"
    add_title = "新增毕业批次"
    edit_title = "修改毕业批次"
    _cols = ["name", "enrol_grade", "study_grade", "level", "require_plan_courses", "require_form",
             "require_photo", "confirm_start", "confirm_end", "diploma_year", "graduation_date"]
    list_columns = ["name", "enrol_grade", "study_grade", "level", "confirm_start", "confirm_end", "diploma_year",
                    "graduation_date"]
    show_columns = _cols
    add_columns = _cols
    edit_columns = _cols
    search_columns = ["name", "enrol_grade", "study_grade", "level", "diploma_year"]
    order_columns = ["name", "enrol_grade", "study_grade", "diploma_year", "confirm_start"]
    base_order = ("id", "desc")
    label_columns = {
        "name": "批次名称",
        "enrol_grade": "学籍年级",
        "study_grade": "学习年级",
        "level": "层次",
        "require_plan_courses": "条件：教学计划课程",
        "require_form": "条件：毕业生登记表",
        "require_photo": "条件：毕业照片",
        "confirm_start": "确认毕业开始时间（北京时间）",
        "confirm_end": "确认毕业结束时间（北京时间）",
        "diploma_year": "毕业证书年份",
        "graduation_date": "毕业日期",
    }
    formatters_columns = {"level": lambda v: label(v, Level) if v else ""}
    add_form_extra_fields = {"level": SelectField("层次", choices=LEVEL_CHOICES, widget=Select2Widget())}
    edit_form_extra_fields = {"level": SelectField("层次", choices=LEVEL_CHOICES, widget=Select2Widget())}

    def _check(self, item: GraduationBatch) -> None:
        if item.confirm_start and item.confirm_end and item.confirm_end <= item.confirm_start:
            raise ValueError("确认毕业结束时间必须晚于开始时间")
        if item.diploma_year is not None and not 2000 <= int(item.diploma_year) <= 2100:
            raise ValueError("毕业证书年份应为四位年份")
        if item.level not in {m.value for m in Level}:
            raise ValueError("层次无效")

    def pre_add(self, item: GraduationBatch) -> None:
        self._check(item)

    def pre_update(self, item: GraduationBatch) -> None:
        self._check(item)

    def pre_delete(self, item: GraduationBatch) -> None:
        from sqlalchemy import select

        from app.models.graduation import GraduationAudit

        if db.session.scalar(select(GraduationAudit.id).where(GraduationAudit.batch_id == item.id).limit(1)):
            raise ValueError("该批次已有毕业审核结果，不能删除")


def register(appbuilder) -> None:
    category = {"category": "毕业相关", "category_label": "毕业相关", "category_icon": "fa-graduation-cap"}
    appbuilder.add_view(GraduationAuditView(), "毕业审核管理", label="毕业审核管理", icon="fa-check-square-o",
                        **category)
    appbuilder.add_view(GraduateListView(), "毕业生列表", label="毕业生列表", icon="fa-list", **category)
    appbuilder.add_view(GraduationBatchView(), "毕业批次", label="毕业批次", icon="fa-calendar", **category)


"""毕业相关: 毕业审核管理, 毕业生列表 and (CE admin) 毕业批次.

Views stay thin: they read the filter and the ticked ids, check them against the scope (404 for
anything outside it), call ``app.services.graduation`` and commit. Every action returns to the
same filtered page.
"""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField

from app.ids import parse_id, parse_page
from app.extensions import db
from app.jobs import runner
from app.models.graduation import GraduationBatch
from app.security import current_scope
from app.services import graduation
from app.services.errors import DomainError, NotFound
from app.statuses import GraduationResult, Level, choices, label

TASK_SUBMITTED = "任务已提交，可在任务中心查看进度"
PER_PAGE = 20


def local_time(value: dt.datetime | None) -> str:
    """A stored (UTC) timestamp as Asia/Shanghai wall time for display."""
    return graduation.shanghai_now(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


class GraduationAuditView(BaseView):
    """毕业审核管理: filter, 同步课程数据, 毕业审核, 修改毕业审核结果, 一键确认毕业, 发布 (CE)."""

    route_base = "/graduation/audit"
    default_view = "list"

    # ------------------------------------------------------------------ helpers

    def _filters(self, source) -> dict:
        f = graduation.clean_filters(source)
        f.pop("confirm_state", None)
        return f

    def _back(self, filters: dict):
        if request.form.get("back") == "detail":
            ids = request.form.getlist("ids")
            student_id = parse_id(ids[0]) if len(ids) == 1 else None
            if student_id is not None:
                return redirect(url_for(".detail", student_id=student_id))
        return redirect(url_for(".list", **filters))

    def _target(self):
        """(scope, filters, ids) of a posted action; 404 if any ticked id is outside the scope."""
        scope = current_scope()
        filters = self._filters(request.form)
        try:
            ids = graduation.parse_ids(request.form.getlist("ids"))
        except DomainError:
            abort(400)
        if ids and not graduation.all_in_scope(ids, scope):
            abort(404)
        return scope, filters, ids

    def _start(self, kind: str):
        scope, filters, ids = self._target()
        try:
            task = graduation.start_task(kind, actor=g.user, scope=scope, filters=filters, student_ids=ids)
            runner.submit(task)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash(TASK_SUBMITTED, "success")
        return self._back(filters)

    # ------------------------------------------------------------------ pages

    @expose("/")
    @has_access
    def list(self):
        scope = current_scope()
        filters = self._filters(request.args)
        page_no = parse_page(request.args.get("page"))
        rows, total = graduation.page(filters, scope, page_no, PER_PAGE)
        pages = max(1, -(-total // PER_PAGE))
        return self.render_template(
            "graduation/audit_list.html",
            title="毕业审核管理",
            rows=[self._row(s, a) for s, a in rows],
            total=total,
            page_no=page_no,
            pages=pages,
            filters=filters,
            options=graduation.filter_options(scope),
            result_choices=[(c, t) for c, t in choices(GraduationResult) if c in graduation.SETTABLE_RESULTS],
            can_publish=self.appbuilder.sm.has_access("can_publish", self.class_permission_name),
            local_time=local_time,
        )

    @staticmethod
    def _row(student, audit) -> dict:
        return {
            "student": student,
            "audit": audit,
            "result": audit.result if audit is not None else GraduationResult.UNAUDITED.value,
            "result_label": graduation.result_label(audit.result if audit is not None else None),
            "reasons": graduation.reasons_of(audit),
            "override": audit is not None and audit.is_override,
            "confirm_state": graduation.confirm_state(audit),
            "confirm_label": graduation.CONFIRM_LABELS[graduation.confirm_state(audit)],
        }

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
            result_choices=[(c, t) for c, t in choices(GraduationResult) if c in graduation.SETTABLE_RESULTS],
            local_time=local_time,
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
        )

    # ------------------------------------------------------------------ actions

    @expose("/sync", methods=["POST"])
    @has_access
    def sync(self):
        return self._start("graduation_sync")

    @expose("/audit", methods=["POST"])
    @has_access
    def audit(self):
        return self._start("graduation_audit")

    @expose("/publish", methods=["POST"])
    @has_access
    def publish(self):
        return self._start("graduation_publish")

    @expose("/override", methods=["POST"])
    @has_access
    def override(self):
        _scope, filters, ids = self._target()
        # ``result`` is the list's filter (a hidden input); the new result is ``override_result``.
        new_result = request.form.get("override_result", "")
        try:
            n = graduation.override(ids, new_result, request.form.get("reason", ""), actor=g.user)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash(f"已修改 {n} 名学生的毕业审核结果", "success")
        return self._back(filters)

    @expose("/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        scope, filters, ids = self._target()
        try:
            n = graduation.confirm(filters, scope, g.user, student_ids=ids)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            if n:
                flash(f"已确认毕业 {n} 名学生，名单已提交继教院", "success")
            else:
                flash("当前筛选条件下没有未确认的预毕业学生", "info")
        return self._back(filters)


class GraduateListView(BaseView):
    """毕业生列表: published graduates in scope with their 毕业证书编号 and 毕业日期."""

    route_base = "/graduation/graduates"
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        scope = current_scope()
        filters = graduation.clean_filters(request.args)
        filters.pop("result", None)
        filters["confirm_state"] = graduation.ConfirmState.PUBLISHED.value
        page_no = parse_page(request.args.get("page"))
        rows, total = graduation.page(filters, scope, page_no, PER_PAGE)
        filters.pop("confirm_state")
        options = graduation.filter_options(scope)
        options.pop("result")
        return self.render_template(
            "graduation/graduate_list.html",
            title="毕业生列表",
            rows=rows,
            total=total,
            page_no=page_no,
            pages=max(1, -(-total // PER_PAGE)),
            filters=filters,
            options=options,
            final_label=graduation.CONFIRM_LABELS[graduation.ConfirmState.PUBLISHED.value],
        )


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
    add_form_extra_fields = {"level": SelectField("层次", choices=choices(Level), widget=Select2Widget())}
    edit_form_extra_fields = {"level": SelectField("层次", choices=choices(Level), widget=Select2Widget())}

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


"""毕业相关 › 课程替代与免修: the list (filters, bulk 审核通过 / 驳回 / 撤销 on ticked rows) and the entry form.

A FAB list through ``ScopedModelView`` (the one bulk-action rule of ``app.views.bulk``; hand decisions
need ticked rows); the entry form is reached from the menu or from a course row of a student's
毕业审核详情 page. Views stay thin: ``app.services.exceptions`` validates, ``run_command`` commits.
"""
from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField

from app.clock import format_local
from app.ids import parse_id
from app.models.exception import CourseException
from app.security import current_scope
from app.services import exceptions, graduation
from app.services.errors import DomainError, NotFound
from app.statuses import ExceptionKind, ExceptionStatus, choices
from app.views.bulk import Selection, bulk_action
from app.views.commands import FAILED, run_command
from app.views.options import options
from app.views.scoped import ScopedModelView, StudentNoFilter, install_filters

FORM_FIELDS = ("student_no", "course_code", "kind", "substitute_code", "source_institution", "source_course",
               "credits", "score", "reason")


class CourseExceptionView(ScopedModelView):
    """课程替代与免修: every exception of the students in scope, newest first."""

    datamodel = SQLAInterface(CourseException)
    route_base = "/course_exceptions"
    include_route_methods = {"list", "show", "action", "action_post", "new"}
    list_template = "exceptions/list.html"
    list_title = show_title = "课程替代与免修"
    bulk_noun = "条记录"
    bulk_items = "课程替代与免修记录"
    base_order = ("id", "desc")
    label_columns = {
        "student": _l("学生"), "student_id": _l("学号"), "course_code": _l("课程代码"), "course_name": _l("课程名称"),
        "kind": _l("类型"), "kind_label": _l("类型"), "detail": _l("内容"), "reason": _l("理由"),
        "status": _l("状态"), "status_label": _l("状态"), "entered_at": _l("录入时间"), "decided_at": _l("审核时间"),
        "decision_note": _l("审核说明"),
    }
    list_columns = ["student", "course_code", "kind_label", "detail", "reason", "status_label", "entered_at",
                    "decided_at"]
    show_columns = ["student", "course_code", "course_name", "kind_label", "detail", "reason", "status_label",
                    "entered_at", "decided_at", "decision_note"]
    order_columns = ["entered_at", "decided_at", "course_code"]
    search_columns = ["student_id", "course_code", "kind", "status"]
    search_form_extra_fields = {
        "student_id": StringField("学号", widget=BS3TextFieldWidget()),
        "kind": SelectField("类型", choices=options(choices(ExceptionKind), blank=""), widget=Select2Widget()),
        "status": SelectField("状态", choices=options(choices(ExceptionStatus), blank=""), widget=Select2Widget()),
    }
    formatters_columns = {"entered_at": format_local, "decided_at": format_local}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        install_filters(self, "student_id", [StudentNoFilter])

    def _decide(self, command, decision: str):
        note = request.form.get("note")
        run_command(lambda: command(note), lambda rows: exceptions.decided_message(decision, len(rows)))
        return redirect(self.list_url())

    @bulk_action("approve", "审核通过", needs_ticks=True)
    def approve(self, selection: Selection):
        """CE admin: the ticked pending exceptions count from the next audit on."""
        return self._decide(lambda note: exceptions.approve(selection.ids, actor=g.user, scope=current_scope(),
                                                            note=note), "approve")

    @bulk_action("reject", "驳回", needs_ticks=True, icon="fa-times")
    def reject(self, selection: Selection):
        """CE admin: the ticked pending exceptions are rejected, with the note (审核说明)."""
        return self._decide(lambda note: exceptions.reject(selection.ids, actor=g.user, scope=current_scope(),
                                                           note=note), "reject")

    @bulk_action("revoke", "撤销", needs_ticks=True, icon="fa-undo")
    def revoke(self, selection: Selection):
        """Withdraw the ticked exceptions (a site/college admin: pending ones), with the note."""
        return self._decide(lambda note: exceptions.revoke(selection.ids, actor=g.user, scope=current_scope(),
                                                           note=note), "revoke")

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self):
        """录入课程替代与免修: a student by 学号 (or ?student_id= from the audit detail page), a plan course."""
        scope = current_scope()
        values = {k: (request.form.get(k) if request.method == "POST" else request.args.get(k)) or ""
                  for k in FORM_FIELDS}
        back = parse_id(request.values.get("back_student", "")) if request.values.get("back_student") else None
        student_id = parse_id(request.args.get("student_id", "")) if request.args.get("student_id") else None
        student = None
        if student_id is not None:
            try:
                student = graduation.load_student(student_id, scope)
            except NotFound:
                abort(404)
            values["student_no"] = values["student_no"] or student.student_no
            back = back or student.id
        if request.method == "POST":
            def command():
                target = exceptions.find_student(values["student_no"], scope)
                data = exceptions.ExceptionInput.from_mapping(target.id, values)
                return exceptions.create(data, actor=g.user, scope=scope)

            row = run_command(command, exceptions.created_message)
            if row is not FAILED:
                if back is not None:
                    return redirect(url_for("GraduationAuditView.detail", student_id=back))
                return redirect(url_for(f"{self.endpoint}.list"))
        if student is None and values["student_no"]:
            try:
                student = exceptions.find_student(values["student_no"], scope)
            except DomainError:
                student = None
        picks = exceptions.entry_choices(student) if student is not None else {"plan": [], "passed": []}
        return self.render_template("exceptions/new.html", title="录入课程替代与免修", values=values,
                                    student=student, picks=picks, kinds=choices(ExceptionKind), back=back)


def register(appbuilder) -> None:
    appbuilder.add_view(CourseExceptionView(), "课程替代与免修", label="课程替代与免修", icon="fa-exchange",
                        category="毕业相关", category_label="毕业相关", category_icon="fa-graduation-cap")

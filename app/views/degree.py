"""学位管理 menu: 学位审核及授予 (学位申请审核管理, 学位授予管理: app/views/degree_lists.py), 学位批次 (CE
admin) and 电子签名 (site admins).

Views are thin: they call app.services.degree / signatures with ``g.user`` as the actor through the one
command runner: an id outside the scope is a 404, a role refusal a 403, any other refusal a flashed
message with nothing changed.
"""
from __future__ import annotations

from flask import abort, current_app, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, ValidationError

from app.models import DegreeBatch
from app.services import degree, signatures
from app.services.errors import NotFound
from app.statuses import Level, label
from app.views.commands import run_command
from app.views.degree_lists import DegreeAuditView, DegreeGrantView, DegreeUnappliedView

MENU_GROUP_HREF = "#menu-group"  # a menu item with this address is a group header (templates/appbuilder)


def _run(action, on_done: str):
    """Run a service call through the one command runner (404 scope, 403 role, else a message)."""
    run_command(action, lambda message: message, role_refusal_403=True)
    return redirect(on_done)


class SignatureView(BaseView):
    """电子签名: a site admin uploads the image that signs every 初审; images are served scoped."""

    route_base = "/signature"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        sig = signatures.current_signature(g.user)
        return self.render_template("degree/signature.html", sig=sig,
                                    uploaded_at=degree.fmt_time(sig.created_at) if sig else "",
                                    max_kb=current_app.config["SIGNATURE_MAX_BYTES"] // 1024)

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        file = request.files.get("signature")

        def go():
            sig = signatures.upload_signature(g.user, file.read() if file else b"", g.user)
            return gettext("电子签名已上传（第 %(version)s 版），此后的初审将使用该签名", version=sig.version)

        return _run(go, url_for("SignatureView.index"))

    @expose("/image/<int:signature_id>")
    @has_access
    def image(self, signature_id: int):
        try:
            sig = signatures.readable_signature(signature_id, g.user)
            path, mimetype = signatures.signature_file(sig)
        except (NotFound, FileNotFoundError):
            abort(404)
        if not path.exists():
            abort(404)
        response = send_file(path, mimetype=mimetype, max_age=0, conditional=False)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Content-Disposition"] = "inline"
        return response


class EndAfterStart:
    """Form validator: 申请结束时间 must come after 申请开始时间."""

    def __call__(self, form, field):
        start = form.apply_start.data
        if start and field.data and field.data <= start:
            raise ValidationError("申请结束时间必须晚于开始时间")


BATCH_LEVEL_CHOICES = [SelectChoice("", degree.batch_level_label(None))] + [
    SelectChoice(lv, label(lv, Level)) for lv in degree.BACHELOR_LEVELS
]  # WTForms 3.3 deprecates tuple choices


class DegreeBatchView(ModelView):
    """学位批次 (CE admin): scope, application window (Asia/Shanghai wall time), pass marks, year."""

    datamodel = SQLAInterface(DegreeBatch)
    route_base = "/degree/batches"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    include_route_methods = {"list", "show", "add", "edit"}
    list_title = show_title = "学位批次"
    add_title = "添加学位批次"
    edit_title = "编辑学位批次"
    columns = ["name", "enrol_grade", "level", "apply_start", "apply_end", "language_pass_mark",
               "course_average_mark", "year", "grant_date"]
    list_columns = columns
    show_columns = columns
    add_columns = columns
    edit_columns = columns
    search_columns = ["name", "enrol_grade", "year"]
    order_columns = ["name", "enrol_grade", "apply_start", "year"]
    base_order = ("apply_start", "desc")
    label_columns = {
        "name": "批次名称", "enrol_grade": "学籍年级", "level": "层次", "apply_start": "申请开始时间",
        "apply_end": "申请结束时间", "language_pass_mark": "学位外语合格线",
        "course_average_mark": "学位课程平均分合格线",
        "year": "学位年度", "grant_date": "授予日期",
    }
    description_columns = {
        "level": "不选则为本科两个层次（高起本、专升本）；高起专学生不授予学位",
        "apply_start": "北京时间",
        "apply_end": "北京时间",
        "year": "学位证书编号中的年份",
        "grant_date": "不填则为发布当天",
    }
    formatters_columns = {"level": degree.batch_level_label}
    validators_columns = {
        "apply_end": [EndAfterStart()],
        "language_pass_mark": [NumberRange(0, 100, message="应在 0–100 之间")],
        "course_average_mark": [NumberRange(0, 100, message="应在 0–100 之间")],
        "year": [NumberRange(2000, 2100, message="年份无效")],
        "enrol_grade": [NumberRange(2000, 2100, message="年级无效")],
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "level": SelectField("层次", choices=BATCH_LEVEL_CHOICES, coerce=lambda v: v or None,
                             widget=Select2Widget(), description="不选则为本科两个层次（高起本、专升本）"),
    }


def register(appbuilder) -> None:
    """学位管理 menu: the group header 学位审核及授予 above its two lists, then 学位批次 and 电子签名."""
    cat = {"category": "学位管理", "category_label": "学位管理", "category_icon": "fa-certificate"}
    appbuilder.add_link("学位审核及授予", href=MENU_GROUP_HREF, label="学位审核及授予", **cat)
    appbuilder.add_view(DegreeAuditView(), "学位申请审核管理", label="学位申请审核管理", icon="fa-check-square-o",
                        **cat)
    appbuilder.add_view(DegreeGrantView(), "学位授予管理", label="学位授予管理", icon="fa-graduation-cap", **cat)
    appbuilder.add_view_no_menu(DegreeUnappliedView())
    appbuilder.add_separator("学位管理")
    appbuilder.add_view(DegreeBatchView(), "学位批次", label="学位批次", icon="fa-calendar", **cat)
    appbuilder.add_view(SignatureView(), "电子签名", label="电子签名", icon="fa-pencil", **cat)

"""学位管理 menu: 学位申请审核管理, 学位授予管理, 学位批次 (CE admin) and 电子签名 (site admins).

Views are thin: they parse the filter and the ticked ids, call app.services.degree / signatures with
``g.user`` as the actor, commit, and map errors: an id outside the scope is a 404, a role refusal a
403, any other refusal a flashed message with nothing changed.
"""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, ValidationError

from app.ids import parse_page
from app.jobs import runner
from app.models import DegreeBatch
from app.security import current_scope
from app.services import degree, list_pages, signatures
from app.services.errors import NotFound
from app.statuses import Level, ReviewOpinion, choices, label
from app.views.bulk import confirm_whole_filter, ticked_ids, whole_filter_sentence
from app.views.commands import run_command

PAGE_SIZE = 50
APPLICATIONS = "条学位申请"
BREADCRUMB = ("学位管理", "学位审核及授予")


def _filter(values) -> degree.DegreeFilter:
    """The filter from args or hidden inputs; the latest batch when none is chosen."""
    flt = degree.DegreeFilter.from_mapping(values)
    if flt.batch_id is None:
        latest = degree.latest_batch()
        flt = flt.with_batch(latest.id if latest else None)
    return flt


def _run(action, on_done: str):
    """Run a service call through the one command runner (404 scope, 403 role, else a message)."""
    run_command(action, lambda message: message, role_refusal_403=True)
    return redirect(on_done)


class DegreeAuditView(BaseView):
    """学位申请审核管理: filter, 学位条件审核, 修改授予结论, 初审, 批量终审, 代为申请, 发布.

    Bulk actions follow the one rule (app/views/bulk.py): ticked ids (parsed with ``parse_id``) are
    exactly those; nothing ticked is the filter after the count confirmation; 修改授予结论 needs ticks.
    """

    route_base = "/degree/audit"
    default_view = "list"

    def _back(self, flt: degree.DegreeFilter) -> str:
        return url_for("DegreeAuditView.list", **flt.to_params())

    def _confirm(self, ids: list[int], count: int, verb: str, back: str):
        """None to go on; else the confirmation page of a nothing-ticked action (count of the filter)."""
        if ids:
            return None
        return confirm_whole_filter(self, count, verb, APPLICATIONS, back)

    @expose("/")
    @has_access
    def list(self):
        scope = current_scope()
        flt = _filter(request.args)
        data = degree.audit_page(scope, flt, parse_page(request.args.get("page"), first=1), PAGE_SIZE)
        publish_count = list_pages.degree_publish_count(scope, flt) if scope.is_all else 0
        summary_count = list_pages.degree_filter_count(scope, flt, stage=degree.ANY) if data["mode"] == "applied" else 0
        return self.render_template(
            "degree/audit_list.html", flt=flt, params=flt.to_params(), data=data,
            options=degree.filter_options(scope), scope_kind=scope.kind, breadcrumb=BREADCRUMB,
            opinions=choices(ReviewOpinion), publish_count=publish_count, summary_count=summary_count,
            sentence=lambda n, verb: whole_filter_sentence(n, verb, APPLICATIONS),
        )

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

    @expose("/audit", methods=["POST"])
    @has_access
    def audit(self):
        flt = _filter(request.form)
        ids = ticked_ids(request.form.getlist("ids"))
        asked = self._confirm(ids, list_pages.degree_filter_count(current_scope(), flt), "执行学位条件审核",
                              self._back(flt))
        if asked:
            return asked

        def go():
            task = degree.start_audit(g.user, ids=ids or None, flt=flt)
            runner.submit(task)
            return f"已提交学位条件审核任务（{task.scope_text}），可在任务中心查看进度；完成后点击“查询”查看结果"

        return _run(go, self._back(flt))

    @expose("/override", methods=["POST"])
    @has_access
    def override(self):
        """修改授予结论 changes results by hand: only the ticked rows, never the whole filter."""
        flt = _filter(request.form)
        ids = ticked_ids(request.form.getlist("ids"))
        if not ids:
            flash(gettext("请先勾选要修改授予结论的学生（修改授予结论不能对整个筛选结果执行）"), "warning")
            return redirect(self._back(flt))

        def go():
            n = degree.override(ids, request.form.get("override_result", ""),
                                request.form.get("override_reason", ""), g.user, flt=flt)
            return f"已修改 {n} 名学生的授予结论"

        return _run(go, self._back(flt))

    @expose("/review", methods=["POST"])
    @has_access
    def review(self):
        flt = _filter(request.form)
        ids = ticked_ids(request.form.getlist("ids"))
        asked = self._confirm(ids, list_pages.degree_filter_count(current_scope(), flt), "初审", self._back(flt))
        if asked:
            return asked

        def go():
            n = degree.first_review(ids or None, request.form.get("review_opinion", ""),
                                    request.form.get("review_comment", ""), g.user, flt=flt)
            return f"初审完成：{n} 名学生的初审意见已签名保存" if n else "初审意见未变化"

        return _run(go, self._back(flt))

    @expose("/final", methods=["POST"])
    @has_access
    def final(self):
        flt = _filter(request.form)
        ids = ticked_ids(request.form.getlist("ids"))
        asked = self._confirm(ids, list_pages.degree_filter_count(current_scope(), flt), "批量终审", self._back(flt))
        if asked:
            return asked

        def go():
            out = degree.final_review(g.user, ids=ids or None, flt=None if ids else flt)
            text = f"批量终审完成：{out['终审']} 名学生的学位申请已提交继教院"
            if out["跳过"]:
                text += f"；{out['跳过']} 名学生未达标或未经初审同意，未提交"
            return text

        return _run(go, self._back(flt))

    @expose("/register", methods=["POST"])
    @has_access
    def register(self):
        flt = _filter(request.form)
        ids = ticked_ids(request.form.getlist("ids"))

        def go():
            n = degree.register_applications(ids, g.user)
            return f"已为 {n} 名学生代为提交学位申请"

        return _run(go, self._back(flt))

    @expose("/publish", methods=["POST"])
    @has_access
    def publish(self):
        flt = _filter(request.form)
        ids = ticked_ids(request.form.getlist("ids"))
        back = url_for("DegreeGrantView.list", **flt.to_params())
        scope = current_scope()
        count = list_pages.degree_publish_count(scope, flt) if scope.is_all else 0
        asked = self._confirm(ids, count, "发布学位（分配学位证书编号）", back)
        if asked:
            return asked

        def go():
            task = degree.start_publish(g.user, ids=ids or None, flt=flt)
            runner.submit(task)
            return "已提交学位发布任务，可在任务中心查看进度"

        return _run(go, back)


class DegreeGrantView(BaseView):
    """学位授予管理: applications after 终审, with 发布状态, 学位证书编号 and 授予日期."""

    route_base = "/degree/grants"
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        scope = current_scope()
        flt = _filter(request.args)
        data = degree.grant_page(scope, flt, parse_page(request.args.get("page"), first=1), PAGE_SIZE)
        return self.render_template("degree/grant_list.html", flt=flt, params=flt.to_params(), data=data,
                                    options=degree.filter_options(scope), scope_kind=scope.kind,
                                    breadcrumb=BREADCRUMB,
                                    publish_count=list_pages.degree_publish_count(scope, flt) if scope.is_all else 0,
                                    sentence=lambda n, verb: whole_filter_sentence(n, verb, APPLICATIONS))


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
            return f"电子签名已上传（第 {sig.version} 版），此后的初审将使用该签名"

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
    """学位管理 menu (FAB menus have two levels; the page heading shows 学位审核及授予)."""
    cat = {"category": "学位管理", "category_label": "学位管理", "category_icon": "fa-certificate"}
    appbuilder.add_view(DegreeAuditView(), "学位申请审核管理", label="学位申请审核管理", icon="fa-check-square-o",
                        **cat)
    appbuilder.add_view(DegreeGrantView(), "学位授予管理", label="学位授予管理", icon="fa-graduation-cap", **cat)
    appbuilder.add_view(DegreeBatchView(), "学位批次", label="学位批次", icon="fa-calendar", **cat)
    appbuilder.add_view(SignatureView(), "电子签名", label="电子签名", icon="fa-pencil", **cat)

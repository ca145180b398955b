"""基础数据 → 数据导入 (CE admin only, through FAB_ROLES): templates, upload, recent import tasks.

Thin: the upload is handed to ``app.services.imports.start_import`` (which checks and stores it and
creates the task); the job does the rest and 任务中心 serves its result or error report.
"""
from __future__ import annotations

import io

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from sqlalchemy import select

from app.extensions import db
from app.imports.schema import KINDS
from app.jobs import runner
from app.models.task import Task
from app.services import imports
from app.services.errors import DomainError
from app.views.tasks import state_text, summary_text

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT = 10
CATEGORY = "基础数据"  # the menu of 机构 and 专业 (app.views.admin)


class ImportView(BaseView):
    """数据导入: choose 学生学籍 / 教学计划（含课程）/ 成绩 / 学位外语成绩 / 机构与专业 / 账号, upload an .xlsx,
    download templates."""

    route_base = "/imports"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        recent = db.session.scalars(
            select(Task).where(Task.kind == "import").order_by(Task.id.desc()).limit(RECENT)).all()
        return self.render_template(
            "imports/index.html", title="数据导入", kinds=list(KINDS.values()), recent=recent,
            chosen=request.args.get("kind") if request.args.get("kind") in KINDS else "students",
            state_text=state_text, summary_text=summary_text,
        )

    @expose("/template/<kind>")
    @has_access
    def template(self, kind):
        """The kind's template workbook, under its Chinese name (RFC 5987 ``filename*``)."""
        if kind not in KINDS:
            abort(404)
        data, name = imports.template(kind)
        return send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=name, max_age=0)

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        kind = request.form.get("kind", "")
        file = request.files.get("file")
        try:
            task = imports.start_import(actor=g.user, kind=kind, filename=file.filename if file else "",
                                        data=file.read() if file else b"")
            runner.submit(task)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash(gettext(imports.SUBMITTED), "success")
        return redirect(url_for(".index", kind=kind if kind in KINDS else None))


def register(appbuilder) -> None:
    appbuilder.add_view(ImportView(), "数据导入", label="数据导入", icon="fa-upload", category=CATEGORY,
                        category_label=CATEGORY)

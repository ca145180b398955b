"""The POST route behind the 导出审批表 button of 学位申请审核管理 and 学位授予管理 (no menu).

It takes what the 学位申请信息汇总表 button posts (the ticked ``ids`` or the page's filter fields, and
``stage``), lets ``app.services.approval_forms`` check it against the scope, and submits the task; the zip
is downloaded from 任务中心.
"""
from __future__ import annotations

from flask import abort, g, redirect, request
from flask_appbuilder import BaseView, expose, has_access

from app.services import approval_forms
from app.views.errors import back_url
from app.views.exports import _admin_scope, _submit


class ApprovalFormExportView(BaseView):
    route_base = "/exports/approval-forms"
    default_view = "export"

    @expose("/", methods=["POST"])
    @has_access
    def export(self):
        """学士学位申请审批表 of the ticked applications, or of every application of the posted filter."""
        scope = _admin_scope()
        if not self.appbuilder.sm.has_access("can_export", "DegreeAuditView"):
            abort(403)
        _submit(lambda: approval_forms.start_approval_export(
            actor=g.user, scope=scope, filters=request.form, application_ids=request.form.getlist("ids"),
            stage=request.form.get("stage", "any")))
        return redirect(back_url())


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(ApprovalFormExportView())

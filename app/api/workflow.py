"""The workflow endpoints (毕业审核, 一键确认毕业, 修改毕业审核结果; 学位条件审核, 初审, 终审): the same services
as the page buttons."""
from __future__ import annotations

from flask import g
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import gettext

from app.api.access import TASK_SUBMITTED, ApiAccessMixin
from app.api.bulk import confirmed_selection, error_responses
from app.api.bulk import degree_filter as _degree_filter
from app.api.openapi import add_result_components
from app.api.schemas import (
    DegreeReviewSchema,
    DegreeSelectionSchema,
    GraduationOverrideSchema,
    GraduationSelectionSchema,
    load_body,
)
from app.extensions import db
from app.jobs import runner
from app.security import current_scope
from app.services import degree, graduation


class WorkflowApi(ApiAccessMixin, BaseApi):
    """Base of the workflow endpoints: JWT only, JSON bodies, the pages' services, commit at the end."""

    allow_browser_login = False  # the API is CSRF-exempt: a browser cookie must never authorize a write

    @staticmethod
    def _commit():
        db.session.commit()

    def _task_response(self, task):
        """202 with the task id; the task's progress is at /api/v1/tasks/<id> and in 任务中心."""
        return self.response(202, task_id=task.id, message=gettext(TASK_SUBMITTED),
                             scope_text=task.scope_text, task_url=f"/api/v1/tasks/{task.id}")


class GraduationWorkflowApi(WorkflowApi):
    """毕业审核管理 actions: 毕业审核, 修改毕业审核结果, 一键确认毕业 (same services as the page)."""

    resource_name = "graduation"
    openapi_spec_tag = "毕业审核操作"
    openapi_spec_component_schemas = (GraduationSelectionSchema, GraduationOverrideSchema)

    @expose("/audit", methods=["POST"])
    @protect()
    @permission_name("audit")
    @confirmed_selection(GraduationSelectionSchema, "graduation", "执行毕业审核")
    def audit(self):
        """毕业审核: a background task over the ticked students or the filter.

        ---
        post:
          summary: 毕业审核
          description: >-
            对勾选的学生（ids）或筛选条件（filters）下的全部学生提交毕业审核任务；
            编号不在管理范围内时返回 404，且不创建任务。
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/GraduationSelection'
          responses:
            202:
              description: 任务已提交
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/TaskSubmitted'
            409:
              description: 同一范围的同类任务已在排队或执行中；或按筛选条件执行而未带正确的 confirm_count（返回 count）
            503:
              description: 任务队列暂不可用
        """
        body = load_body(GraduationSelectionSchema())
        task = graduation.start_task("graduation_audit", actor=g.user, scope=current_scope(),
                                     filters=body.get("filters") or {}, student_ids=body.get("ids") or [])
        runner.submit(task)
        return self._task_response(task)

    @expose("/confirm", methods=["POST"])
    @protect()
    @permission_name("confirm")
    @confirmed_selection(GraduationSelectionSchema, "graduation", "执行一键确认毕业")
    def confirm(self):
        """一键确认毕业: every 预毕业 student of the selection goes to the CE college, inside the window.

        ---
        post:
          summary: 一键确认毕业
          description: >-
            将勾选的学生或筛选条件下所有未确认的预毕业学生确认毕业（提交继教院）；
            仅在毕业批次的确认时间内允许：确认时间外的批次不确认，并在 refused 中列出批次、时间和人数；
            所有相关批次都在确认时间外时返回 400 且不做任何修改。
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/GraduationSelection'
          responses:
            200:
              description: 已确认
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/CountResult'
        """
        body = load_body(GraduationSelectionSchema())
        outcome = graduation.confirm(body.get("filters") or {}, current_scope(), g.user,
                                     student_ids=body.get("ids") or None)
        self._commit()
        refused = [{"batch": r.name, "window": r.window, "count": r.count, "message": r.message}
                   for r in outcome.refused]
        return self.response(200, count=outcome.confirmed, refused=refused, message=outcome.message)

    @expose("/override", methods=["POST"])
    @protect()
    @permission_name("override")
    @error_responses
    def override(self):
        """修改毕业审核结果 of the ticked students, with a required 核实说明.

        ---
        post:
          summary: 修改毕业审核结果
          description: >-
            将勾选学生的毕业审核结果改为预毕业或不合格，须填写核实说明；写入操作日志。
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/GraduationOverride'
          responses:
            200:
              description: 已修改
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/CountResult'
        """
        body = load_body(GraduationOverrideSchema())
        n = graduation.override(body["ids"], body["result"], body["reason"], actor=g.user)
        self._commit()
        return self.response(200, count=n, message=graduation.override_message(n))

    def add_apispec_components(self, api_spec) -> None:
        super().add_apispec_components(api_spec)
        add_result_components(api_spec)


class DegreeWorkflowApi(WorkflowApi):
    """学位申请审核管理 actions: 学位条件审核, 初审 (teaching sites), 批量终审 (colleges)."""

    resource_name = "degree"
    openapi_spec_tag = "学位审核操作"
    openapi_spec_component_schemas = (DegreeSelectionSchema, DegreeReviewSchema)

    @expose("/audit", methods=["POST"])
    @protect()
    @permission_name("audit")
    @confirmed_selection(DegreeSelectionSchema, "degree", "执行学位条件审核", "条学位申请")
    def audit(self):
        """学位条件审核: a background task over the ticked applications or the filter.

        ---
        post:
          summary: 学位条件审核
          description: >-
            对勾选的学位申请（ids）或筛选条件（filters，缺省为最新学位批次的已申请学生）提交学位条件审核任务。
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/DegreeSelection'
          responses:
            202:
              description: 任务已提交
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/TaskSubmitted'
            409:
              description: 同一范围的同类任务已在排队或执行中；或按筛选条件执行而未带正确的 confirm_count（返回 count）
            503:
              description: 任务队列暂不可用
        """
        body = load_body(DegreeSelectionSchema())
        task = degree.start_audit(g.user, ids=body.get("ids") or None, flt=_degree_filter(body.get("filters")))
        runner.submit(task)
        return self._task_response(task)

    @expose("/review", methods=["POST"])
    @protect()
    @permission_name("review")
    @confirmed_selection(DegreeReviewSchema, "degree", "初审", "条学位申请")
    def review(self):
        """初审 (teaching-site admins): opinion and comment, signed with the admin's e-signature.

        ---
        post:
          summary: 初审
          description: >-
            教学点管理员对已达标的学位申请初审（同意/不同意），使用已上传的电子签名；
            未达标、已终审或未上传签名时返回错误且不做任何修改。
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/DegreeReview'
          responses:
            200:
              description: 初审完成
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/CountResult'
        """
        body = load_body(DegreeReviewSchema())
        n = degree.first_review(body.get("ids") or None, body["opinion"], body["comment"], g.user,
                                flt=_degree_filter(body.get("filters")))
        self._commit()
        return self.response(200, count=n, message=degree.first_review_message(n))

    @expose("/final", methods=["POST"])
    @protect()
    @permission_name("final")
    @confirmed_selection(DegreeSelectionSchema, "degree", "批量终审", "条学位申请")
    def final(self):
        """批量终审 (college admins): 已达标 and 初审 同意 applications go to the CE college.

        ---
        post:
          summary: 批量终审
          description: >-
            学院管理员将已达标且初审同意的学位申请提交继教院；勾选的申请不符合条件时整单拒绝，
            按筛选条件时跳过不符合的并计数。
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/DegreeSelection'
          responses:
            200:
              description: 终审完成
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/CountResult'
        """
        body = load_body(DegreeSelectionSchema())
        ids = body.get("ids") or None
        out = degree.final_review(g.user, ids=ids, flt=None if ids else _degree_filter(body.get("filters")))
        self._commit()
        return self.response(200, count=out["终审"], skipped=out["跳过"], message=degree.final_review_message(out))

    def add_apispec_components(self, api_spec) -> None:
        super().add_apispec_components(api_spec)
        add_result_components(api_spec)

"""REST API of 课程替代与免修: list / show (/api/v1/course-exceptions), create, approve and reject
(/api/v1/course-exception/...): the same services and scope as the pages (app/views/exceptions.py)."""
from __future__ import annotations

from flask import g
from flask_appbuilder.api import expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import RAISE, Schema, fields, validate

from app.api.bulk import error_responses
from app.api.openapi import read_summaries
from app.api.read import ScopedReadApi
from app.api.schemas import load_body
from app.api.workflow import WorkflowApi
from app.ids import MAX_ID
from app.models.exception import CourseException
from app.security import current_scope
from app.services import exceptions, reasons
from app.statuses import ExceptionKind, ExceptionStatus, label

MAX_IDS = 1000

_LABELS = {
    "id": "编号", "student_id": "学生编号", "student.student_no": "学号", "student.name": "姓名",
    "course_code": "课程代码", "course_name": "课程名称", "kind": "类型", "kind_label": "类型名称",
    "detail": "内容", "substitute_code": "替代课程代码", "substitute_name": "替代课程名称",
    "source_institution": "来源院校", "source_course": "来源课程名称", "credits": "认定学分",
    "score": "认定成绩（空为合格）", "reason": "理由", "status": "状态", "status_label": "状态名称",
    "entered_at": "录入时间", "decided_at": "审核时间", "decision_note": "审核说明",
}


class CourseExceptionApi(ScopedReadApi):
    """课程替代与免修 (/api/v1/course-exceptions): the rows of the page, in the caller's scope."""

    datamodel = SQLAInterface(CourseException)
    resource_name = "course-exceptions"
    openapi_spec_tag = "课程替代与免修"
    list_title = show_title = "课程替代与免修"
    openapi_spec_methods = read_summaries("课程替代与免修")
    base_order = ("id", "desc")
    list_columns = ["id", "student_id", "student.student_no", "student.name", "course_code", "course_name", "kind",
                    "substitute_code", "substitute_name", "source_institution", "source_course", "credits", "score",
                    "reason", "status", "entered_at", "decided_at"]
    show_columns = [*list_columns, "decision_note"]
    order_columns = ["id", "entered_at", "decided_at", "course_code"]
    search_columns = ["student_id", "course_code", "kind", "status"]
    label_columns = dict(_LABELS)
    derived_columns = ("kind_label", "status_label")

    def decorate_row(self, row: dict) -> None:
        row["kind_label"] = label(row.get("kind"), ExceptionKind) if row.get("kind") else ""
        row["status_label"] = label(row.get("status"), ExceptionStatus) if row.get("status") else ""


def _string(text: str, max_len: int, **kw) -> fields.String:
    return fields.String(validate=validate.Length(max=max_len, error=f"{text}不能超过 {max_len} 字"),
                         error_messages={"invalid": f"{text}应为字符串", "null": f"{text}不能为 null",
                                         "required": f"请提供{text}"}, metadata={"description": text}, **kw)


_KINDS = "、".join(f"{k.value}（{label(k)}）" for k in ExceptionKind)


class _Body(Schema):
    error_messages = {"unknown": "不是可接受的参数", "type": "应为 JSON 对象"}

    class Meta:
        unknown = RAISE


class CourseExceptionCreateSchema(_Body):
    __component_name__ = "CourseExceptionCreate"
    student_no = _string("学号", 20, required=True)
    course_code = _string("教学计划课程代码", 20, required=True)
    kind = fields.String(required=True,
                         validate=validate.OneOf([k.value for k in ExceptionKind],
                                                 error=f"类型取值无效，可选：{_KINDS}"),
                         error_messages={"required": "请提供类型", "invalid": "类型应为字符串"},
                         metadata={"description": f"类型：{_KINDS}"})
    reason = _string("理由", reasons.MAX_CHARS, required=True)
    substitute_code = _string("替代课程代码（课程替代）", 20, load_default="")
    source_institution = _string("来源院校（学分认定）", exceptions.TEXT_MAX, load_default="")
    source_course = _string("来源课程名称（学分认定）", exceptions.TEXT_MAX, load_default="")
    credits = fields.Float(allow_nan=False, load_default=None, metadata={"description": "认定学分（学分认定）"},
                           error_messages={"invalid": "认定学分应为数字"})
    score = _string("认定成绩（学分认定：分数、优/良/中/及格 或 合格）", 6, load_default="")


class CourseExceptionDecisionSchema(_Body):
    __component_name__ = "CourseExceptionDecision"
    ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID, error="编号应为正整数"),
                       error_messages={"invalid": "编号应为整数"}),
        required=True, validate=validate.Length(min=1, max=MAX_IDS, error=f"请勾选至少 1 个、至多 {MAX_IDS} 个编号"),
        error_messages={"required": "请提供 ids（勾选的编号）", "invalid": "ids 应为编号数组"},
        metadata={"description": "勾选的课程替代与免修编号（course-exceptions 的 id）"})
    note = _string("审核说明（驳回时必填）", reasons.MAX_CHARS, load_default="")


class CourseExceptionWorkflowApi(WorkflowApi):
    """录入、审核通过、驳回 (same services as the page; approve/reject: CE admin only)."""

    resource_name = "course-exception"
    openapi_spec_tag = "课程替代与免修"
    openapi_spec_component_schemas = (CourseExceptionCreateSchema, CourseExceptionDecisionSchema)

    @expose("/create", methods=["POST"])
    @protect()
    @permission_name("create")
    @error_responses
    def create(self):
        """录入课程替代与免修 (待审核).

        ---
        post:
          summary: 录入课程替代与免修
          description: >-
            为管理范围内的学生录入一条课程替代 / 免修 / 学分认定（待审核）；课程须在该生的教学计划中，
            替代课程须为该生已通过的课程；校验失败返回 400，且不写入任何内容。
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CourseExceptionCreate'
          responses:
            201:
              description: 已录入
            409:
              description: 该课程已有待审核或已通过的记录
        """
        body = load_body(CourseExceptionCreateSchema())
        scope = current_scope()
        student = exceptions.find_student(body.pop("student_no"), scope)
        row = exceptions.create(exceptions.ExceptionInput.from_mapping(student.id, body), actor=g.user, scope=scope)
        self._commit()
        return self.response(201, id=row.id, status=row.status, detail=row.detail,
                             message=exceptions.created_message(row))

    def _decide(self, command, decision: str):
        body = load_body(CourseExceptionDecisionSchema())
        rows = command(body["ids"], actor=g.user, scope=current_scope(), note=body.get("note") or None)
        self._commit()
        return self.response(200, count=len(rows), message=exceptions.decided_message(decision, len(rows)))

    @expose("/approve", methods=["POST"])
    @protect()
    @permission_name("approve")
    @error_responses
    def approve(self):
        """审核通过 the ticked exceptions (继教院管理员).

        ---
        post:
          summary: 审核通过课程替代与免修
          description: >-
            将勾选的待审核记录审核通过（仅继教院管理员）；自下次毕业审核起生效，直至撤销。
            任一记录不是待审核时返回 409，且不做任何修改。
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CourseExceptionDecision'
          responses:
            200:
              description: 已审核通过
            409:
              description: 有记录不是待审核
        """
        return self._decide(exceptions.approve, "approve")

    @expose("/reject", methods=["POST"])
    @protect()
    @permission_name("reject")
    @error_responses
    def reject(self):
        """驳回 the ticked exceptions (继教院管理员), with a note.

        ---
        post:
          summary: 驳回课程替代与免修
          description: 将勾选的待审核记录驳回（仅继教院管理员），须填写审核说明。
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CourseExceptionDecision'
          responses:
            200:
              description: 已驳回
            409:
              description: 有记录不是待审核
        """
        return self._decide(exceptions.reject, "reject")

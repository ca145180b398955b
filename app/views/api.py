"""REST API under /api/v1: the four lists and the workflow actions, with the pages' permissions and scope.

Authentication is JWT only. ``POST /api/v1/security/login`` with
``{"username": ..., "password": ..., "provider": "db"}`` returns an access token (the same lockout as the
login page: ``AppSecurityManager.auth_user_db``); send it as ``Authorization: Bearer <token>``.

No endpoint here accepts the browser's session cookie (``allow_browser_login = False`` on every class):
FAB's APIs are CSRF-exempt, so a cookie must never authorize a write, and the reads follow the same rule
so that there is one way in. An account that still has to change its initial password gets 403 until it
has done so on the web page (the ``before_request`` redirect in app/security.py lets /api/ through).

Permissions are FAB's: the class name is the view name and ``can_<permission_name>`` the permission
(see ROLE_PERMISSIONS). Students have none: their only pages are 学生空间, so every API answers them 403.
Scope is the pages' scope: ``StudentScopeFilter`` on the lists, ``task_scope_clause`` (任务中心) on tasks,
and the workflow endpoints call the same service functions as the page buttons, which refuse ids outside
the scope with 404 before anything is written. Errors are JSON ``{"message": "<中文>"}``.
"""
from __future__ import annotations

import datetime as dt
import json
import urllib.parse

import prison
from flask import g, jsonify, request
from flask_appbuilder.api import BaseApi, ModelRestApi, expose
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.hooks import before_request
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)
from sqlalchemy import select

from app.audit import confirmation
from app.extensions import db
from app.ids import MAX_ID
from app.jobs import runner
from app.models.degree import DegreeApplication
from app.models.graduation import GraduationAudit
from app.models.student import Student
from app.models.task import Task
from app.security import current_scope, task_scope_clause
from app.services import degree, graduation, reasons, tasks
from app.services.errors import DomainError
from app.statuses import (
    DegreeApplicationState,
    DegreeConditionResult,
    GraduationResult,
    Level,
    ReviewOpinion,
    TaskState,
    label,
)
from app.views.api_bulk import ConfirmCount, confirmed_selection, error_responses
from app.views.api_bulk import degree_filter as _degree_filter
from app.views.input_guard import whole_number_ok
from app.views.scoped import StudentScopeFilter

MAX_PAGE_SIZE = 100
MAX_IDS = 10000
TASK_SUBMITTED = "任务已提交，可在任务中心查看进度"
OPEN_STATES = (TaskState.QUEUED.value, TaskState.RUNNING.value)
MUST_CHANGE_PASSWORD = "首次登录请先在网页上修改初始密码，之后才能使用接口"

# --------------------------------------------------------------------------- access


def _has_huge_int(value, depth: int = 0) -> bool:
    """An integer outside 64 bits anywhere in a parsed ``q`` (no column holds one; drivers cannot bind it)."""
    if depth > 50:
        return False  # deeper nesting is FAB's to refuse
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2**63) <= value < 2**63
    if isinstance(value, dict):
        return any(_has_huge_int(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_has_huge_int(v, depth + 1) for v in value)
    return False


class ApiAccessMixin:
    """JWT-only access with Chinese error bodies; refuses accounts that must change their password."""

    allow_browser_login = False

    @before_request
    def _api_account(self):
        """Runs before FAB's ``@protect``: make the token's account the request's user (and scope)."""
        bad_query = self._bad_query()
        if bad_query:
            return self.response_400(bad_query)
        verify_jwt_in_request(optional=True)  # a bad or expired token answers 401 here
        user = get_current_user()
        g.pop("_scope", None)  # current_scope() must be computed for the token's account
        if user is None:
            return None  # no token: @protect answers 401
        g.user = user
        if getattr(user, "must_change_password", False):
            return self.response(403, message=MUST_CHANGE_PASSWORD)
        return None

    @staticmethod
    def _bad_query() -> str | None:
        """``q`` on which FAB would answer 500: answer 400 instead.

        prison crashes on some inputs ("(((", "(page:"); the database refuses an OFFSET below 0 or past
        64 bits (a ``page`` out of range), and SQLite cannot even bind an integer beyond 64 bits.
        """
        raw = request.args.get("q")
        if not raw:
            return None
        try:
            args = prison.loads(raw)
        except prison.decoder.ParserException:
            try:  # FAB's JSON fallback, parsed as FAB parses it
                args = json.loads(urllib.parse.parse_qs(f"q={raw}").get("q", [""])[0])
            except Exception:  # noqa: BLE001  (FAB answers 400 itself)
                return None
        except Exception:  # noqa: BLE001  (RecursionError, TypeError inside prison)
            return "q 不是有效的 Rison 参数"
        if _has_huge_int(args):
            return "q 中的数值超出范围"
        page = args.get("page") if isinstance(args, dict) else None
        if isinstance(page, int) and not isinstance(page, bool) and not 0 <= page <= MAX_ID:
            return f"page 应为 0 到 {MAX_ID} 之间的整数"
        return None

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs) -> None:
        """OpenAPI: these endpoints accept the JWT only (FAB also lists its API-key scheme, which is off).

        Every one of them answers 403 to an account without the permission (students) or that must
        still change its password, so 403 is documented on each, not only on the workflow endpoints.
        """
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        for operation in operations.values():
            if "security" in operation:
                operation["security"] = [{"jwt": []}]
                responses = operation.setdefault("responses", {})
                if 403 not in responses and "403" not in responses:  # YAML docstrings give int keys
                    responses[403] = {"$ref": "#/components/responses/403"}

    def response_400(self, message=None):
        text = "请求参数无效" + (f"：{message}" if message else "")
        return self.response(400, message=text)

    def response_401(self):
        return self.response(401, message="请先登录（需要有效的访问令牌）")

    def response_403(self):
        return self.response(403, message="没有权限进行此操作")

    def response_404(self):
        return self.response(404, message="记录不存在或不在您的管理范围内")

    def response_422(self, message=None):
        return self.response(422, message="请求内容无法处理")

    def response_500(self, message=None):
        return self.response(500, message="系统内部错误")


# --------------------------------------------------------------------------- read APIs


class TaskScopeFilter(BaseFilter):
    """The 任务中心 rule (``app.security.task_scope_clause``) as a FAB base filter."""

    name = "task scope"
    arg_name = "task_scope"

    def apply(self, query, value):
        return query.filter(task_scope_clause(current_scope()))


class UtcDateTime(fields.DateTime):
    """Timestamps are stored as naive UTC (``app.models.base.utcnow``): the API writes them with ``+00:00``.

    Without the offset a client could not tell UTC from 北京时间, and the value would not be the
    ``date-time`` (RFC 3339) that the OpenAPI document promises.
    """

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class _Converter(Model2SchemaConverter):
    """Name nested schemas after the relation too (site and college are both Organisation); UTC timestamps."""

    def _column2relation(self, datamodel, column, nested=False, parent_schema_name=None):
        name = f"{parent_schema_name}.{column.name}" if parent_schema_name else None
        return super()._column2relation(datamodel, column, nested=nested, parent_schema_name=name)

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        field = super()._column2field(datamodel, column, nested=nested, parent_schema_name=parent_schema_name)
        if type(field) is fields.DateTime:  # not Date, which subclasses it
            field = UtcDateTime(required=field.required, allow_none=field.allow_none, dump_only=field.dump_only,
                                metadata=field.metadata)
        return field


class _NoWriteSchema(Schema):
    """Placeholder for FAB's post/put schemas: these APIs have no generic writes."""


class ScopedReadApi(ApiAccessMixin, ModelRestApi):
    """Read-only ``ModelRestApi``: GET one and GET list, scoped, paginated (at most 100 rows)."""

    include_route_methods = {"get", "get_list"}
    base_filters = [["id", StudentScopeFilter, lambda: None]]
    page_size = 20
    max_page_size = MAX_PAGE_SIZE
    add_model_schema = edit_model_schema = _NoWriteSchema()
    model2schemaconverter = _Converter
    derived_columns: tuple[str, ...] = ()  # the keys decorate_row adds (documented in the OpenAPI schemas)

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs) -> None:
        """OpenAPI: the primary keys in ``id`` and ``ids`` are integers (FAB documents them as strings)."""
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        for operation in operations.values():
            ok = operation.get("responses", {}).get(200, {}).get("content", {}).get("application/json", {})
            props = ok.get("schema", {}).get("properties", {})
            if "ids" in props:
                props["ids"] = {**props["ids"], "items": {"type": "integer"}}
            if "id" in props:
                props["id"] = {**props["id"], "type": "integer"}

    def add_apispec_components(self, api_spec) -> None:
        """Document only the list and show schemas (FAB would add post/put ones we do not route)."""
        BaseApi.add_apispec_components(self, api_spec)
        page = api_spec.components.schemas.get("get_list_schema", {}).get("properties", {}).get("page")
        if page is not None:  # the bounds _bad_query enforces
            page.update(minimum=0, maximum=MAX_ID)
        for name, schema in ((self.list_model_schema_name, self.list_model_schema),
                             (self.show_model_schema_name, self.show_model_schema)):
            api_spec.components.schema(name, schema=schema)
            properties = api_spec.components.schemas[name].setdefault("properties", {})
            for column in self.derived_columns:
                properties[column] = {"type": "string", "readOnly": True,
                                      "description": self.label_columns.get(column, column)}

    def decorate_row(self, row: dict) -> None:
        """Add derived Chinese labels to one serialised row (no query: from its own columns)."""

    def get_list_headless(self, **kwargs):
        bad = self._bad_filter_values(kwargs.get("rison", {}).get("filters"))
        if bad:
            return self.response_400(bad)
        return super().get_list_headless(**kwargs)

    def _bad_filter_values(self, filters) -> str | None:
        """FAB passes a filter's value to SQL as given: a number on a text column, or a scalar for ``in``,
        is a database error (500) on PostgreSQL. Integer columns take an integer or a string (FAB converts it);
        text columns a string; ``in``/``not_in`` an array of those. Unknown columns and operators are FAB's to refuse.
        """
        columns = self.datamodel.obj.__table__.columns
        for flt in filters if isinstance(filters, list) else []:
            name = flt.get("col") if isinstance(flt, dict) else None
            if name not in self.search_columns or name not in columns:
                continue
            is_int = columns[name].type.python_type is int
            accepted = (int, str) if is_int else (str,)
            value = flt.get("value")
            many = flt.get("opr") in ("in", "not_in")
            values = value if many and isinstance(value, list) else [value]
            if (many and not isinstance(value, list)) or not all(
                    isinstance(v, accepted) and not isinstance(v, bool) for v in values):
                kind = "整数" if is_int else "字符串"
                return f"筛选条件 {name} 的取值应为{kind}" + ("数组" if many else "")
            if is_int and not all(whole_number_ok(v) for v in values):  # '99999999999999999999': no INTEGER holds it
                return f"筛选条件 {name} 的取值应为不超过 {MAX_ID} 的整数"
        return None

    def pre_get(self, data: dict) -> None:
        self.decorate_row(data["result"])

    def pre_get_list(self, data: dict) -> None:
        for row in data["result"]:
            self.decorate_row(row)


def read_summaries(title: str) -> dict:
    """Chinese summaries of the two read operations in the OpenAPI document."""
    return {"get_list": {"get": {"summary": f"{title}列表（分页，每页至多 {MAX_PAGE_SIZE} 条）"}},
            "get": {"get": {"summary": f"{title}详情（不在管理范围内时 404）"}}}


_STUDENT_LABELS = {
    "id": "编号", "student_no": "学号", "name": "姓名", "gender": "性别", "id_card": "身份证号",
    "birth_date": "出生日期",
    "ethnicity": "民族", "political_status": "政治面貌", "mobile": "手机号", "enrol_grade": "学籍年级",
    "study_grade": "学习年级", "level": "层次", "level_label": "层次名称", "major.name": "专业",
    "college.name": "二级学院", "site.name": "教学点", "study_mode": "学习形式", "study_mode_label": "学习形式名称",
    "duration_years": "学制（年）", "status": "学籍状态", "status_label": "学籍状态名称", "enrolled_on": "入学日期",
    "passed_courses": "已通过课程数", "earned_credits": "已获总学分", "synced_at": "同步时间", "has_photo": "毕业照片",
    "student.student_no": "学号", "student.name": "姓名", "student_id": "学生编号",
}


class StudentApi(ScopedReadApi):
    """学生学籍 (/api/v1/students): the same rows and fields as the 学生学籍 page."""

    datamodel = SQLAInterface(Student)
    resource_name = "students"
    openapi_spec_tag = "学生学籍"
    list_title = show_title = "学生学籍"
    openapi_spec_methods = read_summaries("学生学籍")
    base_order = ("student_no", "asc")
    list_columns = ["id", "student_no", "name", "enrol_grade", "study_grade", "level", "level_label", "site.name",
                    "major.name", "status", "status_label", "passed_courses", "earned_credits", "has_photo"]
    show_columns = ["id", "student_no", "name", "gender", "id_card", "birth_date", "ethnicity", "political_status",
                    "mobile", "enrol_grade", "study_grade", "level", "level_label", "major.name", "college.name",
                    "study_mode", "study_mode_label", "duration_years", "site.name", "status", "status_label",
                    "enrolled_on", "passed_courses", "earned_credits", "synced_at", "has_photo"]
    order_columns = ["student_no", "name", "enrol_grade", "study_grade", "level", "status", "earned_credits"]
    search_columns = ["student_no", "name", "enrol_grade", "study_grade", "level", "status"]
    label_columns = dict(_STUDENT_LABELS)


class GraduationResultApi(ScopedReadApi):
    """毕业审核结果 (/api/v1/graduation-results): one GraduationAudit row per audited student."""

    datamodel = SQLAInterface(GraduationAudit)
    resource_name = "graduation-results"
    openapi_spec_tag = "毕业审核结果"
    list_title = show_title = "毕业审核结果"
    openapi_spec_methods = read_summaries("毕业审核结果")
    base_order = ("id", "asc")
    list_columns = ["id", "student_id", "student.student_no", "student.name", "batch.name", "result", "result_label",
                    "is_override", "confirmed_at", "published_at", "diploma_no", "graduation_date"]
    show_columns = ["id", "student_id", "student.student_no", "student.name", "batch.name", "result", "result_label",
                    "computed_result", "computed_reasons", "computed_at", "is_override", "override_result",
                    "override_reason", "override_at", "confirmed_at", "published_at", "diploma_no", "graduation_date"]
    order_columns = ["id", "student_id", "result", "confirmed_at", "published_at", "diploma_no"]
    search_columns = ["result", "diploma_no", "student_id", "batch_id"]
    label_columns = {
        **_STUDENT_LABELS,
        "batch.name": "毕业批次", "result": "毕业审核结果", "result_label": "毕业审核结果名称",
        "computed_result": "计算结果", "computed_reasons": "不合格原因", "computed_at": "审核时间",
        "is_override": "人工修改", "override_result": "修改后结果", "override_reason": "核实说明",
        "override_at": "修改时间", "confirmed_at": "确认时间", "published_at": "发布时间", "diploma_no": "毕业证书编号",
        "graduation_date": "毕业日期", "confirm_state": "确认状态", "confirm_state_label": "确认状态名称",
        "student_id": "学生编号", "batch_id": "毕业批次编号",
    }

    derived_columns = ("confirm_state", "confirm_state_label")

    def decorate_row(self, row: dict) -> None:
        state = confirmation.confirm_state(row.get("confirmed_at"), row.get("published_at"))
        row["confirm_state"] = state
        row["confirm_state_label"] = confirmation.CONFIRM_LABELS[state]


class DegreeApplicationApi(ScopedReadApi):
    """学位申请 (/api/v1/degree-applications): condition result, 初审, 终审 and 发布 of each application."""

    datamodel = SQLAInterface(DegreeApplication)
    resource_name = "degree-applications"
    openapi_spec_tag = "学位申请"
    list_title = show_title = "学位申请"
    openapi_spec_methods = read_summaries("学位申请")
    base_order = ("id", "asc")
    list_columns = ["id", "student_id", "student.student_no", "student.name", "batch.name", "applied_at", "result",
                    "result_label", "review_opinion", "reviewed_at", "final_at", "published_at", "degree_no"]
    show_columns = ["id", "student_id", "student.student_no", "student.name", "batch.name", "applied_at", "result",
                    "result_label", "computed_result", "computed_reasons", "computed_at", "override_result",
                    "override_reason", "override_at", "review_opinion", "review_comment", "reviewed_at", "final_at",
                    "published_at", "degree_no", "granted_on"]
    order_columns = ["id", "student_id", "applied_at", "result", "reviewed_at", "final_at", "published_at"]
    search_columns = ["result", "review_opinion", "degree_no", "student_id", "batch_id"]
    label_columns = {
        **_STUDENT_LABELS,
        "batch.name": "学位批次", "applied_at": "申请时间", "result": "学位申请条件是否达标",
        "result_label": "学位申请条件是否达标（名称）", "computed_result": "计算结果", "computed_reasons": "未达标原因",
        "computed_at": "审核时间", "override_result": "修改后授予结论", "override_reason": "核实说明",
        "override_at": "修改时间", "review_opinion": "初审意见", "review_opinion_label": "初审意见名称",
        "review_comment": "初审说明", "reviewed_at": "初审时间", "final_at": "终审时间", "published_at": "发布时间",
        "degree_no": "学位证书编号", "granted_on": "授予日期", "batch_id": "学位批次编号",
    }

    derived_columns = ("review_opinion_label",)

    def decorate_row(self, row: dict) -> None:
        opinion = row.get("review_opinion")
        row["review_opinion_label"] = label(opinion, ReviewOpinion) if opinion else "未初审"


class TaskApi(ScopedReadApi):
    """任务中心 (/api/v1/tasks): the organisation's tasks (all for the CE admin), as on the page."""

    datamodel = SQLAInterface(Task)
    resource_name = "tasks"
    openapi_spec_tag = "任务中心"
    list_title = show_title = "任务中心"
    openapi_spec_methods = read_summaries("任务中心")
    base_filters = [["id", TaskScopeFilter, lambda: None]]
    base_order = ("id", "desc")
    list_columns = ["id", "kind", "scope_text", "requested_by.username", "created_at", "started_at", "finished_at",
                    "state", "state_label", "done", "total", "percent", "summary", "result_name", "error"]
    show_columns = list_columns + ["retry_of_id"]
    order_columns = ["id", "created_at", "finished_at", "state", "kind"]
    search_columns = ["kind", "state"]
    label_columns = {
        "id": "任务编号", "kind": "任务类型", "kind_label": "任务类型名称", "scope_text": "范围",
        "requested_by.username": "提交人",
        "created_at": "提交时间", "started_at": "开始时间", "finished_at": "完成时间", "state": "状态",
        "state_label": "状态名称", "done": "已处理", "total": "总数", "percent": "进度（%）", "summary": "结果摘要",
        "result_name": "结果文件", "error": "错误信息", "retry_of_id": "重试自任务",
    }

    derived_columns = ("kind_label",)

    def decorate_row(self, row: dict) -> None:
        row["kind_label"] = tasks.TASK_KINDS.get(row.get("kind"), row.get("kind"))

    def _reap_stale(self, pk=None) -> None:
        """As the 任务中心 page does: tasks whose worker died read 失败, not 执行中 forever."""
        stmt = select(Task).where(task_scope_clause(current_scope()), Task.state.in_(OPEN_STATES))
        if pk is not None:
            stmt = stmt.where(Task.id == pk)
        tasks.reap_stale(list(db.session.scalars(stmt.limit(MAX_PAGE_SIZE))))

    def get_headless(self, pk, **kwargs):
        self._reap_stale(pk)  # ``<int:pk>`` stops at app.ids.MAX_ID (IdConverter): a row id or a 404
        return super().get_headless(pk, **kwargs)

    def get_list_headless(self, **kwargs):
        self._reap_stale()
        return super().get_list_headless(**kwargs)


# --------------------------------------------------------------------------- request bodies


class _Body(Schema):
    """Base of the request schemas: unknown keys are refused (a typo must not widen a filter)."""

    error_messages = {"unknown": "不是可接受的参数", "type": "应为 JSON 对象"}

    class Meta:
        unknown = RAISE


def _int(text: str, **kw) -> fields.Integer:
    positive = validate.Range(min=1, max=MAX_ID, error=f"{text}应为正整数（不超过 {MAX_ID}）")
    return fields.Integer(strict=True, validate=positive,
                          error_messages={"invalid": f"{text}应为整数", "null": f"{text}不能为 null"}, **kw)


def _code(text: str, enum, values=None, **kw) -> fields.String:
    allowed = list(values or [m.value for m in enum])
    names = "、".join(f"{v}（{label(v, enum)}）" for v in allowed)
    return fields.String(validate=validate.OneOf(allowed, error=f"{text}取值无效，可选：{names}"),
                         error_messages={"invalid": f"{text}应为字符串", "null": f"{text}不能为 null",
                                         "required": f"请提供{text}"},
                         metadata={"description": f"{text}：{names}"}, **kw)


def _text(text: str, max_len: int, **kw) -> fields.String:
    return fields.String(validate=validate.Length(max=max_len, error=f"{text}不能超过 {max_len} 字"),
                         error_messages={"invalid": f"{text}应为字符串", "null": f"{text}不能为 null",
                                         "required": f"请提供{text}"}, **kw)


def _ids(text: str, min_len: int = 0, hint: str = "；与 filters 二选一，勾选优先", **kw) -> fields.List:
    error = f"请勾选至少 1 个、至多 {MAX_IDS} 个编号" if min_len else f"一次最多 {MAX_IDS} 个编号"
    return fields.List(_int(text), validate=validate.Length(min=min_len, max=MAX_IDS, error=error),
                       error_messages={"invalid": "ids 应为编号数组", "null": "ids 不能为 null",
                                       "required": "请提供 ids（勾选的编号）"},
                       metadata={"description": f"勾选的{text}{hint}"}, **kw)


class GraduationFilterSchema(_Body):
    """毕业审核管理 filter bar; ``{}`` means every student in the caller's scope."""

    enrol_grade = _int("学籍年级")
    study_grade = _int("学习年级")
    level = _code("层次", Level)
    site_id = _int("教学点编号")
    major_id = _int("专业编号")
    result = _code("毕业审核结果", GraduationResult)
    q = _text("姓名/学号", 50)


class DegreeFilterSchema(_Body):
    """学位申请审核管理 filter bar; without ``batch_id`` the latest 学位批次, as on the page."""

    batch_id = _int("学位批次编号")
    applied = _code("学生申请状态", DegreeApplicationState)
    result = _code("学位申请条件是否达标", DegreeConditionResult)
    site_id = _int("教学点编号")
    major_id = _int("专业编号")
    grade = _int("年级")
    level = _code("层次", Level)
    q = _text("姓名/学号", 50)


SELECTION_NEEDED = "请提供 ids（勾选的编号）或 filters（筛选条件，{} 表示管理范围内全部）"


class _Selection(_Body, ConfirmCount):
    """Either ticked ids or a filter (then with confirm_count: app/views/api_bulk.py), as on the pages."""

    @validates_schema
    def _one_of(self, data, **_kw):
        if not data.get("ids") and "filters" not in data:
            raise ValidationError(SELECTION_NEEDED)


class GraduationSelectionSchema(_Selection):
    __component_name__ = "GraduationSelection"
    ids = _ids("学生编号（students 的 id）")
    filters = fields.Nested(GraduationFilterSchema, error_messages={"null": "filters 不能为 null"})


class GraduationOverrideSchema(_Body):
    __component_name__ = "GraduationOverride"
    ids = _ids("学生编号（students 的 id）", min_len=1, hint="", required=True)
    result = _code("毕业审核结果", GraduationResult, graduation.SETTABLE_RESULTS, required=True)
    reason = _text("核实说明", reasons.MAX_CHARS, required=True)


class DegreeSelectionSchema(_Selection):
    __component_name__ = "DegreeSelection"
    ids = _ids("学位申请编号（degree-applications 的 id）")
    filters = fields.Nested(DegreeFilterSchema, error_messages={"null": "filters 不能为 null"})


class DegreeReviewSchema(DegreeSelectionSchema):
    __component_name__ = "DegreeReview"
    opinion = _code("初审意见", ReviewOpinion, required=True)
    comment = _text("初审说明", reasons.MAX_CHARS, load_default="")


def _flatten(messages, path: str = "") -> list[str]:
    """marshmallow's nested error dict as flat Chinese sentences (unknown keys name the key)."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            sub = path if key == "_schema" or isinstance(key, int) else (f"{path}.{key}" if path else str(key))
            out.extend(_flatten(value, sub))
        return out
    if isinstance(messages, (list, tuple)):
        return [m for item in messages for m in _flatten(item, path)]
    text = str(messages)
    return [f"{text}：{path}" if text in _Body.error_messages.values() and path else text]


def load_body(schema: Schema) -> dict:
    """The JSON body validated by ``schema``, or DomainError (400, Chinese) before anything is written."""
    if not request.is_json:
        raise DomainError("请求内容应为 JSON（Content-Type: application/json）")
    data = request.get_json(silent=True)
    if data is None:
        raise DomainError("请求内容不是有效的 JSON")
    if not isinstance(data, dict):
        raise DomainError("请求内容应为 JSON 对象")
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise DomainError("请求参数有误：" + "；".join(dict.fromkeys(_flatten(exc.messages)))) from None


# --------------------------------------------------------------------------- workflow APIs

class WorkflowApi(ApiAccessMixin, BaseApi):
    """Base of the workflow endpoints: JWT only, JSON bodies, the pages' services, commit at the end."""

    allow_browser_login = False  # the API is CSRF-exempt: a browser cookie must never authorize a write

    @staticmethod
    def _commit():
        db.session.commit()

    def _task_response(self, task):
        """202 with the task id; the task's progress is at /api/v1/tasks/<id> and in 任务中心."""
        return self.response(202, task_id=task.id, message=TASK_SUBMITTED,
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
            仅在毕业批次的确认时间内允许，否则返回 400 且不做任何修改。
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
        n = graduation.confirm(body.get("filters") or {}, current_scope(), g.user, student_ids=body.get("ids") or None)
        self._commit()
        message = f"已确认毕业 {n} 名学生，名单已提交继教院" if n else "当前筛选条件下没有未确认的预毕业学生"
        return self.response(200, count=n, message=message)

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
        return self.response(200, count=n, message=f"已修改 {n} 名学生的毕业审核结果")

    def add_apispec_components(self, api_spec) -> None:
        super().add_apispec_components(api_spec)
        _add_result_components(api_spec)


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
        message = f"初审完成：{n} 名学生的初审意见已签名保存" if n else "初审意见未变化"
        return self.response(200, count=n, message=message)

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
        message = f"批量终审完成：{out['终审']} 名学生的学位申请已提交继教院"
        if out["跳过"]:
            message += f"；{out['跳过']} 名学生未达标或未经初审同意，未提交"
        return self.response(200, count=out["终审"], skipped=out["跳过"], message=message)

    def add_apispec_components(self, api_spec) -> None:
        super().add_apispec_components(api_spec)
        _add_result_components(api_spec)


def _add_result_components(api_spec) -> None:
    """Response bodies shared by the workflow endpoints (registered once per document)."""
    from apispec.exceptions import DuplicateComponentNameError

    components = {
        "TaskSubmitted": {"type": "object", "properties": {
            "task_id": {"type": "integer", "description": "任务编号"},
            "message": {"type": "string"},
            "scope_text": {"type": "string", "description": "任务范围"},
            "task_url": {"type": "string", "description": "查询任务进度的接口地址"},
        }},
        "CountResult": {"type": "object", "properties": {
            "count": {"type": "integer", "description": "处理的学生或申请数"},
            "skipped": {"type": "integer", "description": "按筛选条件跳过的数目（仅批量终审）"},
            "message": {"type": "string"},
        }},
    }
    for name, schema in components.items():
        try:
            api_spec.components.schema(name, schema)
        except DuplicateComponentNameError:
            pass


# --------------------------------------------------------------------------- registration


def _json_error(message: str, status: int = 401):
    return jsonify(message=message), status


def register(appbuilder) -> None:
    """Add the APIs and give the JWT layer Chinese answers (missing, invalid, expired token)."""
    for api in (StudentApi, GraduationResultApi, DegreeApplicationApi, TaskApi, GraduationWorkflowApi,
                DegreeWorkflowApi):
        appbuilder.add_api(api)
    jwt = appbuilder.sm.jwt_manager
    jwt.unauthorized_loader(lambda _reason: _json_error("请先登录（需要有效的访问令牌）"))
    jwt.invalid_token_loader(lambda _reason: _json_error("访问令牌无效，请重新登录"))
    jwt.expired_token_loader(lambda _header, _data: _json_error("访问令牌已过期，请重新登录"))
    jwt.user_lookup_error_loader(lambda _header, _data: _json_error("账号不存在或已停用"))
    jwt.revoked_token_loader(
        lambda _header, _data: _json_error("访问令牌已失效（密码已修改、已重置或账号已停用），请重新登录"))

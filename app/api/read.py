"""The four read lists (学生, 毕业审核结果, 学位申请, 任务) as FAB ModelRestApis, scoped like the pages."""
from __future__ import annotations

from flask_appbuilder.api import BaseApi, ModelRestApi
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select

from app.api.access import MAX_PAGE_SIZE, OPEN_STATES, ApiAccessMixin
from app.api.openapi import NoWriteSchema, ReadSchemaConverter, read_summaries
from app.audit import confirmation
from app.extensions import db
from app.ids import MAX_ID
from app.models.degree import DegreeApplication
from app.models.graduation import GraduationAudit
from app.models.student import Student
from app.models.task import Task
from app.security import current_scope, task_scope_clause
from app.services import tasks
from app.statuses import (
    ReviewOpinion,
    label,
)
from app.views.input_guard import whole_number_ok
from app.views.scoped import StudentScopeFilter


class TaskScopeFilter(BaseFilter):
    """The 任务中心 rule (``app.security.task_scope_clause``) as a FAB base filter."""

    name = "task scope"
    arg_name = "task_scope"

    def apply(self, query, value):
        return query.filter(task_scope_clause(current_scope()))


class ScopedReadApi(ApiAccessMixin, ModelRestApi):
    """Read-only ``ModelRestApi``: GET one and GET list, scoped, paginated (at most 100 rows)."""

    include_route_methods = {"get", "get_list"}
    base_filters = [["id", StudentScopeFilter, lambda: None]]
    page_size = 20
    max_page_size = MAX_PAGE_SIZE
    add_model_schema = edit_model_schema = NoWriteSchema()
    model2schemaconverter = ReadSchemaConverter
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
        "summary_text": "结果摘要（文字，同任务中心）", "result_name": "结果文件", "error": "错误信息",
        "retry_of_id": "重试自任务",
    }

    derived_columns = ("kind_label", "summary_text")

    def decorate_row(self, row: dict) -> None:
        row["kind_label"] = tasks.TASK_KINDS.get(row.get("kind"), row.get("kind"))
        row["summary_text"] = tasks.summary_text(row.get("summary"))

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

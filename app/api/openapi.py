"""The OpenAPI document's pieces: UTC date-times, read-only schemas, the result components."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder.api.convert import Model2SchemaConverter
from marshmallow import (
    Schema,
    fields,
)

from app.api.access import MAX_PAGE_SIZE


class UtcDateTime(fields.DateTime):
    """Timestamps are stored as naive UTC (``app.models.base.utcnow``): the API writes them with ``+00:00``.

    Without the offset a client could not tell UTC from 北京时间, and the value would not be the
    ``date-time`` (RFC 3339) that the OpenAPI document promises.
    """

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class ReadSchemaConverter(Model2SchemaConverter):
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


class NoWriteSchema(Schema):
    """Placeholder for FAB's post/put schemas: these APIs have no generic writes."""


def read_summaries(title: str) -> dict:
    """Chinese summaries of the two read operations in the OpenAPI document."""
    return {"get_list": {"get": {"summary": f"{title}列表（分页，每页至多 {MAX_PAGE_SIZE} 条）"}},
            "get": {"get": {"summary": f"{title}详情（不在管理范围内时 404）"}}}


def add_result_components(api_spec) -> None:
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
            "refused": {"type": "array", "description": "确认时间已过或未到而未确认的批次（仅一键确认毕业）",
                        "items": {"type": "object", "properties": {
                            "batch": {"type": "string", "description": "批次，如 2021级 高起本 批次"},
                            "window": {"type": "string", "description": "确认毕业时间"},
                            "count": {"type": "integer", "description": "未确认的学生数"},
                            "message": {"type": "string"}}}},
            "message": {"type": "string"},
        }},
    }
    for name, schema in components.items():
        try:
            api_spec.components.schema(name, schema)
        except DuplicateComponentNameError:
            pass

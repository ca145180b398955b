"""The workflow endpoints' shared pieces: their error responses, the degree filter, and the one
bulk-action rule in the REST API (app/views/bulk.py is the pages' side).

A workflow request with ``ids`` acts on exactly those; with only ``filters`` it runs when
``confirm_count`` equals the server's count of that filter in the caller's scope, else the answer
is 409 with the count and the confirmation sentence, and nothing changes.
"""
from __future__ import annotations

import functools

from flask import request
from marshmallow import Schema, fields, validate

from app.ids import MAX_ID
from app.security import current_scope
from app.services import degree, graduation, list_pages

_ERRORS = """
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
"""
_409 = """
            409:
              description: 按筛选条件执行而未带正确的 confirm_count：返回当前筛选的人数 count 与确认提示
"""


def error_responses(f):
    """Append the error responses shared by every workflow endpoint to its OpenAPI docstring."""
    f.__doc__ = (f.__doc__ or "").rstrip() + "\n" + _ERRORS
    return f


def degree_filter(raw: dict | None) -> degree.DegreeFilter:
    """Like the page: the filter as given, the latest 学位批次 when none is named."""
    flt = degree.DegreeFilter.from_mapping(raw or {})
    if flt.batch_id is None:
        latest = degree.latest_batch()
        flt = flt.with_batch(latest.id if latest else None)
    return flt


class ConfirmCount(Schema):
    """``confirm_count`` of a selection schema (see the module doc)."""

    confirm_count = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=MAX_ID, error="confirm_count 应为非负整数"),
        error_messages={"invalid": "confirm_count 应为整数", "null": "confirm_count 不能为 null"},
        metadata={"description": "按筛选条件（不勾选 ids）执行时必填：先不带此项请求，服务器以 409 返回当前筛选的人数"
                                 "（count），确认后以该人数重发。人数变化时再次返回 409。"})


def _count(workflow: str, body: dict) -> int:
    """The filter's count in the caller's scope: students (毕业) or pending applications (学位)."""
    if workflow == "graduation":
        return graduation.count_query(graduation.filtered_students_query(body.get("filters") or {}, current_scope()))
    return list_pages.degree_filter_count(current_scope(), degree_filter(body.get("filters")))


def confirmed_selection(schema, workflow: str, verb: str, noun: str = "名学生"):
    """Decorator of a workflow endpoint: the shared error responses and 409 in its OpenAPI text, and the rule."""

    def wrap(f):
        doc = (f.__doc__ or "").rstrip() + "\n" + _ERRORS
        f.__doc__ = doc if "409:" in doc else doc.rstrip() + "\n" + _409

        @functools.wraps(f)
        def endpoint(self, *args, **kwargs):
            data = request.get_json(silent=True) if request.is_json else None
            body = schema().load(data) if isinstance(data, dict) and not schema().validate(data) else None
            if body is not None and not body.get("ids"):  # a bad body: the endpoint answers its own 400
                count = _count(workflow, body)
                if count and body.get("confirm_count") != count:
                    return self.response(409, count=count, message=f"将对当前筛选的 {count} {noun}{verb}，确定吗？"
                                                                   f"（请以 confirm_count={count} 重新提交）")
            return f(self, *args, **kwargs)

        return endpoint

    return wrap

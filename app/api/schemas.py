"""Request bodies of the workflow endpoints (marshmallow), validated into a Chinese 400 with every problem."""
from __future__ import annotations

from flask import request
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from app.api.access import MAX_IDS
from app.api.bulk import ConfirmCount
from app.ids import MAX_ID
from app.services import graduation, reasons
from app.services.errors import DomainError
from app.statuses import (
    DegreeApplicationState,
    DegreeConditionResult,
    GraduationResult,
    Level,
    ReviewOpinion,
    label,
)


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
    """Either ticked ids or a filter (then with confirm_count: app/api/bulk.py), as on the pages."""

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

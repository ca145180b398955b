"""Hostile input is normal input: checked once, before any view, for pages and API alike.

- Control characters (NUL …) in a query argument, a form field (files excepted) or a JSON string: PostgreSQL
  refuses NUL in text ("A string literal cannot contain NUL"), which was a 500 wherever such a value reached a
  query — the login form, searches, filters, reasons. Tab and line breaks stay allowed (text areas).
- JSON nested deeper than ``MAX_JSON_DEPTH``: the parser ran out of recursion (a 500).
- Flask-AppBuilder's list arguments: a sort column the view does not offer, a sort direction that is not
  asc/desc, a filter value past INTEGER on a whole-number column (SQLite: OverflowError, PostgreSQL: integer
  out of range). The REST API's rison ``q`` is checked by the API itself with the same helpers.
Each is answered 400 with a Chinese message (JSON under /api/), before anything is read or written.
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import BadRequest

from app.ids import MAX_ID

MAX_JSON_DEPTH = 32
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FLT = re.compile(r"^_flt_\d+_(?P<col>.+)$")
_WHOLE = re.compile(r"^[+-]?\d+$")

CONTROL_MESSAGE = "输入中包含不允许的控制字符（例如 NUL），请删除后重试"
DEPTH_MESSAGE = "请求数据嵌套层级过深，无法处理"
JSON_MESSAGE = "请求数据不是有效的 JSON"
SORT_MESSAGE = "排序条件无效：不能按该列排序"
NUMBER_MESSAGE = "筛选条件无效：{what}应为不超过 2147483647 的整数"


class HostileInput(BadRequest):
    """A 400 whose ``description`` is the Chinese message the page or the API shows."""


def _refuse(message: str) -> None:
    raise HostileInput(description=message)


def _json_depth(text: str) -> int:
    """Deepest nesting of arrays/objects in a JSON text, counted without parsing (no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def _strings(value: Any):
    """Every string in a parsed JSON value, keys included (iteratively: the depth is bounded already)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _check_json() -> None:
    raw = request.get_data(cache=True, as_text=False)
    if not raw:
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _refuse(JSON_MESSAGE)
    if _json_depth(text) > MAX_JSON_DEPTH:
        _refuse(DEPTH_MESSAGE)
    try:
        parsed = json.loads(text)
    except ValueError:
        return  # the view answers malformed JSON itself (FAB's API: 400)
    if any(CONTROL.search(s) for s in _strings(parsed)):
        _refuse(CONTROL_MESSAGE)


def _view(endpoint: str):
    name = endpoint.rpartition(".")[0]
    if not name:
        return None
    for view in current_app.appbuilder.baseviews:
        if getattr(view, "endpoint", None) == name:
            return view
    return None


def integer_column(view, column: str) -> bool:
    from sqlalchemy import Integer

    model = getattr(getattr(view, "datamodel", None), "obj", None)
    table = getattr(model, "__table__", None)
    if table is None or column not in table.columns:
        return False
    return isinstance(table.columns[column].type, Integer)


def whole_number_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_ID
    text = str(value).strip()
    return bool(_WHOLE.match(text)) and text.isascii() and abs(int(text)) <= MAX_ID


def _check_list_arguments(view) -> None:
    """FAB's ``?_oc_<View>=col&_od_<View>=asc`` and ``?_flt_<n>_<col>=value`` on list pages."""
    name = type(view).__name__
    order_columns = getattr(view, "order_columns", None) or []
    for key, value in request.args.items():
        if key == f"_oc_{name}" and value not in order_columns:
            _refuse(SORT_MESSAGE)
        elif key == f"_od_{name}" and value not in ("asc", "desc"):
            _refuse(SORT_MESSAGE)
        else:
            match = _FLT.match(key)
            if match and integer_column(view, match.group("col")) and value != "" and not whole_number_ok(value):
                label = getattr(view, "label_columns", {}).get(match.group("col"), match.group("col"))
                _refuse(NUMBER_MESSAGE.format(what=str(label)))


def refuse_hostile_input():
    """before_request: 400 with a Chinese message for control characters, deep JSON and FAB list/API
    arguments no query can take; nothing of the request reaches a view."""
    for key, value in request.args.items(multi=True):
        if CONTROL.search(key) or CONTROL.search(value):
            _refuse(CONTROL_MESSAGE)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            _check_json()
        elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in request.form.items(multi=True):
                if CONTROL.search(key) or CONTROL.search(value):
                    _refuse(CONTROL_MESSAGE)
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and CONTROL.search(value):
            _refuse(CONTROL_MESSAGE)
    view = _view(request.endpoint or "")
    if view is not None and hasattr(view, "datamodel") and not request.path.startswith("/api/"):
        _check_list_arguments(view)  # the REST API checks its rison ``q`` itself (app/api/)
    return None

"""The workbooks imports hand out: a template per kind and the error report of a refused file."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from typing import Any

from app.exports.xlsx import display_width, new_workbook, sheet_name, table_workbook
from app.imports.cells import text
from app.imports.schema import Kind
from app.imports.validate import RowError

REPORT_TITLE = "导入错误报告"
REPORT_HEADERS = ("行号", "列", "问题", "原值")
REPORT_LIMIT = 100_000  # rows listed; the task's message still gives the full count


def template_workbook(kind: Kind, examples: Mapping[str, Any] | None = None) -> bytes:
    """The import template of ``kind``: the header row, one example row and a sheet of instructions.

    Columns holding codes (学号, 身份证号 …) are formatted as text so that Excel keeps leading zeros and
    all 18 digits; required headers are red. ``examples`` replaces example values (e.g. a real 专业).
    """
    examples = dict(examples or {})
    buf = io.BytesIO()
    wb = new_workbook(buf)
    ws = wb.add_worksheet(sheet_name(kind.label))
    head = wb.add_format({"bold": True, "border": 1, "bg_color": "#D9E1F2", "align": "center"})
    head_required = wb.add_format({"bold": True, "border": 1, "bg_color": "#D9E1F2", "align": "center",
                                   "font_color": "#C00000"})
    as_text = wb.add_format({"num_format": "@"})
    as_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    for col, column in enumerate(kind.columns):
        value = examples.get(column.header, column.example)
        width = max(display_width(column.header) + 4, display_width(text(value)) + 2, 10)
        fmt = as_text if column.as_text else (as_date if isinstance(value, dt.date) else None)
        ws.set_column(col, col, min(width, 40), fmt)
        ws.write_string(0, col, column.header, head_required if column.required else head)
        if column.note:
            ws.write_comment(0, col, column.note, {"x_scale": 2})
        if isinstance(value, dt.date):
            ws.write_datetime(1, col, dt.datetime.combine(value, dt.time()), as_date)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(1, col, value)
        elif value not in (None, ""):
            ws.write_string(1, col, str(value), as_text if column.as_text else None)
    ws.freeze_panes(1, 0)
    notes = wb.add_worksheet("填写说明")
    notes.set_column(0, 0, 16)
    notes.set_column(1, 1, 10)
    notes.set_column(2, 2, 70)
    notes.write_string(0, 0, f"{kind.label}导入说明", wb.add_format({"bold": True, "font_size": 13}))
    lines = [
        "数据填写在第一个工作表：第 1 行为表头（请勿修改），数据从第 2 行开始；"
        "第 2 行为示例，导入前请删除或改为真实数据。",
        f"按{kind.natural_key}更新已有数据，其余新增；重复导入同一文件不会改变任何数据。",
        "导入前检查全部行：只要有一处错误，就不导入任何数据，并生成错误报告（行号、列、问题）供下载。",
    ]
    for i, line in enumerate(lines, start=1):
        notes.write_string(i, 0, line)
    top = len(lines) + 2
    for col, title in enumerate(("列", "是否必填", "说明")):
        notes.write_string(top, col, title, head)
    for i, column in enumerate(kind.columns, start=top + 1):
        notes.write_string(i, 0, column.header)
        notes.write_string(i, 1, "必填" if column.required else "选填")
        notes.write_string(i, 2, column.note)
    wb.close()
    return buf.getvalue()


def _shown(value: Any) -> Any:
    """The original cell value for the report: numbers stay numbers, everything else as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return text(value)


def write_error_report(target, errors: Sequence[RowError], limit: int = REPORT_LIMIT) -> int:
    """Write 行号 / 列 / 问题 / 原值, one line per problem in file order; returns the lines written."""

    def rows():
        for e in errors[:limit]:
            yield [e.row, e.column, e.problem, _shown(e.value)]
        if len(errors) > limit:
            yield ["", "", f"另有 {len(errors) - limit} 处错误未列出，请先改正以上错误后重新导入", ""]

    return table_workbook(target, REPORT_TITLE, REPORT_HEADERS, rows(), widths=(8, 16, 60, 30))

"""Builders shared by the import tests: workbooks written with xlsxwriter and valid student rows."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter

from app.imports.cells import id_card_check_digit
from app.imports.schema import STUDENTS


def xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A one-sheet workbook: text as text, numbers as numbers, dates as date cells, None as blank."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "constant_memory": True, "strings_to_numbers": False,
                                   "strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet("数据")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for c, h in enumerate(headers):
        ws.write_string(0, c, h)
    for r, values in enumerate(rows, start=1):
        for c, v in enumerate(values):
            if v is None:
                continue
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), date_fmt)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(v))
    wb.close()
    return buf.getvalue()


def id_card(birth: dt.date, seq: int, region: str = "320601") -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return first17 + id_card_check_digit(first17)


def student_row(i: int, *, major: str = "工商管理", site: str = "南通教学点", **change) -> list:
    """A valid 学生学籍 row (template column order) for the i-th generated student."""
    birth = dt.date(1990, 1, 1) + dt.timedelta(days=i % 3000)
    values = {"学号": f"2024{i:06d}", "姓名": f"学生{i}", "性别": "女" if i % 2 else "男",
              "身份证号": id_card(birth, i), "出生日期": birth, "民族": "汉族", "政治面貌": "群众",
              "手机号": f"139{i:08d}", "学籍年级": 2024,
              "学习年级": 2024, "层次": "专升本", "专业": major, "学习形式": "函授", "学制": 2.5, "教学点": site,
              "学籍状态": "在籍", "入学日期": dt.date(2024, 3, 1)}
    values.update(change)
    return [values[h] for h in STUDENTS.headers]


def students_xlsx(count: int, start: int = 1, **kw) -> bytes:
    return xlsx(STUDENTS.headers, (student_row(i, **kw) for i in range(start, start + count)))

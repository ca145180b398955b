"""Reading an uploaded workbook: non-xlsx files and foreign headers are refused before any row is read."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
import xlsxwriter

from app.imports import reader
from app.imports.reader import FileRejected
from app.imports.schema import GRADES, KINDS, STUDENTS
from app.imports.workbooks import template_workbook


def workbook(rows: list[list], *, sheets: tuple[str, ...] = ("Sheet1",), active: int = 0) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    first = wb.add_worksheet(sheets[0])
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            if value is not None:
                first.write(r, c, value)
    for name in sheets[1:]:
        other = wb.add_worksheet(name)
        other.write(0, 0, "说明")
    wb.worksheets()[active].activate()
    wb.close()
    return buf.getvalue()


def grade_rows(*rows) -> bytes:
    return workbook([list(GRADES.headers), *rows])


@pytest.mark.parametrize("data", [
    "学号,姓名\n2020010001,张三\n".encode(),                      # a CSV renamed .xlsx
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000,                  # an old .xls (OLE2) file
    b"",
])
def test_files_that_are_not_xlsx_are_refused(data):
    """Text, an .xls and an empty file are all refused with the Chinese message, whatever their name."""
    with pytest.raises(FileRejected) as err:
        reader.read_rows(data, STUDENTS)
    assert err.value.message.startswith("文件不是有效的 Excel (.xlsx) 文件")


def test_an_old_xls_file_gets_a_hint_to_save_as_xlsx():
    """An OLE2 (.xls) file is named as such so the user knows to save it as .xlsx."""
    with pytest.raises(FileRejected, match="另存为 .xlsx"):
        reader.read_rows(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, STUDENTS)


def test_a_zip_that_is_not_a_workbook_is_refused():
    """A .docx-like zip without workbook parts is not an Excel file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(FileRejected, match=r"文件不是有效的 Excel \(\.xlsx\) 文件"):
        reader.read_rows(buf.getvalue(), STUDENTS)


def test_a_header_row_without_the_template_columns_is_refused_naming_them():
    """A grades file uploaded as 学生学籍 lists the missing columns and names the right template."""
    with pytest.raises(FileRejected) as err:
        reader.read_rows(grade_rows(["2020010001", "C01", "", "2024-2025-1", 80, ""]), STUDENTS)
    message = err.value.message
    assert message.startswith("表头与模板不一致：缺少列 姓名、性别、身份证号")
    assert "学号" not in message.split("缺少列")[1].split("（")[0]
    assert "请使用“学生学籍”导入模板" in message


def test_a_repeated_header_is_refused():
    """Two 成绩 columns would be ambiguous: the file is refused."""
    with pytest.raises(FileRejected, match="列“成绩”出现了多次"):
        reader.read_rows(workbook([list(GRADES.headers) + ["成绩"], ["1", "C01", "", "2024-2025-1", 80, "", 90]]),
                         GRADES)


def test_rows_are_keyed_by_header_numbered_like_excel_and_blank_rows_skipped():
    """Columns may come in any order, extra columns are ignored, blank rows skipped; row 1 is the header."""
    headers = ["备注"] + list(reversed(GRADES.headers))
    data = workbook([headers, ["x", "正考", 80, "2024-2025-1", "高等数学", "C01", "2020010001"], [],
                     [None, "  ", None], ["", "", 70, "2024-2025-1", "", "C02", 2020010001]])
    rows = reader.read_rows(data, GRADES)
    assert [n for n, _v in rows] == [2, 5]
    assert rows[0][1] == {"学号": "2020010001", "课程代码": "C01", "课程名称": "高等数学", "学期": "2024-2025-1",
                          "成绩": 80, "考试性质": "正考"}
    assert rows[1][1]["学号"] == 2020010001 and rows[1][1]["课程名称"] is None


def test_the_first_sheet_is_read_even_when_another_was_active():
    """A workbook saved while showing its 填写说明 sheet is still read from its first sheet."""
    data = workbook([list(GRADES.headers), ["2020010001", "C01", "", "2024-2025-1", 80, ""]],
                    sheets=("成绩", "填写说明"), active=1)
    assert len(reader.read_rows(data, GRADES)) == 1


def test_a_file_without_data_rows_or_with_too_many_is_refused():
    """Only a header is refused as empty; more rows than the limit are refused as too many."""
    with pytest.raises(FileRejected, match="没有数据行"):
        reader.read_rows(grade_rows(), GRADES)
    with pytest.raises(FileRejected, match="数据超过 2 行"):
        reader.read_rows(grade_rows(*[["1", "C01", "", "2024-2025-1", 80, ""]] * 3), GRADES, max_rows=2)


@pytest.mark.parametrize("key", list(KINDS))
def test_each_template_has_the_kind_headers_and_one_example_row(key):
    """Every template reads back through the reader: its header row is the kind's, with one example row."""
    kind = KINDS[key]
    data = template_workbook(kind)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == [kind.label[:31], "填写说明"]
    assert [c.value for c in wb.worksheets[0][1]] == list(kind.headers)
    rows = reader.read_rows(data, kind)
    assert len(rows) == 1 and rows[0][0] == 2

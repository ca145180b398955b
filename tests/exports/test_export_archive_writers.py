"""The printable archive writers (学籍卡, 成绩单, 毕业生登记表) on plain data, without a database."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from PIL import Image

from app.exports import archive

SCHOOL = "南通大学继续教育学院"


def values_right_of_labels(ws) -> dict:
    """label → value of the cell right of it (how the grids are laid out)."""
    out = {}
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.column < ws.max_column:
                out.setdefault(cell.value, ws.cell(cell.row, cell.column + 1).value)
    return out


def all_texts(ws) -> list:
    return [c.value for row in ws.iter_rows() for c in row if c.value is not None]


@pytest.fixture()
def photo(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (300, 420), (200, 180, 160)).save(path, "JPEG")
    return str(path)


def card_data(**extra) -> dict:
    data = {"school": SCHOOL, "printed_on": dt.date(2025, 1, 10), "graduated": False, "student_no": "2020010001",
            "name": "张三", "gender": "男", "id_card": "11010519491231002X", "birth_date": dt.date(1998, 1, 1),
            "ethnicity": "汉族", "political_status": "群众", "mobile": "13800000000", "enrol_grade": "2020",
            "study_grade": "2020", "level": "高起本", "major": "工商管理", "study_mode": "函授", "duration": "5年",
            "site": "南通教学点", "college": "管理学院", "enrolled_on": dt.date(2020, 3, 1), "status": "在籍",
            "diploma_no": "", "graduation_date": None}
    data.update(extra)
    return data


def assert_a4_print_setup(ws):
    assert int(ws.page_setup.paperSize) == 9
    assert ws.page_setup.orientation == "portrait"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert int(ws.page_setup.fitToWidth or 1) == 1 and int(ws.page_setup.fitToHeight or 1) == 1  # one page
    assert ws.print_area
    assert ws.print_options.horizontalCentered


def test_card_has_title_school_fields_photo_and_a4_setup(tmp_path, photo):
    """学籍卡: centred school name and title, every field right of its label, the photo embedded, A4."""
    path = tmp_path / "card.xlsx"
    archive.write_student_card(str(path), card_data(), photo)
    ws = openpyxl.load_workbook(path).active
    assert ws["A1"].value == SCHOOL and ws["A2"].value == "学籍卡"
    assert ws["A2"].alignment.horizontal == "center"
    got = values_right_of_labels(ws)
    assert got["学号"] == "2020010001" and got["身份证号"] == "11010519491231002X"
    assert got["出生日期"] == "1998-01-01" and got["学制"] == "5年" and got["学籍状态"] == "在籍"
    assert "毕业证书编号" not in got  # not graduated
    assert ws._images, "photo must be embedded"
    assert_a4_print_setup(ws)


def test_card_photo_is_scaled_to_about_2_5_by_3_5_cm(tmp_path, photo):
    """The photo is scaled into a 2.5 × 3.5 cm box whatever its pixel size."""
    opts = archive.photo_options(photo, cell_w_px=117, cell_h_px=187)
    drawn_w = 300 * opts["x_scale"]
    drawn_h = 420 * opts["y_scale"]
    assert abs(drawn_w - 2.5 * 96 / 2.54) < 1 and abs(drawn_h - 3.5 * 96 / 2.54) < 1


def test_card_without_photo_leaves_an_empty_box(tmp_path):
    """No photo: the card is still written, with the 照片 placeholder and no image."""
    path = tmp_path / "card.xlsx"
    archive.write_student_card(str(path), card_data(), None)
    ws = openpyxl.load_workbook(path).active
    assert not ws._images
    assert "照片" in all_texts(ws)


def test_card_of_graduate_shows_diploma_number_and_date(tmp_path):
    """A graduated student's 学籍卡 adds 毕业证书编号 and 毕业日期."""
    path = tmp_path / "card.xlsx"
    archive.write_student_card(str(path), card_data(graduated=True, diploma_no="103045202505000001",
                                                    graduation_date=dt.date(2025, 1, 10)), None)
    got = values_right_of_labels(openpyxl.load_workbook(path).active)
    assert got["毕业证书编号"] == "103045202505000001" and got["毕业日期"] == "2025-01-10"


def test_transcript_groups_attempts_by_term_and_repeats_the_table_header(tmp_path):
    """成绩单: a 学期 row before its attempts, credits blank outside the plan, totals, header repeated."""
    path = tmp_path / "t.xlsx"
    data = card_data(terms=[
        ("2020-2021-1", [{"code": "C01", "name": "高等数学", "credits": 4.0, "score": "55", "exam_kind": "正考"},
                         {"code": "C01", "name": "高等数学", "credits": 4.0, "score": "70", "exam_kind": "补考"}]),
        ("2020-2021-2", [{"code": "X99", "name": "计划外", "credits": None, "score": "良", "exam_kind": "正考"}]),
    ], passed_courses=2, earned_credits=4.0, diploma_no="103045202505000001")
    archive.write_transcript(str(path), data)
    ws = openpyxl.load_workbook(path).active
    rows = [tuple(c.value for c in r[:5]) for r in ws.iter_rows()]
    header = rows.index(("课程代码", "课程名称", "学分", "成绩", "考试性质"))
    assert rows[header + 1][0] == "学期：2020-2021-1"
    assert rows[header + 2] == ("C01", "高等数学", 4, "55", "正考")
    assert rows[header + 3] == ("C01", "高等数学", 4, "70", "补考")
    assert rows[header + 4][0] == "学期：2020-2021-2"
    assert rows[header + 5] == ("X99", "计划外", None, "良", "正考")
    got = values_right_of_labels(ws)
    assert got["已通过课程数"] == 2 and got["已获总学分"] == 4 and got["毕业证书编号"] == "103045202505000001"
    assert ws.print_title_rows.replace("$", "") == f"{header + 1}:{header + 1}"
    assert_a4_print_setup(ws)


def row_heights_by_text(ws) -> dict:
    return {c.value: ws.row_dimensions[c.row].height for row in ws.iter_rows() for c in row
            if isinstance(c.value, str)}


def test_rows_are_tall_enough_for_wrapped_text(tmp_path):
    """A course name wider than its column wraps; its row gets the height of the wrapped lines (xlsxwriter
    does not autofit, and a one-line row clips "毛泽东思想和中国特色社会主义理论体系概论" in print)."""
    long_name = "毛泽东思想和中国特色社会主义理论体系概论"
    path = tmp_path / "t.xlsx"
    archive.write_transcript(str(path), card_data(
        major="中国语言文学与文化传播（师范类）高级研修", terms=[("2020-2021-1", [
            {"code": "C01", "name": long_name, "credits": 4.0, "score": "85", "exam_kind": "正考"},
            {"code": "C02", "name": "高等数学", "credits": 4.0, "score": "85", "exam_kind": "正考"}])],
        passed_courses=2, earned_credits=8))
    heights = row_heights_by_text(openpyxl.load_workbook(path).active)
    assert heights[long_name] >= 2 * archive.LINE_PT
    assert heights["高等数学"] < 2 * archive.LINE_PT
    assert heights["中国语言文学与文化传播（师范类）高级研修"] >= 2 * archive.LINE_PT
    card = tmp_path / "c.xlsx"
    archive.write_student_card(str(card), card_data(political_status="中国共产党预备党员",
                                                    site="南通市崇川区继续教育学院城东教学点（夜校）"), None)
    heights = row_heights_by_text(openpyxl.load_workbook(card).active)
    assert heights["南通市崇川区继续教育学院城东教学点（夜校）"] >= 2 * archive.LINE_PT


def test_text_lines_counts_cjk_as_two_widths():
    assert archive.text_lines("高等数学", 30) == 1
    assert archive.text_lines("毛泽东思想和中国特色社会主义理论体系概论", 30) == 2
    assert archive.text_lines("a" * 29, 30) == 1 and archive.text_lines("a" * 30, 30) == 2
    assert archive.text_lines("一\n二\n三", 30) == 3


def test_transcript_without_grades_says_so(tmp_path):
    """A student without grades gets a transcript that says 暂无成绩记录."""
    path = tmp_path / "t.xlsx"
    archive.write_transcript(str(path), card_data(terms=[], passed_courses=0, earned_credits=0))
    assert "暂无成绩记录" in all_texts(openpyxl.load_workbook(path).active)


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x"])
def test_form_keeps_formula_like_text_literal(tmp_path, text):
    """毕业生登记表: a 自我鉴定 or name that looks like a formula is printed as typed, as a string."""
    path = tmp_path / "f.xlsx"
    archive.write_graduate_form(str(path), card_data(name=text, self_assessment=text, site_opinion="同意",
                                                     college_opinion=""), None)
    ws = openpyxl.load_workbook(path).active
    got = values_right_of_labels(ws)
    assert got["姓名"] == text and got["自我鉴定"] == text
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == text:
                assert cell.data_type == "s"


def test_form_has_blocks_photo_and_a4_setup(tmp_path, photo):
    """毕业生登记表: identity grid, 自我鉴定, 教学点意见, 学院意见, the photo, A4 portrait."""
    path = tmp_path / "f.xlsx"
    archive.write_graduate_form(str(path), card_data(self_assessment="本人在校期间刻苦学习。", site_opinion="同意毕业",
                                                     college_opinion="同意"), photo)
    ws = openpyxl.load_workbook(path).active
    assert ws["A2"].value == "毕业生登记表"
    got = values_right_of_labels(ws)
    assert got["自我鉴定"] == "本人在校期间刻苦学习。"
    assert got["教学点意见"] == "同意毕业" and got["学院意见"] == "同意"
    assert ws._images
    assert_a4_print_setup(ws)


def test_long_self_assessment_is_split_over_rows_without_losing_text(tmp_path):
    """A 2,000-character 自我鉴定 is cut into rows Excel can show; joined again it is the whole text."""
    text = "\n".join(f"第{i}段。" + "学" * 180 for i in range(10))
    pieces = archive.wrap_chunks(text, archive.text_width_units())
    assert len(pieces) > 1
    assert "\n".join(p for p, _n in pieces) == text
    assert all(n <= archive.TEXT_LINES_PER_ROW for _p, n in pieces)
    path = tmp_path / "f.xlsx"
    archive.write_graduate_form(str(path), card_data(self_assessment=text, site_opinion="", college_opinion=""), None)
    ws = openpyxl.load_workbook(path).active
    assert all((ws.row_dimensions[r].height or 0) <= 409 for r in range(1, ws.max_row + 1))


def test_single_huge_paragraph_is_cut_between_characters():
    """One paragraph longer than a row can show is cut between characters; nothing is dropped."""
    text = "字" * 3000
    pieces = archive.wrap_chunks(text, archive.text_width_units())
    assert len(pieces) > 1 and "".join(p for p, _n in pieces) == text

"""The archive documents and the 学士学位申请审批表 printed by a real spreadsheet application: LibreOffice
Calc → PDF, one A4 page each, every course name whole and no wrapped text running into the next row (issue 16
"Printed as a registrar prints them").

The student carries the longest names of the demo: the longest course names of every demo plan pool, the
longest 专业, 教学点 and 二级学院 names, and a long 自我鉴定.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from PIL import Image

from app.demo import college
from app.exports import approval_form, archive
from tests.exports.printing import NEEDS_PRINT_TOOLS, assert_printed_cleanly, pdf_text, require_print_tools, to_pdf

pytestmark = [NEEDS_PRINT_TOOLS, pytest.mark.usefixtures("print_tools")]


@pytest.fixture(scope="module")
def print_tools():
    require_print_tools()


def longest(names, n=1):
    return sorted(set(names), key=lambda s: (-archive.display_width(s), s))[:n]


def demo_course_names() -> list[str]:
    """The 19 longest course names of the demo plans plus the final course: a 高起本 plan's size."""
    pool = [name for courses in college.PUBLIC_COURSES.values() for name, _c in courses]
    for major in college.MAJORS:
        pool += list(major.core) + list(major.electives)
    return longest(pool, 19) + [college.FINAL_COURSE[college.GQB][0]]


def longest_student() -> dict:
    return {
        "school": archive.DEFAULT_SCHOOL, "printed_on": dt.date(2025, 1, 10), "graduated": True,
        "student_no": "2020010001", "name": "欧阳慕容诸葛", "gender": "女", "id_card": "32060219980101002X",
        "birth_date": dt.date(1998, 1, 1), "ethnicity": "维吾尔族", "political_status": "中国共产党预备党员",
        "mobile": "13800000000", "enrol_grade": "2020", "study_grade": "2020", "level": "高起本",
        "major": longest(m.name for m in college.MAJORS)[0], "study_mode": "函授", "duration": "5年",
        "site": longest(s[1] for s in college.SITES)[0], "college": longest(c[1] for c in college.COLLEGES)[0],
        "enrolled_on": dt.date(2020, 3, 1), "status": "在籍", "diploma_no": "102911202505000123",
        "graduation_date": dt.date(2025, 1, 10),
    }


def transcript_terms(names: list[str]) -> list[tuple[str, list[dict]]]:
    """Four courses a term over five terms; the two longest also with a 补考 attempt."""
    terms = []
    for t in range(5):
        attempts = []
        for i, name in enumerate(names[t * 4:(t + 1) * 4]):
            attempts.append({"code": f"GL{t}{i:02d}", "name": name, "credits": 4.0, "score": "85",
                             "exam_kind": "正常考试"})
            if t == 0 and i < 2:
                attempts.append({"code": f"GL{t}{i:02d}", "name": name, "credits": 4.0, "score": "良",
                                 "exam_kind": "补考"})
        terms.append((f"{2020 + t // 2}-{2021 + t // 2}-{t % 2 + 1}", attempts))
    return terms


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture()
def photo(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (300, 420), (200, 180, 160)).save(path, "JPEG")
    return str(path)


def test_transcript_prints_every_course_name_whole_on_one_a4_page(tmp_path):
    """Today "毛泽东思想和中国特色社会主义理论体系概论" wraps into a one-line row and is clipped."""
    names = demo_course_names()
    assert "毛泽东思想和中国特色社会主义理论体系概论" in names
    xlsx = tmp_path / "成绩单.xlsx"
    archive.write_transcript(str(xlsx), {**longest_student(), "terms": transcript_terms(names),
                                         "passed_courses": 20, "earned_credits": 80})
    pdf = to_pdf(xlsx, tmp_path)
    assert_printed_cleanly(pdf)
    printed = pdf_text(pdf)
    missing = [n for n in names if squeeze(n) not in printed]
    assert not missing, f"course names not printed whole: {missing}"
    assert squeeze(longest_student()["major"]) in printed


def test_student_card_prints_whole_on_one_a4_page(tmp_path, photo):
    data = longest_student()
    xlsx = tmp_path / "学籍卡.xlsx"
    archive.write_student_card(str(xlsx), data, photo)
    pdf = to_pdf(xlsx, tmp_path)
    assert_printed_cleanly(pdf)
    printed = pdf_text(pdf)
    for key in ("name", "political_status", "major", "site", "college", "id_card", "diploma_no"):
        assert squeeze(data[key]) in printed, key
    assert "毕业证书编号" in printed


def test_graduate_form_prints_whole_on_one_a4_page(tmp_path, photo):
    data = {**longest_student(),
            "self_assessment": "本人在校期间遵守学校各项规章制度，认真学习专业课程，按时完成作业与考试。" * 8,
            "site_opinion": "该生学习认真，表现良好，同意毕业。" * 3,
            "college_opinion": "同意。"}
    xlsx = tmp_path / "毕业生登记表.xlsx"
    archive.write_graduate_form(str(xlsx), data, photo)
    pdf = to_pdf(xlsx, tmp_path)
    assert_printed_cleanly(pdf)
    printed = pdf_text(pdf)
    for key in ("political_status", "major", "site", "college", "site_opinion"):
        assert squeeze(data[key]) in printed, key
    assert squeeze(data["self_assessment"]) in printed


def test_approval_form_prints_whole_on_one_a4_page(tmp_path, photo):
    """学士学位申请审批表 with the longest names, every 学位课程 of the longest plan, reasons and a signature."""
    signature = tmp_path / "signature.png"
    Image.new("RGB", (600, 200), (20, 20, 160)).save(signature, "PNG")
    names = demo_course_names()
    data = {**longest_student(), "batch": "2020级高起本、专升本学士学位申请批次（春季）",
            "language": "大学英语四级（替代）", "average": "78.25",
            "courses": "；".join(f"{n} 85" for n in names[:8]),
            "condition": "未达标：学位外语成绩 52 < 60；学位课程平均分 68.5 < 70",
            "opinion": "同意", "comment": "经核实，该生学位外语成绩已补录，符合学士学位授予条件，同意申请。" * 2,
            "reviewer": "南通教学点管理员", "reviewed_on": "2025-04-02", "signature_note": "第3版（上传于 2025-03-20）",
            "final_on": "2025-05-01", "granted_on": "2025-06-30", "degree_no": "1030442025000001"}
    xlsx = tmp_path / "学士学位申请审批表.xlsx"
    approval_form.write_approval_form(str(xlsx), data, photo, str(signature))
    pdf = to_pdf(xlsx, tmp_path)
    assert_printed_cleanly(pdf)
    printed = pdf_text(pdf)
    assert "学士学位申请审批表" in printed
    for key in ("major", "site", "batch", "condition", "comment", "reviewer", "degree_no", "signature_note"):
        assert squeeze(data[key]) in printed, key
    missing = [n for n in names[:8] if squeeze(n) not in printed]
    assert not missing, f"学位课程 not printed whole: {missing}"

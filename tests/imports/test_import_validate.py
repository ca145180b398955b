"""Row validation of every import kind: every problem is found, each with row, column and a Chinese message."""
from __future__ import annotations

import datetime as dt

import pytest

from app.imports.cells import id_card_check_digit
from app.imports.validate import Lookups, MajorRef, SiteRef, validate

TODAY = dt.date(2025, 6, 1)
LK = Lookups(
    majors=[MajorRef(1, "M01", "工商管理", 10, "管理学院"), MajorRef(2, "M02", "会计学", 10, "管理学院"),
            MajorRef(3, "M03", "会计学", 11, "经济学院")],
    sites=[SiteRef(5, "S01", "南通教学点"), SiteRef(6, "S02", "如皋教学点")],
    students={"2020010001": 7, "2020010002": 8},
    courses={"C01": "高等数学", "C02": "大学英语"},
    today=TODAY,
)
ID = "11010519491231002X"


def student(**change) -> dict:
    row = {"学号": "2024010001", "姓名": "王小明", "性别": "男", "身份证号": ID, "出生日期": None, "民族": "汉族",
           "政治面貌": "群众", "手机号": "13800000000", "学籍年级": 2024, "学习年级": 2024, "层次": "专升本",
           "专业": "工商管理", "学习形式": "函授", "学制": None, "教学点": "南通教学点", "学籍状态": None,
           "入学日期": "2024-03-01"}
    row.update(change)
    return row


def plan(**change) -> dict:
    row = {"专业": "工商管理", "层次": "专升本", "年级": 2024, "毕业最低总学分": 80, "选修最低学分": 10,
           "课程代码": "C001", "课程名称": "管理学原理", "学分": 3, "课程性质": "必修", "学位课程": "是", "建议学期": 1}
    row.update(change)
    return row


def grade(**change) -> dict:
    row = {"学号": "2020010001", "课程代码": "C01", "课程名称": None, "学期": "2024-2025-1", "成绩": 85,
           "考试性质": None}
    row.update(change)
    return row


def language(**change) -> dict:
    row = {"学号": "2020010001", "考试日期": dt.datetime(2025, 5, 10), "成绩": 72, "替代考试": None, "替代成绩": None}
    row.update(change)
    return row


def check(kind: str, *rows: dict):
    """Validate rows numbered from 2 (row 1 is the header) and return (records, errors)."""
    return validate(kind, [(n, r) for n, r in enumerate(rows, start=2)], LK)


def problems(kind: str, *rows: dict) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.problem) for e in check(kind, *rows)[1]]


def only_problem(kind: str, row: dict) -> tuple[str, str]:
    found = problems(kind, row)
    assert len(found) == 1, found
    return found[0][1], found[0][2]


# --------------------------------------------------------------------------- students


def test_a_valid_student_row_becomes_a_student_record():
    """The record carries codes and ids: college from the major, birth date and 学制 filled in when blank."""
    records, errors = check("students", student())
    assert errors == []
    assert records == [{
        "student_no": "2024010001", "name": "王小明", "gender": "男", "id_card": ID,
        "birth_date": dt.date(1949, 12, 31), "ethnicity": "汉族", "political_status": "群众", "mobile": "13800000000",
        "enrol_grade": 2024, "study_grade": 2024, "level": "zsb", "major_id": 1, "college_id": 10,
        "study_mode": "hanshou", "duration_years": 2.5, "site_id": 5, "status": "enrolled",
        "enrolled_on": dt.date(2024, 3, 1),
    }]


def test_major_and_site_may_be_given_by_code():
    """专业 M01 and 教学点 S02 (codes) resolve like their names."""
    records, errors = check("students", student(专业="M01", 教学点="S02", 学号=20240100.0 + 2))
    assert errors == [] and records[0]["major_id"] == 1 and records[0]["site_id"] == 6
    assert records[0]["student_no"] == "20240102"


@pytest.mark.parametrize("column, value, problem", [
    ("专业", "不存在专业", "专业不存在：不存在专业"),
    ("教学点", "管理学院", "教学点不存在：管理学院"),
    ("专业", "会计学", "专业名称“会计学”对应多个专业，请改填专业代码"),
])
def test_unknown_or_ambiguous_major_and_site_are_errors(column, value, problem):
    """An unknown 专业 or 教学点 (a college is not a 教学点), or a major name shared by two majors, is refused."""
    assert only_problem("students", student(**{column: value})) == (column, problem)


def test_an_ambiguous_major_name_is_settled_by_the_college_column():
    """The list export's 二级学院 column tells apart two majors called 会计学."""
    records, errors = check("students", student(专业="会计学", 二级学院="经济学院"))
    assert errors == [] and records[0]["major_id"] == 3 and records[0]["college_id"] == 11


def test_duplicate_student_numbers_in_the_file_are_errors_naming_the_first_row():
    """The second row with the same 学号 is refused and names the row it repeats."""
    assert problems("students", student(), student(姓名="别人"), student(学号="2024010009")) == [
        (3, "学号", "学号与第 2 行重复")]


@pytest.mark.parametrize("column, value, problem", [
    ("身份证号", "11010519491231002", "身份证号应为 18 位（实际 17 位）"),
    ("身份证号", "110105194912310021", "身份证号校验位错误（按前 17 位计算应为 X）"),
    ("身份证号", "110105199913310024", "身份证号中的出生日期无效：19991331"),
    ("性别", "M", "性别应为 男 / 女 之一"),
    ("层次", "本科", "层次应为 高起本 / 专升本 / 高起专 之一"),
    ("学习形式", "全日制", "学习形式应为 函授 / 业余 / 非脱产 之一"),
    ("学籍状态", "在读", "学籍状态应为 在籍 / 休学 / 退学 / 毕业 之一"),
    ("学籍年级", 1985, "学籍年级超出范围（应在 1990–2026 之间）"),
    ("学籍年级", 2027, "学籍年级超出范围（应在 1990–2026 之间）"),
    ("学习年级", 2023, "学习年级不能早于学籍年级"),
    ("学号", "2024-01", "学号格式不正确（不超过 20 位字母或数字）"),
    ("手机号", "1380000", "手机号应为 1 开头的 11 位数字"),
    ("出生日期", "2030-01-01", "出生日期无效（不能晚于今天）"),
    ("入学日期", "下周一", "日期格式不正确"),
    ("学制", 0, "学制超出范围"),
    ("姓名", "长" * 51, "姓名过长（不超过 50 个字符）"),
])
def test_each_bad_student_field_is_reported_in_its_column(column, value, problem):
    """Each bad value gives one error in its own column, with a Chinese explanation."""
    found_column, found = only_problem("students", student(**{column: value}))
    assert found_column == column and problem in found


@pytest.mark.parametrize("column", ["学号", "姓名", "性别", "身份证号", "学籍年级", "学习年级", "层次", "专业",
                                    "学习形式", "教学点"])
def test_missing_required_student_fields_are_errors(column):
    """A blank required cell is reported as 必填项为空 in that column."""
    assert only_problem("students", student(**{column: "  "})) == (column, "必填项为空")


def test_every_problem_of_every_row_is_collected():
    """Validation does not stop at the first error: three problems on one row and one on another are all reported."""
    found = problems("students", student(性别="x", 层次="y", 专业="z"), student(学号="2024010002"),
                     student(学号="2024010003", 身份证号="123"))
    assert [(r, c) for r, c, _p in found] == [(2, "性别"), (2, "层次"), (2, "专业"), (4, "身份证号")]


def test_records_are_returned_only_for_clean_rows():
    """A bad row gives no record; the clean rows' records still come back (the service then imports none)."""
    records, errors = check("students", student(性别="x"), student(学号="2024010002"))
    assert [r["student_no"] for r in records] == ["2024010002"] and len(errors) == 1


# --------------------------------------------------------------------------- plans


def test_a_valid_plan_row_becomes_a_plan_course_record():
    """One row per course with the plan's key and minimums; 学位课程 是/否 becomes a boolean."""
    records, errors = check("plans", plan(), plan(课程代码="C002", 课程性质="选修", 学位课程=None, 建议学期=None))
    assert errors == []
    assert records[0] == {"major_id": 1, "level": "zsb", "grade": 2024, "min_total_credits": 80.0,
                          "min_elective_credits": 10.0, "course_code": "C001", "course_name": "管理学原理",
                          "credits": 3.0, "nature": "required", "is_degree_course": True, "suggested_term": 1}
    assert records[1]["nature"] == "elective" and records[1]["is_degree_course"] is False


def test_rows_of_one_plan_must_agree_on_its_minimum_credits():
    """A second row of the same (专业, 层次, 年级) with other minimums is refused, naming the first row."""
    assert problems("plans", plan(), plan(课程代码="C002", 毕业最低总学分=90, 选修最低学分=12)) == [
        (3, "毕业最低总学分", "同一教学计划（专业、层次、年级相同）的毕业最低总学分与第 2 行不一致"),
        (3, "选修最低学分", "同一教学计划（专业、层次、年级相同）的选修最低学分与第 2 行不一致")]


def test_a_course_code_appears_once_per_plan():
    """The same 课程代码 twice in one plan is an error; in another plan it is fine."""
    assert problems("plans", plan(), plan(), plan(年级=2023)) == [
        (3, "课程代码", "同一教学计划的课程代码与第 2 行重复")]


@pytest.mark.parametrize("column, value, problem", [
    ("学分", 0, "学分超出范围（应大于 0 且不超过 30）"),
    ("学分", "三", "学分应为数字"),
    ("课程性质", "限选", "课程性质应为 必修 / 选修 之一"),
    ("学位课程", "Y", "学位课程应填 是 或 否"),
    ("建议学期", 13, "建议学期超出范围（应在 1–12 之间）"),
    ("选修最低学分", 90, "选修最低学分不能大于毕业最低总学分"),
    ("专业", "不存在专业", "专业不存在：不存在专业"),
    ("课程名称", None, "必填项为空"),
])
def test_each_bad_plan_field_is_reported(column, value, problem):
    """Credits, 课程性质, 学位课程, 建议学期, minimums and the major are checked one by one."""
    assert only_problem("plans", plan(**{column: value})) == (column, problem)


# --------------------------------------------------------------------------- grades


def test_a_valid_grade_row_takes_the_course_name_from_the_plan():
    """A blank 课程名称 is filled from the teaching plan; a word score keeps its word as recorded."""
    records, errors = check("grades", grade(), grade(课程代码="C02", 成绩="良", 考试性质="补考", 课程名称="英语"))
    assert errors == []
    assert records == [
        {"student_id": 7, "course_code": "C01", "course_name": "高等数学", "term": "2024-2025-1", "score": 85.0,
         "raw_score": "85", "exam_kind": "regular"},
        {"student_id": 7, "course_code": "C02", "course_name": "英语", "term": "2024-2025-1", "score": 85.0,
         "raw_score": "良", "exam_kind": "makeup"}]


@pytest.mark.parametrize("column, value, problem", [
    ("学号", "2099999999", "学号不存在：系统中没有学号为 2099999999 的学生"),
    ("课程代码", "X99", "课程不存在：没有任何教学计划包含课程代码 X99"),
    ("成绩", 101, "成绩超出范围：101（应在 0–100 之间）"),
    ("成绩", "-5", "成绩超出范围"),
    ("成绩", "良好", "成绩无法识别：良好"),
    ("成绩", None, "必填项为空"),
    ("学期", "2024-2026-1", "学期格式应为 2024-2025-1"),
    ("学期", "2024秋", "学期格式应为 2024-2025-1"),
    ("考试性质", "缓考", "考试性质应为 正考 / 补考 / 重修 之一"),
])
def test_each_bad_grade_field_is_reported(column, value, problem):
    """Unknown 学号 and course, scores out of range or unreadable, bad 学期 and 考试性质 are refused."""
    found_column, found = only_problem("grades", grade(**{column: value}))
    assert found_column == column and problem in found


def test_the_same_attempt_twice_in_a_grade_file_is_an_error():
    """(学号, 课程代码, 学期, 考试性质) appears once; a 补考 of the same course is another attempt."""
    assert problems("grades", grade(), grade(考试性质="补考"), grade(成绩=90)) == [
        (4, "学号", "同一学生、课程、学期和考试性质的成绩与第 2 行重复")]


# --------------------------------------------------------------------------- language


def test_language_scores_and_substitutes_record_whether_they_pass():
    """A score ≥ 60 passes; CET-4 passes from 425; PETS-3 without a score counts as 合格."""
    records, errors = check(
        "language", language(), language(考试日期="2024-11-09", 成绩=52),
        language(学号="2020010002", 成绩=None, 替代考试="大学英语四级", 替代成绩=430),
        language(学号="2020010002", 考试日期="2024-06-15", 成绩=None, 替代考试="大学英语四级", 替代成绩=410),
        language(学号="2020010002", 考试日期="2023-06-15", 成绩=None, 替代考试="PETS-3"),
    )
    assert errors == []
    assert [(r["score"], r["substitute"], r["substitute_score"], r["passed"]) for r in records] == [
        (72.0, None, None, True), (52.0, None, None, False), (None, "cet4", 430.0, True),
        (None, "cet4", 410.0, False), (None, "pets3", None, True)]


@pytest.mark.parametrize("change, column, problem", [
    ({"成绩": None}, "成绩", "必填项为空（未填写替代考试时须填写成绩）"),
    ({"成绩": 120}, "成绩", "成绩超出范围"),
    ({"替代考试": "托福"}, "替代考试", "替代考试应为 大学英语四级 / PETS-3 之一"),
    ({"替代考试": "大学英语四级", "成绩": None, "替代成绩": 800}, "替代成绩", "大学英语四级成绩超出范围"),
    ({"替代考试": "大学英语四级", "成绩": None}, "替代成绩", "必填项为空"),
    ({"替代考试": "PETS-3"}, "成绩", "填写替代考试时成绩应为空"),
    ({"替代成绩": 500}, "替代成绩", "未填写替代考试时替代成绩应为空"),
    ({"考试日期": "2099-05-10"}, "考试日期", "考试日期无效（不能晚于今天）"),
    ({"学号": "123"}, "学号", "学号不存在"),
])
def test_each_bad_language_field_is_reported(change, column, problem):
    """Missing score, out-of-range scores, unknown substitutes, contradictory cells and future dates are refused."""
    found_column, found = only_problem("language", language(**change))
    assert found_column == column and problem in found


def test_the_same_student_and_exam_date_twice_is_an_error():
    """(学号, 考试日期) is the key of a 学位外语成绩: a second row for it is refused."""
    assert problems("language", language(), language(成绩=80)) == [
        (3, "考试日期", "同一学生同一考试日期的成绩与第 2 行重复")]


def test_generated_check_digit_helper_matches_the_standard_example():
    """The MOD 11-2 check digit of 11010519491231002 is X (GB 11643 example)."""
    assert id_card_check_digit("11010519491231002") == "X"

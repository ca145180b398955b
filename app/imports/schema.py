"""The four import kinds and their columns, in template order.

The students template is exactly the first columns of the 学生学籍 list export
(``app.services.exports.STUDENT_HEADERS``), so an exported list imports back as is; the export's
trailing, computed columns (二级学院, 已通过课程数 …) are accepted and ignored, except 二级学院, which
tells apart two majors of the same name.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from app.statuses import LABELS, CourseNature, EnrolmentStatus, ExamKind, Level, StudyMode, SubstituteExam


def _labels(enum) -> str:
    return " / ".join(LABELS[m] for m in enum)


@dataclass(frozen=True)
class Column:
    """One column of a template: its header, whether a value is required, an example and a hint."""

    header: str
    required: bool = False
    example: Any = ""
    note: str = ""
    as_text: bool = False  # the template formats the column as text (学号, 身份证号 keep leading zeros)


@dataclass(frozen=True)
class Kind:
    """An import kind: what it is called, its columns and the natural key its rows are upserted by."""

    key: str
    label: str
    columns: tuple[Column, ...]
    natural_key: str
    extra_headers: tuple[str, ...] = field(default=())  # optional columns read when present

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.columns)

    @property
    def template_name(self) -> str:
        return f"{self.label}导入模板.xlsx"


STUDENTS = Kind(
    key="students",
    label="学生学籍",
    natural_key="学号",
    columns=(
        Column("学号", True, "2024010001", "不超过 20 位字母或数字；已存在的学号更新该学生的学籍", as_text=True),
        Column("姓名", True, "王小明"),
        Column("性别", True, "男", "男 / 女"),
        Column("身份证号", True, "11010519491231002X", "18 位，出生日期和校验位须正确", as_text=True),
        Column("出生日期", False, dt.date(1949, 12, 31), "空则取身份证号中的出生日期"),
        Column("民族", False, "汉族"),
        Column("政治面貌", False, "群众"),
        Column("手机号", False, "13800000000", "11 位手机号", as_text=True),
        Column("学籍年级", True, 2024, "入学年份，如 2024"),
        Column("学习年级", True, 2024, "留级、降级后与学籍年级不同，不早于学籍年级"),
        Column("层次", True, "专升本", _labels(Level)),
        Column("专业", True, "工商管理", "专业名称或专业代码"),
        Column("学习形式", True, "函授", _labels(StudyMode)),
        Column("学制", False, 2.5, "年；空则按层次：高起本 5，专升本、高起专 2.5"),
        Column("教学点", True, "南通教学点", "教学点名称或机构代码"),
        Column("学籍状态", False, "在籍", _labels(EnrolmentStatus) + "；空为在籍"),
        Column("入学日期", False, dt.date(2024, 3, 1)),
    ),
    extra_headers=("二级学院",),
)

PLANS = Kind(
    key="plans",
    label="教学计划（含课程）",
    natural_key="教学计划按（专业, 层次, 年级），课程按课程代码",
    columns=(
        Column("专业", True, "工商管理", "专业名称或专业代码"),
        Column("层次", True, "专升本", _labels(Level)),
        Column("年级", True, 2024),
        Column("毕业最低总学分", True, 80, "同一教学计划的各行须相同"),
        Column("选修最低学分", False, 10, "空为 0；同一教学计划的各行须相同"),
        Column("课程代码", True, "C001", "同一教学计划内不重复", as_text=True),
        Column("课程名称", True, "管理学原理"),
        Column("学分", True, 3),
        Column("课程性质", True, "必修", _labels(CourseNature)),
        Column("学位课程", False, "是", "是 / 否；空为否"),
        Column("建议学期", False, 1, "1–12"),
    ),
)

GRADES = Kind(
    key="grades",
    label="成绩",
    natural_key="（学号, 课程代码, 学期, 考试性质）",
    columns=(
        Column("学号", True, "2024010001", "须为已有学生", as_text=True),
        Column("课程代码", True, "C001", "须为教学计划中的课程", as_text=True),
        Column("课程名称", False, "管理学原理", "空则取教学计划中的课程名称"),
        Column("学期", True, "2024-2025-1", "学年-学期，如 2024-2025-1", as_text=True),
        Column("成绩", True, 85, "0–100，或 优/良/中/及格/不及格", as_text=True),
        Column("考试性质", False, "正考", _labels(ExamKind) + "；空为正考"),
    ),
)

LANGUAGE = Kind(
    key="language",
    label="学位外语成绩",
    natural_key="（学号, 考试日期）",
    columns=(
        Column("学号", True, "2024010001", "须为已有学生", as_text=True),
        Column("考试日期", True, dt.date(2025, 5, 10)),
        Column("成绩", False, 72, "0–100；填写替代考试时留空"),
        Column("替代考试", False, "", "空 / " + _labels(SubstituteExam)),
        Column("替代成绩", False, "",
               "大学英语四级填分数（425 分及以上为通过）；PETS-3 填 合格/不合格 或分数，空视为合格"),
    ),
)

KINDS: dict[str, Kind] = {k.key: k for k in (STUDENTS, PLANS, GRADES, LANGUAGE)}

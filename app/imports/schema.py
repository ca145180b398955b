"""The import kinds and their columns, in template order.

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

ORG_TYPES = ("二级学院", "教学点", "专业")

ORGS = Kind(
    key="orgs",
    label="机构与专业",
    natural_key="类型与代码（二级学院、教学点按机构代码，专业按专业代码）",
    columns=(
        Column("类型", True, "二级学院", "二级学院 / 教学点 / 专业；一个工作表中每行一个，先写二级学院，再写它的专业"),
        Column("代码", True, "C01", "机构代码或专业代码，不超过 20 个字符；已存在的代码更新名称等信息", as_text=True),
        Column("名称", True, "经济管理学院"),
        Column("上级机构代码", False, "", "二级学院、教学点：继续教育学院的机构代码，空则为本校继续教育学院；"
               "专业：所属二级学院代码（必填，可为本文件中的二级学院）", as_text=True),
        Column("联系人", False, "张老师", "二级学院、教学点"),
        Column("联系电话", False, "0513-85012345", "二级学院、教学点", as_text=True),
        Column("层次", False, "", "专业：开设的层次，" + _labels(Level) + "，多个用“、”分隔"),
    ),
)

ACCOUNTS = Kind(
    key="accounts",
    label="账号",
    natural_key="工号",
    columns=(
        Column("工号", True, "js0001", "登录账号，字母、数字和 _ . -；已存在的工号更新姓名、手机号、角色和所属机构",
               as_text=True),
        Column("姓名", True, "李老师"),
        Column("手机号", True, "13800000000", "11 位手机号；新账号的初始密码为 edu@手机号，首次登录须修改",
               as_text=True),
        Column("角色", True, "教学点管理员", "学院管理员 / 教学点管理员 / 继教院管理员"),
        Column("所属机构代码", True, "S01",
               "学院管理员填二级学院代码，教学点管理员填教学点代码，继教院管理员填继续教育学院代码", as_text=True),
    ),
)

EXCEPTIONS = Kind(
    key="exceptions",
    label="课程替代与免修",
    natural_key="（学号, 课程代码）；每行新录入一条待审核记录，继教院审核通过后生效",
    columns=(
        Column("学号", True, "2024010001", "须为已有学生", as_text=True),
        Column("课程代码", True, "C001", "该生教学计划中的课程", as_text=True),
        Column("类型", True, "学分认定", "课程替代 / 免修 / 学分认定"),
        Column("替代课程代码", False, "", "课程替代：该生已通过的课程代码", as_text=True),
        Column("来源院校", False, "南通职业大学", "学分认定：必填"),
        Column("来源课程名称", False, "管理学基础", "学分认定：必填"),
        Column("认定学分", False, 3, "学分认定：大于 0，不超过该课程学分"),
        Column("认定成绩", False, "合格", "学分认定：60–100、优/良/中/及格，或 合格", as_text=True),
        Column("理由", True, "专科阶段已修，申请学分认定", "不超过 500 字"),
    ),
)

KINDS: dict[str, Kind] = {k.key: k for k in (STUDENTS, PLANS, GRADES, LANGUAGE, ORGS, ACCOUNTS, EXCEPTIONS)}

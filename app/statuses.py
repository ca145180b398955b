"""Every status of the domain as a short ``str`` code, with its Chinese label in one mapping.

Codes are what the database stores and what rules return; labels are what people read.
Nothing here imports Flask, so rules, jobs and views share the same vocabulary.
"""
from __future__ import annotations

from enum import Enum


class OrgKind(str, Enum):
    CE = "ce"            # 继续教育学院
    COLLEGE = "college"  # 二级学院
    SITE = "site"        # 教学点


class RoleName(str, Enum):
    """FAB role names (internal, English); shown through ROLE_LABELS."""

    CE_ADMIN = "CEAdmin"
    COLLEGE_ADMIN = "CollegeAdmin"
    SITE_ADMIN = "SiteAdmin"
    STUDENT = "Student"


class Level(str, Enum):
    """层次."""

    HIGH_TO_BACHELOR = "gqb"    # 高起本
    JUNIOR_TO_BACHELOR = "zsb"  # 专升本
    HIGH_TO_JUNIOR = "gqz"      # 高起专


class StudyMode(str, Enum):
    CORRESPONDENCE = "hanshou"  # 函授
    SPARE_TIME = "yeyu"         # 业余
    PART_TIME = "feituochan"    # 非脱产


class EnrolmentStatus(str, Enum):
    """学籍状态."""

    ENROLLED = "enrolled"        # 在籍
    SUSPENDED = "suspended"      # 休学
    WITHDRAWN = "withdrawn"      # 退学
    GRADUATED = "graduated"      # 毕业


class CourseNature(str, Enum):
    REQUIRED = "required"   # 必修
    ELECTIVE = "elective"   # 选修


class ExamKind(str, Enum):
    REGULAR = "regular"   # 正考
    MAKEUP = "makeup"     # 补考
    RETAKE = "retake"     # 重修


class FormState(str, Enum):
    """毕业生登记表 state."""

    DRAFT = "draft"          # 未提交
    SUBMITTED = "submitted"  # 已提交
    REVIEWED = "reviewed"    # 已审核


class GraduationResult(str, Enum):
    """毕业审核结果."""

    UNAUDITED = "unaudited"        # 未审核
    PRE_GRADUATE = "pre_graduate"  # 预毕业
    FAILED = "failed"              # 不合格


class DegreeApplicationState(str, Enum):
    """学生申请状态."""

    NOT_APPLIED = "not_applied"  # 未申请
    APPLIED = "applied"          # 已申请


class DegreeConditionResult(str, Enum):
    """学位申请条件是否达标."""

    UNAUDITED = "unaudited"  # 未审核
    MET = "met"              # 已达标
    NOT_MET = "not_met"      # 未达标


class ReviewOpinion(str, Enum):
    AGREE = "agree"        # 同意
    DISAGREE = "disagree"  # 不同意


class TaskState(str, Enum):
    QUEUED = "queued"        # 排队中
    RUNNING = "running"      # 执行中
    SUCCEEDED = "succeeded"  # 成功
    FAILED = "failed"        # 失败


class SubstituteExam(str, Enum):
    """Accepted substitutes for the degree foreign-language exam."""

    CET4 = "cet4"    # 大学英语四级 ≥ 425
    PETS3 = "pets3"  # PETS-3 合格


_LABEL_LIST: list[tuple[Enum, str]] = [
    (OrgKind.CE, "继续教育学院"),
    (OrgKind.COLLEGE, "二级学院"),
    (OrgKind.SITE, "教学点"),
    (RoleName.CE_ADMIN, "继教院管理员"),
    (RoleName.COLLEGE_ADMIN, "学院管理员"),
    (RoleName.SITE_ADMIN, "教学点管理员"),
    (RoleName.STUDENT, "学生"),
    (Level.HIGH_TO_BACHELOR, "高起本"),
    (Level.JUNIOR_TO_BACHELOR, "专升本"),
    (Level.HIGH_TO_JUNIOR, "高起专"),
    (StudyMode.CORRESPONDENCE, "函授"),
    (StudyMode.SPARE_TIME, "业余"),
    (StudyMode.PART_TIME, "非脱产"),
    (EnrolmentStatus.ENROLLED, "在籍"),
    (EnrolmentStatus.SUSPENDED, "休学"),
    (EnrolmentStatus.WITHDRAWN, "退学"),
    (EnrolmentStatus.GRADUATED, "毕业"),
    (CourseNature.REQUIRED, "必修"),
    (CourseNature.ELECTIVE, "选修"),
    (ExamKind.REGULAR, "正考"),
    (ExamKind.MAKEUP, "补考"),
    (ExamKind.RETAKE, "重修"),
    (FormState.DRAFT, "未提交"),
    (FormState.SUBMITTED, "已提交"),
    (FormState.REVIEWED, "已审核"),
    (GraduationResult.UNAUDITED, "未审核"),
    (GraduationResult.PRE_GRADUATE, "预毕业"),
    (GraduationResult.FAILED, "不合格"),
    (DegreeApplicationState.NOT_APPLIED, "未申请"),
    (DegreeApplicationState.APPLIED, "已申请"),
    (DegreeConditionResult.UNAUDITED, "未审核"),
    (DegreeConditionResult.MET, "已达标"),
    (DegreeConditionResult.NOT_MET, "未达标"),
    (ReviewOpinion.AGREE, "同意"),
    (ReviewOpinion.DISAGREE, "不同意"),
    (TaskState.QUEUED, "排队中"),
    (TaskState.RUNNING, "执行中"),
    (TaskState.SUCCEEDED, "成功"),
    (TaskState.FAILED, "失败"),
    (SubstituteExam.CET4, "大学英语四级"),
    (SubstituteExam.PETS3, "PETS-3"),
]


class _Labels:
    """Labels keyed by (enum class, code): equal codes of different enums ("failed") stay apart."""

    def __init__(self, pairs: list[tuple[Enum, str]]) -> None:
        self._map = {(type(m), m.value): text for m, text in pairs}

    def __getitem__(self, member: Enum) -> str:
        return self._map[(type(member), member.value)]

    def get(self, member: Enum, default: str | None = None) -> str | None:
        return self._map.get((type(member), member.value), default)

    def for_code(self, enum: type[Enum], code: str) -> str | None:
        """Label of a stored code without building the member (hot in jobs touching 100,000 rows)."""
        return self._map.get((enum, code))

    def __contains__(self, member: Enum) -> bool:
        return (type(member), member.value) in self._map


LABELS = _Labels(_LABEL_LIST)


def label(value: Enum | str | None, enum: type[Enum] | None = None) -> str:
    """Chinese label of a status given as member or stored code ('' for None)."""
    if value is None:
        return ""
    if not isinstance(value, Enum):
        if enum is None:
            return str(value)
        found = LABELS.for_code(enum, value)
        if found is not None:
            return found
        value = enum(value)  # an unknown code raises ValueError
    return LABELS.get(value, value.value)


def choices(enum: type[Enum]) -> list[tuple[str, str]]:
    """(code, label) pairs for a select box."""
    return [(m.value, LABELS[m]) for m in enum]


# Academic constants that rules and display agree on.
PASS_SCORE = 60.0
GRADE_WORDS = {"优": 95.0, "良": 85.0, "中": 75.0, "及格": 65.0, "不及格": 0.0}
LEVEL_DURATION_YEARS = {
    Level.HIGH_TO_BACHELOR: 5.0,
    Level.JUNIOR_TO_BACHELOR: 2.5,
    Level.HIGH_TO_JUNIOR: 2.5,
}

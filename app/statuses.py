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


class ScopeKind(str, Enum):
    """Which students an account may see (``app.security.Scope``)."""

    ALL = "all"          # 继教院: every student
    COLLEGE = "college"  # 学院: students whose major belongs to the college
    SITE = "site"        # 教学点: the site's students
    STUDENT = "student"  # 学生: self only
    NONE = "none"        # anything unexpected: no student at all


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


class ExceptionKind(str, Enum):
    """Kind of a course exception (课程替代 / 免修 / 学分认定) against one plan course."""

    SUBSTITUTE = "substitute"    # 课程替代: another passed course counts, its best score is used
    WAIVER = "waiver"            # 免修: counts as passed with the plan credits, no score
    RECOGNITION = "recognition"  # 学分认定: credits earned elsewhere, with a score or 合格


class ExceptionStatus(str, Enum):
    """Workflow of a course exception; only APPROVED ones count in the audit."""

    PENDING = "pending"      # 待审核
    APPROVED = "approved"    # 已通过
    REJECTED = "rejected"    # 已驳回
    REVOKED = "revoked"      # 已撤销


class CourseState(str, Enum):
    """Standing of one plan course for one student (``app.audit.exceptions.course_standing``)."""

    PASSED = "passed"            # 已通过
    FAILED = "failed"            # 未通过
    NOT_TAKEN = "not_taken"      # 未修
    WAIVED = "waived"            # 免修
    SUBSTITUTED = "substituted"  # 替代
    RECOGNISED = "recognised"    # 认定


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


class ConfirmState(str, Enum):
    """确认状态 of a graduation result (derived from confirmed_at / published_at, never stored)."""

    UNCONFIRMED = "unconfirmed"  # 未确认
    CONFIRMED = "confirmed"      # 已确认
    PUBLISHED = "published"      # 已毕业


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


class TaskKind(str, Enum):
    """What a background task does (任务中心's 任务类型)."""

    GRADUATION_SYNC = "graduation_sync"
    GRADUATION_AUDIT = "graduation_audit"
    GRADUATION_PUBLISH = "graduation_publish"
    DEGREE_AUDIT = "degree_audit"
    DEGREE_PUBLISH = "degree_publish"
    ARCHIVE_EXPORT = "archive_export"
    DEGREE_SUMMARY_EXPORT = "degree_summary_export"
    DEGREE_APPROVAL_EXPORT = "degree_approval_export"
    LIST_EXPORT = "list_export"
    IMPORT = "import"
    DEMO = "demo"


class OplogAction(str, Enum):
    """What an 操作日志 entry records."""

    GRADUATION_AUDIT = "graduation_audit"
    GRADUATION_OVERRIDE = "graduation_override"
    GRADUATION_CONFIRM = "graduation_confirm"
    GRADUATION_PUBLISH = "graduation_publish"
    GRADUATION_SYNC = "graduation_sync"
    FORM_SUBMIT = "form_submit"
    PHOTO_UPLOAD = "photo_upload"
    DEGREE_APPLY = "degree_apply"
    DEGREE_AUDIT = "degree_audit"
    DEGREE_OVERRIDE = "degree_override"
    DEGREE_REVIEW = "degree_review"
    DEGREE_FINAL = "degree_final"
    DEGREE_PUBLISH = "degree_publish"
    SIGNATURE_UPLOAD = "signature_upload"
    ACCOUNT_CREATE = "account_create"
    ACCOUNT_UPDATE = "account_update"
    ACCOUNT_LOCKED = "account_locked"
    PASSWORD_CHANGE = "password_change"
    CONTACT_UPDATE = "contact_update"
    IMPORT = "import"
    RECORD_UPDATE = "record_update"
    EXCEPTION_CREATE = "exception_create"
    EXCEPTION_APPROVE = "exception_approve"
    EXCEPTION_REJECT = "exception_reject"
    EXCEPTION_REVOKE = "exception_revoke"


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
    (ExceptionKind.SUBSTITUTE, "课程替代"),
    (ExceptionKind.WAIVER, "免修"),
    (ExceptionKind.RECOGNITION, "学分认定"),
    (ExceptionStatus.PENDING, "待审核"),
    (ExceptionStatus.APPROVED, "已通过"),
    (ExceptionStatus.REJECTED, "已驳回"),
    (ExceptionStatus.REVOKED, "已撤销"),
    (CourseState.PASSED, "已通过"),
    (CourseState.FAILED, "未通过"),
    (CourseState.NOT_TAKEN, "未修"),
    (CourseState.WAIVED, "免修"),
    (CourseState.SUBSTITUTED, "替代"),
    (CourseState.RECOGNISED, "认定"),
    (ExamKind.REGULAR, "正考"),
    (ExamKind.MAKEUP, "补考"),
    (ExamKind.RETAKE, "重修"),
    (FormState.DRAFT, "未提交"),
    (FormState.SUBMITTED, "已提交"),
    (FormState.REVIEWED, "已审核"),
    (GraduationResult.UNAUDITED, "未审核"),
    (GraduationResult.PRE_GRADUATE, "预毕业"),
    (GraduationResult.FAILED, "不合格"),
    (ConfirmState.UNCONFIRMED, "未确认"),
    (ConfirmState.CONFIRMED, "已确认"),
    (ConfirmState.PUBLISHED, "已毕业"),
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
    (TaskKind.GRADUATION_SYNC, "同步课程数据任务"),
    (TaskKind.GRADUATION_AUDIT, "毕业审核任务"),
    (TaskKind.GRADUATION_PUBLISH, "毕业发布任务"),
    (TaskKind.DEGREE_AUDIT, "学位条件审核任务"),
    (TaskKind.DEGREE_PUBLISH, "学位发布任务"),
    (TaskKind.ARCHIVE_EXPORT, "毕业生档案导出"),
    (TaskKind.DEGREE_SUMMARY_EXPORT, "学位申请信息汇总表导出"),
    (TaskKind.DEGREE_APPROVAL_EXPORT, "学士学位申请审批表导出"),
    (TaskKind.LIST_EXPORT, "列表导出"),
    (TaskKind.IMPORT, "数据导入"),
    (TaskKind.DEMO, "演示任务"),
    (OplogAction.GRADUATION_AUDIT, "毕业审核"),
    (OplogAction.GRADUATION_OVERRIDE, "修改毕业审核结果"),
    (OplogAction.GRADUATION_CONFIRM, "一键确认毕业"),
    (OplogAction.GRADUATION_PUBLISH, "毕业发布"),
    (OplogAction.GRADUATION_SYNC, "同步课程数据"),
    (OplogAction.FORM_SUBMIT, "提交毕业生登记表"),
    (OplogAction.PHOTO_UPLOAD, "上传毕业照片"),
    (OplogAction.DEGREE_APPLY, "学位申请"),
    (OplogAction.DEGREE_AUDIT, "学位条件审核"),
    (OplogAction.DEGREE_OVERRIDE, "修改授予结论"),
    (OplogAction.DEGREE_REVIEW, "初审"),
    (OplogAction.DEGREE_FINAL, "批量终审"),
    (OplogAction.DEGREE_PUBLISH, "学位发布"),
    (OplogAction.SIGNATURE_UPLOAD, "上传电子签名"),
    (OplogAction.ACCOUNT_CREATE, "创建账号"),
    (OplogAction.ACCOUNT_UPDATE, "修改账号"),
    (OplogAction.ACCOUNT_LOCKED, "账号锁定"),
    (OplogAction.PASSWORD_CHANGE, "修改密码"),
    (OplogAction.CONTACT_UPDATE, "修改联系方式"),
    (OplogAction.IMPORT, "导入"),
    (OplogAction.RECORD_UPDATE, "修改记录"),
    (OplogAction.EXCEPTION_CREATE, "录入课程替代与免修"),
    (OplogAction.EXCEPTION_APPROVE, "审核通过课程替代与免修"),
    (OplogAction.EXCEPTION_REJECT, "驳回课程替代与免修"),
    (OplogAction.EXCEPTION_REVOKE, "撤销课程替代与免修"),
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

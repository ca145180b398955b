"""毕业审核: batches, the current result per student, snapshots of every run, and 毕业生登记表."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.models.base import JSONType, utcnow
from app.statuses import LABELS, FormState, GraduationResult


class GraduationBatch(Model):
    """毕业批次: who is audited, under which conditions, and when sites may confirm."""

    __tablename__ = "graduation_batch"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), unique=True, nullable=False)
    enrol_grade = Column(Integer, nullable=False)
    study_grade = Column(Integer, nullable=False)
    level = Column(String(5), nullable=False)
    require_plan_courses = Column(Boolean, nullable=False, default=True)  # a. 教学计划课程
    require_form = Column(Boolean, nullable=False, default=True)  # b. 毕业生登记表
    require_photo = Column(Boolean, nullable=False, default=True)  # c. 毕业照片
    confirm_start = Column(DateTime, nullable=False)  # stored naive Asia/Shanghai wall time
    confirm_end = Column(DateTime, nullable=False)
    diploma_year = Column(Integer, nullable=False)
    graduation_date = Column(Date)

    def __repr__(self) -> str:
        return self.name


class GraduationAudit(Model):
    """The current graduation result of one student; computed and hand-set results side by side."""

    __tablename__ = "graduation_audit"
    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False, unique=True)
    student = relationship("Student", backref="graduation_audit_rows")
    batch_id = Column(Integer, ForeignKey("graduation_batch.id"), nullable=False, index=True)
    batch = relationship("GraduationBatch")
    result = Column(String(16), nullable=False, default=GraduationResult.UNAUDITED.value, index=True)
    computed_result = Column(String(16))
    computed_reasons = Column(JSONType)
    computed_at = Column(DateTime)
    computed_task_id = Column(Integer)
    override_result = Column(String(16))
    override_reason = Column(Text)
    override_by_id = Column(Integer, ForeignKey("ab_user.id"))
    override_at = Column(DateTime)
    confirmed_at = Column(DateTime, index=True)
    confirmed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    published_at = Column(DateTime)
    published_task_id = Column(Integer)
    diploma_no = Column(String(18), unique=True)
    graduation_date = Column(Date)

    @property
    def is_override(self) -> bool:
        return self.override_result is not None

    @property
    def result_label(self) -> str:
        return LABELS[GraduationResult(self.result)]


class GraduationSnapshot(Model):
    """One student's outcome in one audit run; (task, student) is unique so reruns never duplicate.

    History, like the operation log: it keeps the ids of the task, student and batch it describes
    but no foreign keys. Checking three of them per row was two thirds of the cost of writing a
    year's snapshots (PostgreSQL locks each referenced row), and history must not vanish with,
    or block the deletion of, what it describes.
    """

    __tablename__ = "graduation_snapshot"
    id = Column(Integer, primary_key=True)
    task_id = Column(Integer, nullable=False)
    student_id = Column(Integer, nullable=False)
    batch_id = Column(Integer, nullable=False)
    result = Column(String(16), nullable=False)
    reasons = Column(JSONType)
    passed_courses = Column(Integer)
    earned_credits = Column(Float)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (
        UniqueConstraint("task_id", "student_id", name="uq_graduation_snapshot"),
        Index("ix_graduation_snapshot_student", "student_id", "created_at"),
    )


class GraduateForm(Model):
    """毕业生登记表: the student's 自我鉴定 plus the site's and college's opinions."""

    __tablename__ = "graduate_form"
    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False, unique=True)
    student = relationship("Student", backref="graduate_form_rows")
    self_assessment = Column(Text, nullable=False, default="")
    site_opinion = Column(Text)
    college_opinion = Column(Text)
    state = Column(String(12), nullable=False, default=FormState.DRAFT.value)
    submitted_at = Column(DateTime)

    @property
    def state_label(self) -> str:
        return LABELS[FormState(self.state)]

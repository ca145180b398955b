"""毕业审核: batches, the current result per student, snapshots of every run, and 毕业生登记表."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import JSONType, utcnow
from app.statuses import LABELS, FormState, GraduationResult

if TYPE_CHECKING:
    from app.models.student import Student


class GraduationBatch(Model):
    """毕业批次: who is audited, under which conditions, and when sites may confirm."""

    __tablename__ = "graduation_batch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    enrol_grade: Mapped[int] = mapped_column(Integer, nullable=False)
    study_grade: Mapped[int] = mapped_column(Integer, nullable=False)
    level: Mapped[str] = mapped_column(String(5), nullable=False)
    require_plan_courses: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)  # a. 教学计划课程
    require_form: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)  # b. 毕业生登记表
    require_photo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)  # c. 毕业照片
    confirm_start: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)  # stored naive Asia/Shanghai wall time
    confirm_end: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    diploma_year: Mapped[int] = mapped_column(Integer, nullable=False)
    graduation_date: Mapped[dt.date | None] = mapped_column(Date)

    def __repr__(self) -> str:
        return self.name


class GraduationAudit(Model):
    """The current graduation result of one student; computed and hand-set results side by side."""

    __tablename__ = "graduation_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    student: Mapped[Student] = relationship("Student", backref="graduation_audit_rows")
    batch_id: Mapped[int] = mapped_column(Integer, ForeignKey("graduation_batch.id"), nullable=False, index=True)
    batch: Mapped[GraduationBatch] = relationship("GraduationBatch")
    result: Mapped[str] = mapped_column(
        String(16), nullable=False, default=GraduationResult.UNAUDITED.value, index=True
    )
    computed_result: Mapped[str | None] = mapped_column(String(16))
    computed_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    computed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    computed_task_id: Mapped[int | None] = mapped_column(Integer)
    override_result: Mapped[str | None] = mapped_column(String(16))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    override_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    published_task_id: Mapped[int | None] = mapped_column(Integer)
    diploma_no: Mapped[str | None] = mapped_column(String(18), unique=True)
    graduation_date: Mapped[dt.date | None] = mapped_column(Date)

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
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(Integer, nullable=False)
    student_id: Mapped[int] = mapped_column(Integer, nullable=False)
    batch_id: Mapped[int] = mapped_column(Integer, nullable=False)
    result: Mapped[str] = mapped_column(String(16), nullable=False)
    reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    passed_courses: Mapped[int | None] = mapped_column(Integer)
    earned_credits: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (
        UniqueConstraint("task_id", "student_id", name="uq_graduation_snapshot"),
        Index("ix_graduation_snapshot_student", "student_id", "created_at"),
    )


class GraduateForm(Model):
    """毕业生登记表: the student's 自我鉴定 plus the site's and college's opinions."""

    __tablename__ = "graduate_form"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    student: Mapped[Student] = relationship("Student", backref="graduate_form_rows")
    self_assessment: Mapped[str] = mapped_column(Text, nullable=False, default="")
    site_opinion: Mapped[str | None] = mapped_column(Text)
    college_opinion: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), nullable=False, default=FormState.DRAFT.value)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    @property
    def state_label(self) -> str:
        return LABELS[FormState(self.state)]

"""学位审核: batches, applications with condition result, reviews and grant; e-signatures."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from flask_appbuilder import Model
from sqlalchemy import (
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
from app.statuses import LABELS, DegreeConditionResult

if TYPE_CHECKING:
    from app.models.student import Student


class DegreeBatch(Model):
    """学位批次: scope, application window, pass marks, year."""

    __tablename__ = "degree_batch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    enrol_grade: Mapped[int] = mapped_column(Integer, nullable=False)
    level: Mapped[str | None] = mapped_column(String(5))  # None = 本科 levels (高起本, 专升本)
    apply_start: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)  # naive Asia/Shanghai wall time
    apply_end: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    language_pass_mark: Mapped[float] = mapped_column(Float, nullable=False, default=60)
    course_average_mark: Mapped[float] = mapped_column(Float, nullable=False, default=70)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    grant_date: Mapped[dt.date | None] = mapped_column(Date)

    def __repr__(self) -> str:
        return self.name


class DegreeApplication(Model):
    """学位申请 of one student in one batch, carried through audit, 初审, 终审 and 发布."""

    __tablename__ = "degree_application"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(Integer, ForeignKey("degree_batch.id"), nullable=False, index=True)
    batch: Mapped[DegreeBatch] = relationship("DegreeBatch")
    student_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False, index=True
    )
    student: Mapped[Student] = relationship("Student")
    applied_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    applied_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    result: Mapped[str] = mapped_column(
        String(12), nullable=False, default=DegreeConditionResult.UNAUDITED.value, index=True
    )
    computed_result: Mapped[str | None] = mapped_column(String(12))
    computed_reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    computed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    computed_task_id: Mapped[int | None] = mapped_column(Integer)
    override_result: Mapped[str | None] = mapped_column(String(12))
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    override_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    review_opinion: Mapped[str | None] = mapped_column(String(10))  # 初审 ReviewOpinion
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    review_signature_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("signature.id"))
    final_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)  # 终审
    final_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    published_task_id: Mapped[int | None] = mapped_column(Integer)
    degree_no: Mapped[str | None] = mapped_column(String(16), unique=True)
    granted_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (UniqueConstraint("batch_id", "student_id", name="uq_degree_application"),)

    @property
    def result_label(self) -> str:
        return LABELS[DegreeConditionResult(self.result)]


class DegreeSnapshot(Model):
    __tablename__ = "degree_snapshot"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(Integer, ForeignKey("task.id"), nullable=False)
    application_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("degree_application.id", ondelete="CASCADE"), nullable=False
    )
    result: Mapped[str] = mapped_column(String(12), nullable=False)
    reasons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    average: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (
        UniqueConstraint("task_id", "application_id", name="uq_degree_snapshot"),
        Index("ix_degree_snapshot_app", "application_id", "created_at"),
    )


class Signature(Model):
    """An admin's electronic signature image; every upload is a new version, reviews keep theirs."""

    __tablename__ = "signature"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    path: Mapped[str] = mapped_column(String(200), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (UniqueConstraint("account_id", "version", name="uq_signature_version"),)

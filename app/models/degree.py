"""学位审核: batches, applications with condition result, reviews and grant; e-signatures."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
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
from app.statuses import LABELS, DegreeConditionResult


class DegreeBatch(Model):
    """学位批次: scope, application window, pass marks, year."""

    __tablename__ = "degree_batch"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), unique=True, nullable=False)
    enrol_grade = Column(Integer, nullable=False)
    level = Column(String(5))  # None = 本科 levels (高起本, 专升本)
    apply_start = Column(DateTime, nullable=False)  # naive Asia/Shanghai wall time
    apply_end = Column(DateTime, nullable=False)
    language_pass_mark = Column(Float, nullable=False, default=60)
    course_average_mark = Column(Float, nullable=False, default=70)
    year = Column(Integer, nullable=False)
    grant_date = Column(Date)

    def __repr__(self) -> str:
        return self.name


class DegreeApplication(Model):
    """学位申请 of one student in one batch, carried through audit, 初审, 终审 and 发布."""

    __tablename__ = "degree_application"
    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("degree_batch.id"), nullable=False, index=True)
    batch = relationship("DegreeBatch")
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False, index=True)
    student = relationship("Student")
    applied_at = Column(DateTime, nullable=False, default=utcnow)
    applied_by_id = Column(Integer, ForeignKey("ab_user.id"))
    result = Column(String(12), nullable=False, default=DegreeConditionResult.UNAUDITED.value, index=True)
    computed_result = Column(String(12))
    computed_reasons = Column(JSONType)
    computed_at = Column(DateTime)
    computed_task_id = Column(Integer)
    override_result = Column(String(12))
    override_reason = Column(Text)
    override_by_id = Column(Integer, ForeignKey("ab_user.id"))
    override_at = Column(DateTime)
    review_opinion = Column(String(10))  # 初审 ReviewOpinion
    review_comment = Column(Text)
    reviewed_by_id = Column(Integer, ForeignKey("ab_user.id"))
    reviewed_at = Column(DateTime)
    review_signature_id = Column(Integer, ForeignKey("signature.id"))
    final_at = Column(DateTime, index=True)  # 终审
    final_by_id = Column(Integer, ForeignKey("ab_user.id"))
    published_at = Column(DateTime)
    published_task_id = Column(Integer)
    degree_no = Column(String(16), unique=True)
    granted_on = Column(Date)
    __table_args__ = (UniqueConstraint("batch_id", "student_id", name="uq_degree_application"),)

    @property
    def result_label(self) -> str:
        return LABELS[DegreeConditionResult(self.result)]


class DegreeSnapshot(Model):
    __tablename__ = "degree_snapshot"
    id = Column(Integer, primary_key=True)
    task_id = Column(Integer, ForeignKey("task.id"), nullable=False)
    application_id = Column(Integer, ForeignKey("degree_application.id", ondelete="CASCADE"), nullable=False)
    result = Column(String(12), nullable=False)
    reasons = Column(JSONType)
    average = Column(Float)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (
        UniqueConstraint("task_id", "application_id", name="uq_degree_snapshot"),
        Index("ix_degree_snapshot_app", "application_id", "created_at"),
    )


class Signature(Model):
    """An admin's electronic signature image; every upload is a new version, reviews keep theirs."""

    __tablename__ = "signature"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    version = Column(Integer, nullable=False)
    path = Column(String(200), nullable=False)
    sha256 = Column(String(64), nullable=False)
    width = Column(Integer, nullable=False)
    height = Column(Integer, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    __table_args__ = (UniqueConstraint("account_id", "version", name="uq_signature_version"),)

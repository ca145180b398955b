"""课程替代 / 免修 / 学分认定: a course exception of one student against one course of their teaching plan."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask_appbuilder import Model
from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit.exceptions import exception_label
from app.audit.types import ApprovedException
from app.clock import to_local
from app.models.base import utcnow
from app.statuses import LABELS, ExceptionKind, ExceptionStatus

if TYPE_CHECKING:
    from app.models.student import Student

# Pending and approved exceptions are "active": at most one per student and plan course.
ACTIVE_STATUSES = (ExceptionStatus.PENDING.value, ExceptionStatus.APPROVED.value)
_ACTIVE_WHERE = text("status IN ('pending', 'approved')")


class CourseException(Model):
    """Entered by a site/college/CE admin (待审核); counts in the audit only once the CE admin approved it
    (已通过); 已驳回 and 已撤销 count for nothing. The rules see approved ones as ``audit.types.ApprovedException``."""

    __tablename__ = "course_exception"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    student: Mapped[Student] = relationship("Student")
    course_code: Mapped[str] = mapped_column(String(20), nullable=False)   # the plan course
    course_name: Mapped[str] = mapped_column(String(100), nullable=False)  # its name when entered
    kind: Mapped[str] = mapped_column(String(12), nullable=False)          # ExceptionKind
    substitute_code: Mapped[str | None] = mapped_column(String(20))        # 课程替代
    substitute_name: Mapped[str | None] = mapped_column(String(100))
    source_institution: Mapped[str | None] = mapped_column(String(100))    # 学分认定
    source_course: Mapped[str | None] = mapped_column(String(100))
    credits: Mapped[float | None] = mapped_column(Float)                   # 学分认定: recognised credits
    score: Mapped[float | None] = mapped_column(Float)                     # 学分认定: None = 合格
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=ExceptionStatus.PENDING.value)
    entered_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(String(500))
    __table_args__ = (
        Index("ix_course_exception_student", "student_id", "status"),
        Index("uq_course_exception_active", "student_id", "course_code", unique=True,
              sqlite_where=_ACTIVE_WHERE, postgresql_where=_ACTIVE_WHERE),
    )

    def as_rule(self) -> ApprovedException:
        """The exception as the rules see it (the approval date: the day approved, Asia/Shanghai)."""
        day = to_local(self.decided_at).date() if self.decided_at is not None else dt.date.min
        return ApprovedException(self.kind, self.course_code, day, self.substitute_code, self.substitute_name,
                                 self.source_institution, self.source_course, self.credits, self.score)

    @property
    def detail(self) -> str:
        """The course named with its exception as the audit names it; the date only once approved."""
        approved = self.status == ExceptionStatus.APPROVED.value and self.decided_at is not None
        return exception_label(self.course_name, self.as_rule(), approved=approved)

    @property
    def kind_label(self) -> str:
        return LABELS[ExceptionKind(self.kind)]

    @property
    def status_label(self) -> str:
        return LABELS[ExceptionStatus(self.status)]

    def __repr__(self) -> str:
        return f"{self.kind_label} {self.course_code} {self.course_name}"

"""成绩 and 学位外语成绩."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from app.statuses import LABELS, ExamKind


class Grade(Model):
    """One attempt at a course. A course is passed when any attempt is passed; the best counts."""

    __tablename__ = "grade"
    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    student = relationship("Student")
    course_code = Column(String(20), nullable=False)
    course_name = Column(String(100), nullable=False)
    term = Column(String(20), nullable=False)  # 学期, e.g. 2020-2021-1
    score = Column(Float, nullable=False)  # 0–100 after mapping 优/良/中/及格/不及格
    raw_score = Column(String(10), nullable=False)  # as recorded
    exam_kind = Column(String(10), nullable=False, default=ExamKind.REGULAR.value)
    __table_args__ = (
        UniqueConstraint("student_id", "course_code", "term", "exam_kind", name="uq_grade_attempt"),
        # Covers the best-score aggregate of every audit (student → course → max score) without
        # touching the table: an index-only scan in (student, course) order, no sort, no hash.
        Index("ix_grade_best", "student_id", "course_code", "score"),
    )

    @property
    def exam_kind_label(self) -> str:
        return LABELS[ExamKind(self.exam_kind)]


class LanguageScore(Model):
    """学位外语成绩, or an accepted substitute (CET-4 ≥ 425, PETS-3 pass) recorded as a pass."""

    __tablename__ = "language_score"
    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False, index=True)
    student = relationship("Student")
    exam_date = Column(Date, nullable=False)
    score = Column(Float)
    substitute = Column(String(10))  # SubstituteExam
    substitute_score = Column(Float)
    passed = Column(Boolean, nullable=False, default=False)
    __table_args__ = (UniqueConstraint("student_id", "exam_date", name="uq_language_score"),)

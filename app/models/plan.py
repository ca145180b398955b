"""教学计划 per (专业, 层次, 年级) and its courses."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask_appbuilder import Model
from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.statuses import LABELS, CourseNature, Level

if TYPE_CHECKING:
    from app.models.org import Major


class TeachingPlan(Model):
    __tablename__ = "teaching_plan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    major_id: Mapped[int] = mapped_column(Integer, ForeignKey("major.id"), nullable=False)
    major: Mapped[Major] = relationship("Major")
    level: Mapped[str] = mapped_column(String(5), nullable=False)
    grade: Mapped[int] = mapped_column(Integer, nullable=False)
    min_total_credits: Mapped[float] = mapped_column(Float, nullable=False)  # 毕业最低总学分
    min_elective_credits: Mapped[float] = mapped_column(Float, nullable=False, default=0)  # 选修最低学分
    courses: Mapped[list[PlanCourse]] = relationship(
        "PlanCourse", back_populates="plan", cascade="all, delete-orphan", order_by="PlanCourse.id"
    )
    __table_args__ = (UniqueConstraint("major_id", "level", "grade", name="uq_plan_major_level_grade"),)

    @property
    def level_label(self) -> str:
        return LABELS[Level(self.level)]

    def __repr__(self) -> str:
        return f"{self.grade}级 {self.major} {self.level_label}"


class PlanCourse(Model):
    __tablename__ = "plan_course"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("teaching_plan.id", ondelete="CASCADE"), nullable=False, index=True
    )
    plan: Mapped[TeachingPlan] = relationship("TeachingPlan", back_populates="courses")
    course_code: Mapped[str] = mapped_column(String(20), nullable=False)
    course_name: Mapped[str] = mapped_column(String(100), nullable=False)
    credits: Mapped[float] = mapped_column(Float, nullable=False)
    nature: Mapped[str] = mapped_column(String(10), nullable=False, default=CourseNature.REQUIRED.value)
    is_degree_course: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    suggested_term: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        UniqueConstraint("plan_id", "course_code", name="uq_plan_course"),
        # a plan's 学位课程 without reading its other courses (6 of 40): the 学位课程平均分 sort key of the
        # degree lists probes it once per listed application, the degree scores once per applicant
        Index("ix_plan_course_degree", "plan_id", "is_degree_course", "course_code"),
    )

    @property
    def nature_label(self) -> str:
        return LABELS[CourseNature(self.nature)]

    def __repr__(self) -> str:
        return f"{self.course_code} {self.course_name}"

"""教学计划 per (专业, 层次, 年级) and its courses."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Boolean, Column, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from app.statuses import LABELS, CourseNature, Level


class TeachingPlan(Model):
    __tablename__ = "teaching_plan"
    id = Column(Integer, primary_key=True)
    major_id = Column(Integer, ForeignKey("major.id"), nullable=False)
    major = relationship("Major")
    level = Column(String(5), nullable=False)
    grade = Column(Integer, nullable=False)
    min_total_credits = Column(Float, nullable=False)  # 毕业最低总学分
    min_elective_credits = Column(Float, nullable=False, default=0)  # 选修最低学分
    courses = relationship(
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
    id = Column(Integer, primary_key=True)
    plan_id = Column(Integer, ForeignKey("teaching_plan.id", ondelete="CASCADE"), nullable=False, index=True)
    plan = relationship("TeachingPlan", back_populates="courses")
    course_code = Column(String(20), nullable=False)
    course_name = Column(String(100), nullable=False)
    credits = Column(Float, nullable=False)
    nature = Column(String(10), nullable=False, default=CourseNature.REQUIRED.value)
    is_degree_course = Column(Boolean, nullable=False, default=False)
    suggested_term = Column(Integer)
    __table_args__ = (UniqueConstraint("plan_id", "course_code", name="uq_plan_course"),)

    @property
    def nature_label(self) -> str:
        return LABELS[CourseNature(self.nature)]

    def __repr__(self) -> str:
        return f"{self.course_code} {self.course_name}"

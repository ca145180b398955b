"""学籍: the student record."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask_appbuilder import Model
from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.statuses import LABELS, EnrolmentStatus, Level, StudyMode

if TYPE_CHECKING:
    from app.models.org import Major, Organisation


class Student(Model):
    __tablename__ = "student"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_no: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)  # 学号
    name: Mapped[str] = mapped_column(String(50), nullable=False, index=True)
    gender: Mapped[str] = mapped_column(String(2), nullable=False)  # 男/女
    id_card: Mapped[str] = mapped_column(String(18), nullable=False)
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    ethnicity: Mapped[str | None] = mapped_column(String(20), default="汉族")
    political_status: Mapped[str | None] = mapped_column(String(20), default="群众")
    mobile: Mapped[str | None] = mapped_column(String(20))
    # 学籍年级 (indexed for the filter's year range)
    enrol_grade: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    study_grade: Mapped[int] = mapped_column(Integer, nullable=False, index=True)  # 学习年级
    level: Mapped[str] = mapped_column(String(5), nullable=False)  # Level
    major_id: Mapped[int] = mapped_column(Integer, ForeignKey("major.id"), nullable=False, index=True)
    major: Mapped[Major] = relationship("Major")
    college_id: Mapped[int] = mapped_column(Integer, ForeignKey("organisation.id"), nullable=False, index=True)
    college: Mapped[Organisation] = relationship("Organisation", foreign_keys=[college_id])
    study_mode: Mapped[str] = mapped_column(String(12), nullable=False, default=StudyMode.CORRESPONDENCE.value)
    duration_years: Mapped[float] = mapped_column(Float, nullable=False, default=2.5)  # 学制
    site_id: Mapped[int] = mapped_column(Integer, ForeignKey("organisation.id"), nullable=False, index=True)
    site: Mapped[Organisation] = relationship("Organisation", foreign_keys=[site_id])
    status: Mapped[str] = mapped_column(String(12), nullable=False, default=EnrolmentStatus.ENROLLED.value, index=True)
    enrolled_on: Mapped[dt.date | None] = mapped_column(Date)  # 入学日期
    photo_path: Mapped[str | None] = mapped_column(String(200))  # storage-relative, never under static/
    passed_courses: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # 已通过课程数 (synced)
    earned_credits: Mapped[float] = mapped_column(Float, nullable=False, default=0)  # 已获总学分 (synced)
    synced_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # 同步时间

    __table_args__ = (
        Index("ix_student_site_level", "site_id", "level", "enrol_grade", "study_grade"),
        Index("ix_student_college_level", "college_id", "level", "enrol_grade"),
    )

    @property
    def level_label(self) -> str:
        return LABELS[Level(self.level)]

    @property
    def status_label(self) -> str:
        return LABELS[EnrolmentStatus(self.status)]

    @property
    def study_mode_label(self) -> str:
        return LABELS[StudyMode(self.study_mode)]

    @property
    def has_photo(self) -> bool:
        return bool(self.photo_path)

    def __repr__(self) -> str:
        return f"{self.student_no} {self.name}"


@event.listens_for(Session, "before_flush")
def _student_college_follows_major(session, _ctx, _instances) -> None:
    """college_id is denormalised from the major so that scoping is one indexed comparison."""
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Student) and obj.major_id is not None:
            major = obj.major
            if major is None or major.id != obj.major_id:
                from app.models.org import Major

                major = session.get(Major, obj.major_id)
            if major is not None and obj.college_id != major.college_id:
                obj.college_id = major.college_id

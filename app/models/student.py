"""学籍: the student record."""
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
    event,
)
from sqlalchemy.orm import Session, relationship

from app.statuses import LABELS, EnrolmentStatus, Level, StudyMode


class Student(Model):
    __tablename__ = "student"
    id = Column(Integer, primary_key=True)
    student_no = Column(String(20), unique=True, nullable=False)  # 学号
    name = Column(String(50), nullable=False, index=True)
    gender = Column(String(2), nullable=False)  # 男/女
    id_card = Column(String(18), nullable=False)
    birth_date = Column(Date)
    ethnicity = Column(String(20), default="汉族")
    political_status = Column(String(20), default="群众")
    mobile = Column(String(20))
    enrol_grade = Column(Integer, nullable=False, index=True)  # 学籍年级 (indexed for the filter's year range)
    study_grade = Column(Integer, nullable=False, index=True)  # 学习年级
    level = Column(String(5), nullable=False)  # Level
    major_id = Column(Integer, ForeignKey("major.id"), nullable=False, index=True)
    major = relationship("Major")
    college_id = Column(Integer, ForeignKey("organisation.id"), nullable=False, index=True)
    college = relationship("Organisation", foreign_keys=[college_id])
    study_mode = Column(String(12), nullable=False, default=StudyMode.CORRESPONDENCE.value)
    duration_years = Column(Float, nullable=False, default=2.5)  # 学制
    site_id = Column(Integer, ForeignKey("organisation.id"), nullable=False, index=True)
    site = relationship("Organisation", foreign_keys=[site_id])
    status = Column(String(12), nullable=False, default=EnrolmentStatus.ENROLLED.value, index=True)
    enrolled_on = Column(Date)  # 入学日期
    photo_path = Column(String(200))  # storage-relative, never under static/
    passed_courses = Column(Integer, nullable=False, default=0)  # 已通过课程数 (synced)
    earned_credits = Column(Float, nullable=False, default=0)  # 已获总学分 (synced)
    synced_at = Column(DateTime)  # 同步时间

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

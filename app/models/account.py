"""Login accounts: FAB's user table extended with the organisation, the student and lockout state."""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship


class Account(User):
    """A person who logs in: institution staff (username = 工号) or a student (username = 学号)."""

    __tablename__ = "ab_user"
    org_id = Column(Integer, ForeignKey("organisation.id"), index=True)
    org = relationship("Organisation")
    student_id = Column(Integer, ForeignKey("student.id"), unique=True)
    student = relationship("Student", foreign_keys=[student_id])
    mobile = Column(String(20))
    must_change_password = Column(Boolean, nullable=False, default=True, server_default="1")
    locked_until = Column(DateTime)

"""Login accounts: FAB's user table extended with the organisation, the student and lockout state."""
from __future__ import annotations

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from app.models.base import utcnow


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
    # every API token (JWT) carries it; a password change, 停用 or 重置为初始密码 bumps it, ending all of them
    token_version = Column(Integer, nullable=False, default=0, server_default="0")


class AccountSession(Model):
    """One browser login. The session cookie is signed, not stored: without this row a copied cookie
    would stay valid after 退出. A page request is served only while its session's row is open;
    退出 closes it, a password change closes the account's other sessions, and 停用/重置密码 all of them."""

    __tablename__ = "account_session"
    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True)
    token = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    ended_at = Column(DateTime)

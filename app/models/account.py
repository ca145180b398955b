"""Login accounts: FAB's user table extended with the organisation, the student and lockout state."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import utcnow

if TYPE_CHECKING:
    from app.models.org import Organisation
    from app.models.student import Student


class Account(User):
    """A person who logs in: institution staff (username = 工号) or a student (username = 学号)."""

    __tablename__ = "ab_user"
    org_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("organisation.id"), index=True)
    org: Mapped[Organisation | None] = relationship("Organisation")
    student_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("student.id"), unique=True)
    student: Mapped[Student | None] = relationship("Student", foreign_keys=[student_id])
    mobile: Mapped[str | None] = mapped_column(String(20))
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default="1")
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # every API token (JWT) carries it; a password change, 停用 or 重置为初始密码 bumps it, ending all of them
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class AccountSession(Model):
    """One browser login. The session cookie is signed, not stored: without this row a copied cookie
    would stay valid after 退出. A page request is served only while its session's row is open;
    退出 closes it, a password change closes the account's other sessions, and 停用/重置密码 all of them."""

    __tablename__ = "account_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

"""Organisations (继续教育学院 → 二级学院 / 教学点) and the majors colleges own."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.statuses import LABELS, Level, OrgKind


class Organisation(Model):
    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("organisation.id"), index=True)
    parent: Mapped[Organisation | None] = relationship("Organisation", remote_side=[id])
    contact_name: Mapped[str | None] = mapped_column(String(50))  # 联系人 (the 机构 import fills it)
    contact_phone: Mapped[str | None] = mapped_column(String(20))  # 联系电话

    @property
    def kind_label(self) -> str:
        return LABELS[OrgKind(self.kind)]

    def __repr__(self) -> str:
        return self.name


class Major(Model):
    __tablename__ = "major"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    college_id: Mapped[int] = mapped_column(Integer, ForeignKey("organisation.id"), nullable=False, index=True)
    college: Mapped[Organisation] = relationship("Organisation")
    # 层次 offered, comma-separated Level codes ("zsb,gqz"); empty: not stated
    levels: Mapped[str | None] = mapped_column(String(30))

    @property
    def levels_label(self) -> str:
        """"专升本、高起专" (what the 机构与专业 import wrote); empty when not stated."""
        return "、".join(LABELS[Level(c)] for c in (self.levels or "").split(",") if c)

    def __repr__(self) -> str:
        return self.name

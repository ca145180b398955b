"""Organisations (继续教育学院 → 二级学院 / 教学点) and the majors colleges own."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.statuses import LABELS, OrgKind


class Organisation(Model):
    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("organisation.id"), index=True)
    parent: Mapped[Organisation | None] = relationship("Organisation", remote_side=[id])

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

    def __repr__(self) -> str:
        return self.name

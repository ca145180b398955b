"""Organisations (继续教育学院 → 二级学院 / 教学点) and the majors colleges own."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import relationship

from app.statuses import LABELS, Level, OrgKind


class Organisation(Model):
    __tablename__ = "organisation"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), unique=True, nullable=False)
    name = Column(String(100), unique=True, nullable=False)
    kind = Column(String(10), nullable=False, index=True)
    parent_id = Column(Integer, ForeignKey("organisation.id"), index=True)
    parent = relationship("Organisation", remote_side=[id])
    contact_name = Column(String(50))   # 联系人 (the 机构 import fills it)
    contact_phone = Column(String(20))  # 联系电话

    @property
    def kind_label(self) -> str:
        return LABELS[OrgKind(self.kind)]

    def __repr__(self) -> str:
        return self.name


class Major(Model):
    __tablename__ = "major"
    id = Column(Integer, primary_key=True)
    code = Column(String(20), unique=True, nullable=False)
    name = Column(String(100), nullable=False)
    college_id = Column(Integer, ForeignKey("organisation.id"), nullable=False, index=True)
    college = relationship("Organisation")
    levels = Column(String(30))  # 层次 offered, comma-separated Level codes ("zsb,gqz"); empty: not stated

    @property
    def levels_label(self) -> str:
        """"专升本、高起专" (what the 机构与专业 import wrote); empty when not stated."""
        return "、".join(LABELS[Level(c)] for c in (self.levels or "").split(",") if c)

    def __repr__(self) -> str:
        return self.name

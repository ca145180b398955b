"""Counters behind 毕业证书编号 and 学位证书编号: one row per prefix, locked while a number is taken."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column


class CertificateCounter(Model):
    __tablename__ = "certificate_counter"
    # e.g. 10304520240 5 → diploma prefix incl. level code
    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

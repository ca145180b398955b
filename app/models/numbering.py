"""Counters behind 毕业证书编号 and 学位证书编号: one row per prefix, locked while a number is taken."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, Integer, String


class CertificateCounter(Model):
    __tablename__ = "certificate_counter"
    prefix = Column(String(16), primary_key=True)  # e.g. 10304520240 5 → diploma prefix incl. level code
    last_value = Column(Integer, nullable=False, default=0)

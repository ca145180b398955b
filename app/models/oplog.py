"""操作日志: append-only record of every state change. The ORM refuses updates and deletes."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.models.base import utcnow


class OperationLog(Model):
    __tablename__ = "operation_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ab_user.id"))
    actor_name: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False, index=True)  # see app.services.oplog.ACTION_LABELS
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[int | None] = mapped_column(Integer)
    student_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # scope columns copied from the student at write time (ix_oplog_site_at)
    site_id: Mapped[int | None] = mapped_column(Integer)
    college_id: Mapped[int | None] = mapped_column(Integer, index=True)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ix_oplog_site_at", "site_id", "at"),)


class OperationLogImmutable(RuntimeError):
    """Raised when code tries to change or delete a log entry."""


@event.listens_for(OperationLog, "before_update")
def _refuse_update(*_args) -> None:
    raise OperationLogImmutable("操作日志不可修改")


@event.listens_for(OperationLog, "before_delete")
def _refuse_delete(*_args) -> None:
    raise OperationLogImmutable("操作日志不可删除")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state) -> None:
    """The same refusal for ORM bulk statements (``update(OperationLog)``, ``query(...).delete()``),
    which never pass through the per-object hooks above."""
    if (state.is_update or state.is_delete) and any(m.class_ is OperationLog for m in state.all_mappers):
        raise OperationLogImmutable("操作日志不可修改或删除")

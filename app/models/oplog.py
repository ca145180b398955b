"""操作日志: append-only record of every state change. The ORM refuses updates and deletes."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Session

from app.models.base import utcnow


class OperationLog(Model):
    __tablename__ = "operation_log"
    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    actor_id = Column(Integer, ForeignKey("ab_user.id"))
    actor_name = Column(String(64), nullable=False)
    action = Column(String(40), nullable=False, index=True)  # see app.services.oplog.ACTION_LABELS
    record_type = Column(String(40), nullable=False)
    record_id = Column(Integer)
    student_id = Column(Integer, index=True)
    site_id = Column(Integer)  # scope columns copied from the student at write time (ix_oplog_site_at)
    college_id = Column(Integer, index=True)
    old_value = Column(Text)
    new_value = Column(Text)
    reason = Column(Text)
    task_id = Column(Integer)
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

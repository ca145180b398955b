"""任务中心: one row per background operation, readable by the requester's organisation."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from app.models.base import JSONType, utcnow
from app.statuses import LABELS, TaskState


class Task(Model):
    __tablename__ = "task"
    id = Column(Integer, primary_key=True)
    kind = Column(String(40), nullable=False)  # see app.services.tasks.TASK_KINDS
    params = Column(JSONType, nullable=False, default=dict)  # the filter or the selected ids
    scope_text = Column(String(500), nullable=False, default="")  # human-readable scope
    requested_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    requested_by = relationship("Account", foreign_keys=[requested_by_id])
    org_id = Column(Integer, ForeignKey("organisation.id"), index=True)
    org = relationship("Organisation")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    started_at = Column(DateTime)
    finished_at = Column(DateTime)
    heartbeat_at = Column(DateTime)
    state = Column(String(10), nullable=False, default=TaskState.QUEUED.value)
    done = Column(Integer, nullable=False, default=0)
    total = Column(Integer, nullable=False, default=0)
    # plain JSON, not JSONB: PostgreSQL must keep the key order the handler chose ("预毕业 812，不合格 95")
    summary = Column(JSON)  # e.g. {"预毕业": 812, "不合格": 95}
    result_path = Column(String(300))  # storage-relative
    result_name = Column(String(200))  # download file name (may be Chinese)
    error = Column(Text)
    rq_job_id = Column(String(64))
    retry_of_id = Column(Integer, ForeignKey("task.id"))
    lock_key = Column(String(120))  # set while queued/running: one writer per scope
    __table_args__ = (
        Index("ix_task_org_created", "org_id", "created_at"),
        Index("uq_task_lock_key", "lock_key", unique=True),
    )

    @property
    def state_label(self) -> str:
        return LABELS[TaskState(self.state)]

    @property
    def percent(self) -> int:
        if self.state == TaskState.SUCCEEDED.value:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class TaskChunk(Model):
    """One slice of a fanned-out task (毕业审核 over 100,000 students): its own job, idempotent.

    The slice's ids are frozen when the task fans out, so every worker audits exactly the students
    the scope resolved to once; the parent's progress is the sum of its chunks' ``done``.
    """

    __tablename__ = "task_chunk"

    id = Column(Integer, primary_key=True)
    task_id = Column(Integer, ForeignKey("task.id", ondelete="CASCADE"), nullable=False)
    no = Column(Integer, nullable=False)
    item_ids = Column(JSON, nullable=False)
    state = Column(String(10), nullable=False, default=TaskState.QUEUED.value)
    done = Column(Integer, nullable=False, default=0)
    total = Column(Integer, nullable=False, default=0)
    summary = Column(JSON)
    error = Column(Text)
    started_at = Column(DateTime)
    finished_at = Column(DateTime)

    __table_args__ = (UniqueConstraint("task_id", "no", name="uq_task_chunk"),)

"""任务中心: one row per background operation, readable by the requester's organisation."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from flask_appbuilder import Model
from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import JSONType, utcnow
from app.statuses import LABELS, TaskState

if TYPE_CHECKING:
    from app.models.account import Account
    from app.models.org import Organisation


class Task(Model):
    __tablename__ = "task"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)  # see app.services.tasks.TASK_KINDS
    # the filter or the selected ids
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
    scope_text: Mapped[str] = mapped_column(String(500), nullable=False, default="")  # human-readable scope
    requested_by_id: Mapped[int] = mapped_column(Integer, ForeignKey("ab_user.id"), nullable=False)
    requested_by: Mapped[Account] = relationship("Account", foreign_keys=[requested_by_id])
    org_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("organisation.id"), index=True)
    org: Mapped[Organisation | None] = relationship("Organisation")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=TaskState.QUEUED.value)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # plain JSON, not JSONB: PostgreSQL must keep the key order the handler chose ("预毕业 812，不合格 95")
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. {"预毕业": 812, "不合格": 95}
    result_path: Mapped[str | None] = mapped_column(String(300))  # storage-relative
    result_name: Mapped[str | None] = mapped_column(String(200))  # download file name (may be Chinese)
    error: Mapped[str | None] = mapped_column(Text)
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    retry_of_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("task.id"))
    lock_key: Mapped[str | None] = mapped_column(String(120))  # set while queued/running: one writer per scope
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

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(Integer, ForeignKey("task.id", ondelete="CASCADE"), nullable=False)
    no: Mapped[int] = mapped_column(Integer, nullable=False)
    item_ids: Mapped[list[int]] = mapped_column(JSON, nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=TaskState.QUEUED.value)
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("task_id", "no", name="uq_task_chunk"),)

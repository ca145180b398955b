"""任务中心's rows: creating a task, retrying it, and telling when its worker is gone.

A task row is created (and committed) before its job is enqueued; the job only carries the task id.
How a task then runs — handlers per kind, the fan-out of the audits into chunks — is ``app.jobs.runner``;
this module never imports it (the runner calls services, not the other way round). It does ask RQ about
a task's jobs (``job_is_dead``, ``chunk_jobs_fate``) to decide whether a "running" task is dead.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Protocol

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app import extensions
from app.extensions import db
from app.i18n import joined, word
from app.models.base import utcnow
from app.models.task import Task, TaskChunk
from app.services.errors import Conflict
from app.statuses import TaskKind, TaskState, label

log = logging.getLogger(__name__)

TASK_KINDS: dict[str, str] = {k.value: label(k) for k in TaskKind}
# Kinds split into chunks (app.jobs.registry.FANOUTS, checked by a test): their jobs are one per chunk.
FANNED_OUT_KINDS = frozenset({TaskKind.GRADUATION_AUDIT.value, TaskKind.GRADUATION_SYNC.value,
                              TaskKind.DEGREE_AUDIT.value})
# Summary key of an audit: how many of its results are hand-set results it kept (counted inside the results).
KEPT_OVERRIDES_KEY = "保留手工修改结果"


def summary_text(summary) -> str:
    """{"预毕业": 56, "不合格": 26, "保留手工修改结果": 1} → "预毕业 56，不合格 26；其中 1 名保留手工修改结果".

    The stored keys are Chinese labels; the text is in the request's language (each key a msgid).
    """
    if not summary:
        return ""
    if not isinstance(summary, dict):
        return str(summary)
    text = joined((f"{word(k)} {v}" for k, v in summary.items() if k != KEPT_OVERRIDES_KEY), "，")
    kept = summary.get(KEPT_OVERRIDES_KEY)
    return gettext("%(counts)s；其中 %(n)s 名保留手工修改结果", counts=text, n=kept) if kept else text


class Progress(Protocol):
    def __call__(self, done: int, total: int | None = None) -> None: ...


def create_task(
    kind: str,
    *,
    actor,
    params: dict,
    scope_text: str = "",
    lock_key: str | None = None,
    total: int = 0,
) -> Task:
    """Add a queued task (flushed, not committed). With ``lock_key`` only one such task may be open."""
    if kind not in TASK_KINDS:
        raise ValueError(kind)
    if lock_key:
        _release_stale_lock(lock_key)
    _check_fair_share(getattr(actor, "org_id", None))
    task = Task(
        kind=kind,
        params=params,
        scope_text=scope_text[:500],
        requested_by_id=actor.id,
        org_id=getattr(actor, "org_id", None),
        state=TaskState.QUEUED.value,
        total=total,
        lock_key=lock_key,
    )
    db.session.add(task)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        db.session.expunge(task) if task in db.session else None
        raise Conflict(gettext("已有同一范围的%(kind)s在排队或执行中，请在任务中心等待其完成后再试",
                               kind=word(TASK_KINDS[kind]))) from None
    return task


ORG_BUSY = ("本单位已有 %(n)s 个任务在排队或执行中（每个单位最多同时 %(limit)s 个），"
            "请在任务中心等待其中一个完成后再提交")


def _check_fair_share(org_id: int | None) -> None:
    """One organisation may have at most ``ORG_OPEN_TASKS_MAX`` tasks queued or running, so that ten exports
    submitted by one teaching site cannot make every other organisation wait behind them (the queue is FIFO).
    Tasks whose worker is gone are reaped first. A soft limit: two submissions at the same instant may both pass.
    """
    limit = current_app.config.get("ORG_OPEN_TASKS_MAX")
    if not limit or org_id is None:
        return
    open_tasks = list(db.session.scalars(select(Task).where(
        Task.org_id == org_id, Task.state.in_((TaskState.QUEUED.value, TaskState.RUNNING.value)))
        .order_by(Task.id).limit(limit + 5)))
    if len(open_tasks) < limit:
        return
    reap_stale(open_tasks)
    busy = sum(1 for t in open_tasks if t.state in (TaskState.QUEUED.value, TaskState.RUNNING.value))
    if busy >= limit:
        raise Conflict(gettext(ORG_BUSY, n=busy, limit=limit))


def defer_for_fair_share(org_id: int | None, running: Mapping[int, int], waiting: Iterable[int]) -> bool:
    """The workers' fair share (round-robin between organisations, work-conserving): a worker that picked a
    task of ``org_id`` puts it back at the end of the queue when some other organisation with a task waiting
    in the queue (``waiting``) runs fewer tasks than ``org_id`` does (``running``: organisation → tasks
    running, the picked one not counted). The organisation running fewest among those waiting never defers,
    so every pass through the queue runs a task; with no other organisation waiting a site uses every worker."""
    if org_id is None:
        return False
    mine = running.get(org_id, 0)
    return any(other != org_id and running.get(other, 0) < mine for other in waiting)


_TASK_JOB = re.compile(r"^task-(\d+)(?:-deferred-\w+)?$")


def queued_task_ids(job_ids: Iterable[str]) -> list[int]:
    """The task ids of the task jobs among RQ job ids (chunk jobs belong to tasks already running)."""
    return [int(m.group(1)) for job_id in job_ids if (m := _TASK_JOB.match(job_id))]


def fair_share_load(task_id: int, waiting_task_ids: list[int]) -> tuple[dict[int, int], set[int]]:
    """Tasks running per organisation (``task_id`` left out) and the organisations of the queued tasks among
    ``waiting_task_ids`` (the jobs waiting in the queue): what ``defer_for_fair_share`` decides on."""
    running = {int(org or 0): n for org, n in db.session.execute(
        select(Task.org_id, func.count()).where(Task.state == TaskState.RUNNING.value, Task.id != task_id,
                                                Task.org_id.is_not(None)).group_by(Task.org_id)).tuples()}
    waiting: set[int] = set()
    if waiting_task_ids:
        waiting = set(db.session.scalars(select(Task.org_id).distinct().where(
            Task.id.in_(waiting_task_ids), Task.state == TaskState.QUEUED.value, Task.org_id.is_not(None))))
    return running, waiting


def deferred_job_id(task_id: int, token: str) -> str:
    """The RQ job id of a task put back at the end of the queue by the fair share (a fresh id per deferral:
    the job that deferred it is still finishing under the old one)."""
    return f"task-{task_id}-deferred-{token}"


def retry(task: Task, actor) -> Task:
    """A failed task runs again as a new task with the same parameters."""
    if task.state != TaskState.FAILED.value:
        raise Conflict(gettext("只有失败的任务可以重试"))
    lock = f"{task.kind}:{task.org_id}" if task.kind in LOCKED_KINDS else None
    new = create_task(task.kind, actor=actor, params=dict(task.params or {}), scope_text=task.scope_text, lock_key=lock)
    new.retry_of_id = task.id
    return new


LOCKED_KINDS = {"graduation_audit", "graduation_publish", "degree_audit", "degree_publish", "graduation_sync", "import"}


def lock_key_for(kind: str, actor) -> str | None:
    """One open task per (kind, organisation) for the kinds that write audit results."""
    return f"{kind}:{getattr(actor, 'org_id', None)}" if kind in LOCKED_KINDS else None


def fail(task_id: int, message: str) -> None:
    db.session.execute(
        update(Task)
        .where(Task.id == task_id, Task.state != TaskState.SUCCEEDED.value)
        .values(state=TaskState.FAILED.value, error=message[:4000], finished_at=utcnow(), lock_key=None)
    )
    db.session.commit()


STALE_MESSAGE = "执行任务的进程已中断，任务失败，请重试"
ENQUEUE_GRACE = dt.timedelta(seconds=30)


def is_stale(task: Task, now: dt.datetime | None = None) -> bool:
    """A queued or running task whose worker is gone (no heartbeat, or RQ says it failed)."""
    if task.state not in (TaskState.RUNNING.value, TaskState.QUEUED.value):
        return False
    now = now or utcnow()
    limit = dt.timedelta(seconds=current_app.config["TASK_STALE_SECONDS"])
    silent = task.heartbeat_at is not None and now - task.heartbeat_at > limit
    if (task.state == TaskState.RUNNING.value and current_app.config["JOBS_MODE"] == "rq"
            and task.kind in FANNED_OUT_KINDS):
        open_chunks = db.session.execute(select(TaskChunk.no, TaskChunk.state).where(
            TaskChunk.task_id == task.id, TaskChunk.state != TaskState.SUCCEEDED.value)).all()
        if open_chunks:
            fate = chunk_jobs_fate(task.id, [no for no, _state in open_chunks])
            if fate == "failed":
                return True
            # A job RQ does not know is lost (Redis restarted) — or not queued yet: the chunks are committed
            # just before their jobs are queued, and 任务中心 may look in between. Only a fan-out that has
            # been silent for ENQUEUE_GRACE since it finished queueing (see _run_fanout) has lost them.
            if fate == "missing" and task.heartbeat_at is not None and now - task.heartbeat_at > ENQUEUE_GRACE:
                return True
            # Chunks waiting in the queue behind other work are not dead, whatever the clock says. A chunk a
            # worker has taken commits progress every slice (and its start bumps the heartbeat), so silence
            # beyond the limit means its worker was killed: RQ would keep that job "started" for minutes.
            return silent and any(state == TaskState.RUNNING.value for _no, state in open_chunks)
    if task.state == TaskState.RUNNING.value and silent:
        return True
    return job_is_dead(task)


def reap_stale(tasks: list[Task]) -> None:
    """Mark tasks whose worker died as failed, so the task center never shows them running forever."""
    for task in tasks:
        if is_stale(task):
            _fail_stale(task.id)
            db.session.refresh(task)


def _fail_stale(task_id: int) -> None:
    """The task is 失败, and so are the chunks its dead workers had taken (a rerun queues them again)."""
    db.session.execute(update(TaskChunk).where(TaskChunk.task_id == task_id, TaskChunk.state == TaskState.RUNNING.value)
                       .values(state=TaskState.FAILED.value, error=STALE_MESSAGE, finished_at=utcnow()))
    fail(task_id, STALE_MESSAGE)


def _release_stale_lock(lock_key: str) -> None:
    holder = db.session.scalar(select(Task).where(Task.lock_key == lock_key))
    if holder is not None and is_stale(holder):
        _fail_stale(holder.id)


def chunk_jobs_fate(task_id: int, nos) -> str | None:
    """What RQ says of the given chunk jobs of a fanned-out task: ``"failed"`` when it failed, stopped or
    cancelled one, ``"missing"`` when it knows none of that id (lost with Redis, or not queued yet),
    else None (Redis unreachable included: no verdict without it)."""
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    conn = extensions.redis_connection()
    missing = False
    for no in nos:
        try:
            status = Job.fetch(chunk_job_id(task_id, no), connection=conn).get_status(refresh=True)
        except NoSuchJobError:
            missing = True
            continue
        except RedisError:
            return None
        if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            return "failed"
    return "missing" if missing else None


def job_is_dead(task) -> bool:
    """True when RQ knows the task's job failed or lost it (worker killed, timeout)."""
    if current_app.config["JOBS_MODE"] != "rq" or not task.rq_job_id:
        return False
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        job = Job.fetch(task.rq_job_id, connection=extensions.redis_connection())
        status = job.get_status(refresh=True)
    except NoSuchJobError:
        return True
    except RedisError:
        return False
    return status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def task_job_id(task_id: int) -> str:
    """The RQ job id of a task (one job, or the job that fans it out)."""
    return f"task-{task_id}"


def chunk_job_id(task_id: int, no: int) -> str:
    """The RQ job id of chunk ``no`` of a fanned-out task."""
    return f"task-{task_id}-chunk-{no}"

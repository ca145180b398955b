"""任务中心: creating, running and watching background tasks.

A task row is created (and committed) before its job is enqueued; the job only carries the task id.
Handlers are registered per kind with ``@handler(kind)`` and receive the task plus a ``progress``
callback that commits the work done so far together with the counter, so that progress on screen
never runs ahead of, or behind, what is in the database.

Kinds registered with ``@fanout(kind, items=...)`` (the audits) are split into chunks: the scope is
resolved once into ids, frozen in ``task_chunk`` rows, and each chunk is its own job — an RQ job per
chunk in ``rq`` mode, so any number of ``rq worker`` processes share one audit; in sequence otherwise.
A chunk marks itself done in the transaction that writes its last results, so a chunk run twice
writes the same thing once; the task's progress is the sum over its chunks, it is 成功 when every
chunk is, 失败 as soon as one fails, and ``run(task_id)`` on a failed task runs only the missing chunks.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.extensions import db
from app.models.base import utcnow
from app.models.task import Task, TaskChunk
from app.services.errors import Conflict, NotFound
from app.statuses import TaskState

log = logging.getLogger(__name__)

TASK_KINDS: dict[str, str] = {
    "graduation_sync": "同步课程数据任务",
    "graduation_audit": "毕业审核任务",
    "graduation_publish": "毕业发布任务",
    "degree_audit": "学位条件审核任务",
    "degree_publish": "学位发布任务",
    "archive_export": "毕业生档案导出",
    "degree_summary_export": "学位申请信息汇总表导出",
    "list_export": "列表导出",
    "import": "数据导入",
    "demo": "演示任务",
}


class Progress(Protocol):
    def __call__(self, done: int, total: int | None = None) -> None: ...


Handler = Callable[[Task, Progress], dict | None]
_HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the service function that carries out tasks of ``kind``."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


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
        raise Conflict(f"已有同一范围的{TASK_KINDS[kind]}在排队或执行中，请在任务中心等待其完成后再试") from None
    return task


def submit(task: Task) -> Task:
    """Commit the task row, then hand it to the job queue (rolls the row back if the queue is down)."""
    from app.jobs import enqueue

    db.session.commit()
    try:
        job_id = enqueue(task.id)
    except Exception:
        db.session.delete(task)
        db.session.commit()
        raise
    if job_id:
        db.session.execute(update(Task).where(Task.id == task.id).values(rq_job_id=job_id))
        db.session.commit()
    return task


def retry(task: Task, actor) -> Task:
    """A failed task runs again as a new task with the same parameters."""
    if task.state != TaskState.FAILED.value:
        raise Conflict("只有失败的任务可以重试")
    lock = f"{task.kind}:{task.org_id}" if task.kind in LOCKED_KINDS else None
    new = create_task(task.kind, actor=actor, params=dict(task.params or {}), scope_text=task.scope_text, lock_key=lock)
    new.retry_of_id = task.id
    return new


LOCKED_KINDS = {"graduation_audit", "graduation_publish", "degree_audit", "degree_publish", "graduation_sync", "import"}


def lock_key_for(kind: str, actor) -> str | None:
    """One open task per (kind, organisation) for the kinds that write audit results."""
    return f"{kind}:{getattr(actor, 'org_id', None)}" if kind in LOCKED_KINDS else None


def run(task_id: int) -> None:
    """Execute a task by id: the single entry point of every job. Safe to call twice."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在")
    if task.state == TaskState.SUCCEEDED.value:
        return
    if task.kind in _FANOUTS:
        _run_fanout(task, _FANOUTS[task.kind])
        return
    fn = _HANDLERS.get(task.kind)
    now = utcnow()
    task.state = TaskState.RUNNING.value
    task.started_at = task.started_at or now
    task.heartbeat_at = now
    task.error = None
    db.session.commit()

    def progress(done: int, total: int | None = None) -> None:
        values = {"done": done, "heartbeat_at": utcnow()}
        if total is not None:
            values["total"] = total
        db.session.execute(update(Task).where(Task.id == task_id).values(**values))
        db.session.commit()

    try:
        if fn is None:
            raise RuntimeError(f"unknown task kind {task.kind}")
        summary = fn(task, progress)
        db.session.commit()
        task = db.session.get(Task, task_id)
        task.state = TaskState.SUCCEEDED.value
        task.summary = summary if summary is not None else task.summary
        task.done = task.total if task.total else task.done
        task.finished_at = utcnow()
        task.lock_key = None
        db.session.commit()
    except Exception as exc:  # the task row records every failure; the job itself fails too
        log.error("task %s failed: %s", task_id, traceback.format_exc())
        _record_failure(task_id, _failure_message(exc))
        raise


DB_LOST_MESSAGE = "数据库连接中断，任务失败，请重试"
RECORD_FAILURE_SECONDS = 10.0
# SQLSTATEs of a server that is going away or not taking connections yet (admin or crash shutdown, starting up)
_SERVER_GONE = ("57P01", "57P02", "57P03")


def _connection_lost(exc: BaseException) -> bool:
    """A dropped or refused database connection (a restart, the network), as opposed to a failing statement."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "pgcode", None)
    if code:
        return code.startswith("08") or code in _SERVER_GONE
    # psycopg2 reports a refused connection, or a server still starting or shutting down, without a
    # SQLSTATE, and SQLAlchemy raises it from the connect, with no statement
    return isinstance(exc, OperationalError) and exc.statement is None and hasattr(exc.orig, "pgcode")


def _failure_message(exc: BaseException) -> str:
    """What 任务中心 shows: the service's Chinese message, or for a lost database connection a Chinese
    sentence instead of the driver's English (the traceback is in the worker's log either way)."""
    if _connection_lost(exc):
        return DB_LOST_MESSAGE
    return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"


def _record_failure(task_id: int, message: str, chunk_id: int | None = None) -> None:
    """Roll back, then mark the task (and the chunk that failed) 失败, waiting out a database restart.

    The error that ends a job is often the database going away, and its failure must not be lost with
    it, or the task shows 执行中 until someone opens 任务中心. While the connection is lost the write is
    retried with backoff for up to ``RECORD_FAILURE_SECONDS``; past that only the reaper is left.
    """
    deadline = time.monotonic() + RECORD_FAILURE_SECONDS
    pause = 0.1
    while True:
        try:
            db.session.rollback()
            if chunk_id is not None:
                db.session.execute(update(TaskChunk).where(TaskChunk.id == chunk_id).values(
                    state=TaskState.FAILED.value, error=message[:4000], finished_at=utcnow()))
            fail(task_id, message)
            return
        except DBAPIError as exc:
            if not _connection_lost(exc) or time.monotonic() + pause > deadline:
                log.error("task %s: its failure could not be recorded: %s", task_id, exc)
                return
        time.sleep(pause)
        pause = min(2 * pause, 1.0)


# --------------------------------------------------------------------------- fan-out

ChunkFn = Callable[[Task, list[int], Progress], dict]
DEFAULT_CHUNK_SIZE = 5000


@dataclass(frozen=True)
class FanOut:
    """How a kind splits: ``items`` resolves the task's ids once, ``chunk`` handles a slice (flush
    only; it may call ``progress``), ``finish`` turns the summed chunk summaries into the task's."""

    items: Callable[[Task], Sequence[int]]
    chunk: ChunkFn
    finish: Callable[[Task, dict], dict] | None = None
    size: int = DEFAULT_CHUNK_SIZE


_FANOUTS: dict[str, FanOut] = {}


def fanout(kind: str, *, items: Callable[[Task], Sequence[int]], finish: Callable[[Task, dict], dict] | None = None,
           size: int = DEFAULT_CHUNK_SIZE) -> Callable[[ChunkFn], ChunkFn]:
    """Register ``fn(task, ids, progress) -> summary`` as the chunk handler of a fanned-out kind."""

    def register(fn: ChunkFn) -> ChunkFn:
        _FANOUTS[kind] = FanOut(items=items, chunk=fn, finish=finish, size=size)
        return fn

    return register


def chunk_size(spec: FanOut) -> int:
    """Students per chunk; ``FANOUT_CHUNK_SIZE`` in the config overrides the kind's default."""
    return max(1, int(current_app.config.get("FANOUT_CHUNK_SIZE") or spec.size))


def _run_fanout(task: Task, spec: FanOut) -> None:
    """Split the task into chunks (once), then run or enqueue the chunks not done yet."""
    task_id = task.id
    now = utcnow()
    task.state = TaskState.RUNNING.value
    task.started_at = task.started_at or now
    task.heartbeat_at = now
    task.error = None
    task.finished_at = None
    db.session.commit()
    try:
        if not db.session.scalar(select(func.count()).where(TaskChunk.task_id == task_id)):
            ids = list(spec.items(task))
            size = chunk_size(spec)
            rows = [{"task_id": task_id, "no": no, "item_ids": ids[start:start + size],
                     "total": len(ids[start:start + size]), "state": TaskState.QUEUED.value, "done": 0}
                    for no, start in enumerate(range(0, len(ids), size))]
            if rows:
                db.session.execute(insert(TaskChunk), rows)
            db.session.execute(update(Task).where(Task.id == task_id).values(total=len(ids), done=0))
            db.session.commit()
        pending = list(db.session.scalars(
            select(TaskChunk.no).where(TaskChunk.task_id == task_id, TaskChunk.state != TaskState.SUCCEEDED.value)
            .order_by(TaskChunk.no)))
        db.session.execute(update(TaskChunk).where(TaskChunk.task_id == task_id, TaskChunk.no.in_(pending))
                           .values(state=TaskState.QUEUED.value, error=None))
        db.session.commit()
    except Exception as exc:
        log.error("task %s failed: %s", task_id, traceback.format_exc())
        _record_failure(task_id, _failure_message(exc))
        raise
    if not pending:
        _finish_fanout(task_id)
        return
    if current_app.config["JOBS_MODE"] == "rq":
        from app.jobs import enqueue_chunk

        try:
            for no in pending:
                enqueue_chunk(task_id, no)
        except Exception as exc:
            fail(task_id, _failure_message(exc))
            raise
        # every chunk job is queued now: from here a job RQ does not know is a lost one (see is_stale)
        db.session.execute(update(Task).where(Task.id == task_id).values(heartbeat_at=utcnow()))
        db.session.commit()
        return
    for no in pending:
        run_chunk(task_id, no)


def _sum_progress(task_id: int) -> None:
    """The task's ``done`` is the sum of its chunks' (one UPDATE; no read-modify-write race)."""
    total_done = select(func.coalesce(func.sum(TaskChunk.done), 0)).where(TaskChunk.task_id == task_id).scalar_subquery()
    db.session.execute(update(Task).where(Task.id == task_id).values(done=total_done, heartbeat_at=utcnow()))


def _claim_chunk(task_id: int, no: int) -> tuple[Task, int, list[int]] | None:
    """Mark the chunk 执行中 (committed) and return its task, id and items; None when it is not to run."""
    chunk = db.session.scalar(select(TaskChunk).where(TaskChunk.task_id == task_id, TaskChunk.no == no))
    task = db.session.get(Task, task_id)
    if chunk is None or task is None:
        raise NotFound(f"任务 {task_id} 的第 {no} 段不存在")
    if chunk.state == TaskState.SUCCEEDED.value:
        _finish_fanout(task_id)
        return None
    if task.state != TaskState.RUNNING.value:
        return None  # another chunk failed (or the task was reaped): a retry runs this one
    chunk_id, ids = chunk.id, [int(i) for i in chunk.item_ids]
    db.session.execute(update(TaskChunk).where(TaskChunk.id == chunk_id)
                       .values(state=TaskState.RUNNING.value, started_at=utcnow(), error=None))
    db.session.execute(update(Task).where(Task.id == task_id).values(heartbeat_at=utcnow()))
    db.session.commit()
    return task, chunk_id, ids


def run_chunk(task_id: int, no: int) -> None:
    """Run one chunk of a fanned-out task; a chunk already done, or of a failed task, is skipped."""
    try:
        claimed = _claim_chunk(task_id, no)
    except DBAPIError as exc:  # the job fails before its chunk starts: the task cannot finish without it
        log.error("task %s chunk %s failed to start: %s", task_id, no, traceback.format_exc())
        _record_failure(task_id, _failure_message(exc))
        raise
    if claimed is None:
        return
    task, chunk_id, ids = claimed
    spec = _FANOUTS[task.kind]

    def progress(done: int, total: int | None = None) -> None:
        db.session.execute(update(TaskChunk).where(TaskChunk.id == chunk_id).values(done=min(done, len(ids))))
        _sum_progress(task_id)
        db.session.commit()

    try:
        summary = spec.chunk(task, ids, progress) or {}
        db.session.execute(update(TaskChunk).where(TaskChunk.id == chunk_id).values(
            state=TaskState.SUCCEEDED.value, done=len(ids), summary=summary, finished_at=utcnow()))
        _sum_progress(task_id)
        db.session.commit()  # the chunk's last writes and its 成功 in one transaction
    except Exception as exc:
        log.error("task %s chunk %s failed: %s", task_id, no, traceback.format_exc())
        _record_failure(task_id, _failure_message(exc), chunk_id=chunk_id)
        raise
    _finish_fanout(task_id)


def _finish_fanout(task_id: int) -> None:
    """When every chunk is done, the one caller that flips the task to 成功 writes its summary."""
    open_chunks = db.session.scalar(select(func.count()).where(
        TaskChunk.task_id == task_id, TaskChunk.state != TaskState.SUCCEEDED.value))
    if open_chunks:
        return
    claimed = db.session.execute(
        update(Task).where(Task.id == task_id, Task.state == TaskState.RUNNING.value)
        .values(state=TaskState.SUCCEEDED.value, done=Task.total, finished_at=utcnow(), lock_key=None)
    ).rowcount
    if not claimed:
        db.session.rollback()
        return
    summary: dict = {}
    for part in db.session.scalars(select(TaskChunk.summary).where(TaskChunk.task_id == task_id).order_by(TaskChunk.no)):
        for key, value in (part or {}).items():
            summary[key] = summary.get(key, 0) + value if isinstance(value, (int, float)) else value
    task = db.session.get(Task, task_id)
    spec = _FANOUTS[task.kind]
    if spec.finish is not None:
        summary = spec.finish(task, summary)
    db.session.execute(update(Task).where(Task.id == task_id).values(summary=summary))
    db.session.commit()


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
    if task.state == TaskState.RUNNING.value and current_app.config["JOBS_MODE"] == "rq" and task.kind in _FANOUTS:
        open_chunks = db.session.execute(select(TaskChunk.no, TaskChunk.state).where(
            TaskChunk.task_id == task.id, TaskChunk.state != TaskState.SUCCEEDED.value)).all()
        if open_chunks:
            from app.jobs import chunk_jobs_fate

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
    from app.jobs import job_is_dead

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


@handler("demo")
def _demo(task: Task, progress: Progress) -> dict:
    """A tiny task used by the queue tests: counts to ``params['n']``."""
    n = int(task.params.get("n", 3))
    progress(0, n)
    for i in range(1, n + 1):
        progress(i)
    return {"计数": n}

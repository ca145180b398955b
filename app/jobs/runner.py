"""How a task runs: the one path from a committed task row to its handler, in every jobs mode.

``submit(task)`` commits the row and hands the task id to RQ (``JOBS_MODE=rq``: ``rq worker`` processes run
it), to a background thread of the web process (``thread``: ``make run`` without Redis), or runs it before
returning (``inline``: tests that do not exercise the queue). ``execute_task`` / ``execute_chunk`` are the RQ
entry points: thin, idempotent, only ids in.

``run(task_id)`` looks the kind up in ``app.jobs.registry`` and calls its handler with a ``progress``
callback that commits the work done so far together with the counter, so that progress on screen never runs
ahead of, or behind, what is in the database.

Fanned-out kinds (the audits) are split into chunks: the scope is resolved once into ids, frozen in
``task_chunk`` rows, and each chunk is its own job — an RQ job per chunk in ``rq`` mode, so any number of
``rq worker`` processes share one audit; in sequence otherwise. A chunk marks itself done in the transaction
that writes its last results, so a chunk run twice writes the same thing once; the task's progress is the sum
over its chunks, it is 成功 when every chunk is, 失败 as soon as one fails, and ``run(task_id)`` on a failed
task runs only the missing chunks.
"""
from __future__ import annotations

import logging
import os
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor

from flask import current_app, has_app_context
from flask_babel import force_locale
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from app import extensions
from app.extensions import db
from app.jobs.registry import FANOUTS, HANDLERS, FanOut
from app.models.base import utcnow
from app.models.task import Task, TaskChunk
from app.services import tasks
from app.services.common import changed_rows, chunks
from app.services.errors import NotFound, QueueUnavailable
from app.statuses import TaskState

log = logging.getLogger(__name__)

QUEUE_DOWN = "任务队列暂不可用（无法连接 Redis），本次操作未执行，请稍后再试"
JOB_FAILURE_TTL = 7 * 86400
JOB_RESULT_TTL = 86400

_executor: ThreadPoolExecutor | None = None
_app = None
_app_pid = None


# --------------------------------------------------------------------------- handing a task to a worker

def submit(task: Task) -> Task:
    """Commit the task row, then hand it to the job queue (rolls the row back if the queue is down)."""
    db.session.commit()
    try:
        job_id = enqueue(task.id)
    except Exception:
        db.session.delete(task)
        db.session.commit()
        raise
    if job_id:
        # a worker may already have deferred it (fair share) under a newer job id: keep that one
        db.session.execute(update(Task).where(Task.id == task.id, Task.rq_job_id.is_(None)).values(rq_job_id=job_id))
        db.session.commit()
    return task


def enqueue(task_id: int) -> str | None:
    """Start an already committed task the way ``JOBS_MODE`` says; its RQ job id in ``rq`` mode, else None."""
    mode = current_app.config["JOBS_MODE"]
    if mode == "inline":
        try:
            # what a task stores (summaries, error reports, log entries) is in the default language, as from
            # a worker, even when the request that ran it inline is in English
            with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
                run(task_id)
        except Exception:  # recorded on the task row; the request goes on
            log.info("inline task %s failed", task_id)
        return None
    if mode == "thread":
        global _executor
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="task")
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app behind the proxy
        _executor.submit(_run_in_thread, app, task_id)
        return None
    return _rq_enqueue("app.jobs.runner.execute_task", task_id, job_id=tasks.task_job_id(task_id))


def enqueue_chunk(task_id: int, no: int) -> str:
    """Queue one chunk of a fanned-out task (RQ mode); any worker on the queue may take it."""
    return _rq_enqueue("app.jobs.runner.execute_chunk", task_id, no, job_id=tasks.chunk_job_id(task_id, no))


def _rq_enqueue(func_path: str, *args, job_id: str) -> str:
    from redis.exceptions import RedisError

    try:
        job = extensions.rq_queue().enqueue(func_path, *args, job_id=job_id, failure_ttl=JOB_FAILURE_TTL,
                                            result_ttl=JOB_RESULT_TTL)
    except RedisError as exc:
        raise QueueUnavailable(QUEUE_DOWN) from exc
    return job.id


def _run_in_thread(app, task_id: int) -> None:
    with app.app_context():
        try:
            run(task_id)
        except Exception:
            log.exception("task %s failed", task_id)
        finally:
            db.session.remove()


# --------------------------------------------------------------------------- RQ entry points

def worker_app():
    """The app for jobs: built once per worker (AppWorker builds it before RQ forks a job).

    A forked job inherits the app but must not reuse the parent's database connections, so the
    first use in a new process drops the pool (without closing the parent's sockets).
    """
    global _app, _app_pid
    if _app is None:
        from app import create_app

        _app = create_app()
        _app_pid = os.getpid()
    elif _app_pid != os.getpid():
        with _app.app_context():
            db.engine.dispose(close=False)
        _app_pid = os.getpid()
    return _app


def execute_task(task_id: int) -> None:
    """RQ entry point of a task: run it, unless the fair share puts it back at the end of the queue."""
    if has_app_context():
        if not defer_for_fair_share(task_id):
            run(task_id)
        return
    with worker_app().app_context():
        try:
            if not defer_for_fair_share(task_id):
                run(task_id)
        finally:
            db.session.remove()


def defer_for_fair_share(task_id: int) -> bool:
    """Put a task just picked by an RQ worker back at the end of the queue when its organisation runs more
    tasks than another organisation that has one waiting (``tasks.defer_for_fair_share``), so that one site's
    burst cannot hold every worker. The task stays 排队中 with nothing else changed; its new job (a fresh id,
    recorded as the task's ``rq_job_id``) is queued before this one ends, so nothing is lost, and a task is
    deferred at most once per pick. Only ``rq`` mode with ``FAIR_SHARE_RUNNING``; chunks are never deferred.
    True when deferred (the caller must not run it)."""
    from redis.exceptions import RedisError

    if current_app.config["JOBS_MODE"] != "rq" or not current_app.config.get("FAIR_SHARE_RUNNING"):
        return False
    task = db.session.get(Task, task_id)
    if task is None or task.state != TaskState.QUEUED.value or task.org_id is None:
        return False
    try:
        waiting_ids = tasks.queued_task_ids(
            job_id.decode() if isinstance(job_id, bytes) else job_id
            for job_id in extensions.rq_queue().get_job_ids())
    except RedisError:
        return False  # no verdict without Redis: run it
    running, waiting = tasks.fair_share_load(task_id, [i for i in waiting_ids if i != task_id])
    if not tasks.defer_for_fair_share(task.org_id, running, waiting):
        return False
    try:
        job_id = _rq_enqueue("app.jobs.runner.execute_task", task_id,
                             job_id=tasks.deferred_job_id(task_id, uuid.uuid4().hex[:12]))
    except QueueUnavailable:
        return False
    db.session.execute(update(Task).where(Task.id == task_id).values(rq_job_id=job_id))
    db.session.commit()
    log.info("task %s of organisation %s deferred (fair share): running %s, waiting %s",
             task_id, task.org_id, running, sorted(waiting))
    return True


def execute_chunk(task_id: int, no: int) -> None:
    """RQ entry point of one chunk of a fanned-out task; idempotent like every job."""
    if has_app_context():
        run_chunk(task_id, no)
        return
    with worker_app().app_context():
        try:
            run_chunk(task_id, no)
        finally:
            db.session.remove()


# --------------------------------------------------------------------------- running

def run(task_id: int) -> None:
    """Execute a task by id: the single entry point of every job. Safe to call twice."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在")
    if task.state == TaskState.SUCCEEDED.value:
        return
    if task.kind in FANOUTS:
        _run_fanout(task, FANOUTS[task.kind])
        return
    fn = HANDLERS.get(task.kind)
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
        task = db.session.get_one(Task, task_id)
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
            tasks.fail(task_id, message)
            return
        except DBAPIError as exc:
            if not _connection_lost(exc) or time.monotonic() + pause > deadline:
                log.error("task %s: its failure could not be recorded: %s", task_id, exc)
                return
        time.sleep(pause)
        pause = min(2 * pause, 1.0)


# --------------------------------------------------------------------------- fan-out

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
            rows = [{"task_id": task_id, "no": no, "item_ids": part, "total": len(part),
                     "state": TaskState.QUEUED.value, "done": 0}
                    for no, part in enumerate(chunks(ids, size))]
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
        try:
            for no in pending:
                enqueue_chunk(task_id, no)
        except Exception as exc:
            tasks.fail(task_id, _failure_message(exc))
            raise
        # every chunk job is queued now: from here a job RQ does not know is a lost one (see is_stale)
        db.session.execute(update(Task).where(Task.id == task_id).values(heartbeat_at=utcnow()))
        db.session.commit()
        return
    for no in pending:
        run_chunk(task_id, no)


def _sum_progress(task_id: int) -> None:
    """The task's ``done`` is the sum of its chunks' (one UPDATE; no read-modify-write race)."""
    total_done = (select(func.coalesce(func.sum(TaskChunk.done), 0)).where(TaskChunk.task_id == task_id)
                  .scalar_subquery())
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
    spec = FANOUTS[task.kind]

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
    claimed = changed_rows(
        update(Task).where(Task.id == task_id, Task.state == TaskState.RUNNING.value)
        .values(state=TaskState.SUCCEEDED.value, done=Task.total, finished_at=utcnow(), lock_key=None)
    )
    if not claimed:
        db.session.rollback()
        return
    summary: dict = {}
    parts = select(TaskChunk.summary).where(TaskChunk.task_id == task_id).order_by(TaskChunk.no)
    for part in db.session.scalars(parts):
        for key, value in (part or {}).items():
            summary[key] = summary.get(key, 0) + value if isinstance(value, (int, float)) else value
    task = db.session.get_one(Task, task_id)
    spec = FANOUTS[task.kind]
    if spec.finish is not None:
        summary = spec.finish(task, summary)
    db.session.execute(update(Task).where(Task.id == task_id).values(summary=summary))
    db.session.commit()

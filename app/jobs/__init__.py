"""The one way to start background work.

``enqueue(task_id)`` sends the task to RQ (a fanned-out task then queues one job per chunk with
``enqueue_chunk``) when ``JOBS_MODE == "rq"`` (``rq worker`` processes run it),
to a background thread of the web process in ``thread`` mode (``make run`` without Redis), or runs
it before returning in ``inline`` mode (tests that do not exercise the queue itself).
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from flask import current_app

from app.services.errors import QueueUnavailable

log = logging.getLogger(__name__)
_executor: ThreadPoolExecutor | None = None

QUEUE_DOWN = "任务队列暂不可用（无法连接 Redis），本次操作未执行，请稍后再试"


def redis_connection():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10)


def queue():
    from rq import Queue

    return Queue(current_app.config["RQ_QUEUE"], connection=redis_connection(),
                 default_timeout=current_app.config["JOB_TIMEOUT"])


def enqueue(task_id: int) -> str | None:
    mode = current_app.config["JOBS_MODE"]
    if mode == "inline":
        from app.services import tasks

        try:
            tasks.run(task_id)
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
    from redis.exceptions import RedisError

    try:
        job = queue().enqueue("app.jobs.runner.execute_task", task_id, job_id=f"task-{task_id}",
                              failure_ttl=7 * 86400, result_ttl=86400)
    except RedisError as exc:
        raise QueueUnavailable(QUEUE_DOWN) from exc
    return job.id


def enqueue_chunk(task_id: int, no: int) -> str:
    """Queue one chunk of a fanned-out task (RQ mode); any worker on the queue may take it."""
    from redis.exceptions import RedisError

    try:
        job = queue().enqueue("app.jobs.runner.execute_chunk", task_id, no, job_id=f"task-{task_id}-chunk-{no}",
                              failure_ttl=7 * 86400, result_ttl=86400)
    except RedisError as exc:
        raise QueueUnavailable(QUEUE_DOWN) from exc
    return job.id


def _run_in_thread(app, task_id: int) -> None:
    from app.extensions import db
    from app.services import tasks

    with app.app_context():
        try:
            tasks.run(task_id)
        except Exception:
            log.exception("task %s failed", task_id)
        finally:
            db.session.remove()


def chunk_jobs_fate(task_id: int, nos) -> str | None:
    """What RQ says of the given chunk jobs of a fanned-out task: ``"failed"`` when it failed, stopped or
    cancelled one, ``"missing"`` when it knows none of that id (lost with Redis, or not queued yet),
    else None (Redis unreachable included: no verdict without it)."""
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    conn = redis_connection()
    missing = False
    for no in nos:
        try:
            status = Job.fetch(f"task-{task_id}-chunk-{no}", connection=conn).get_status(refresh=True)
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
        job = Job.fetch(task.rq_job_id, connection=redis_connection())
        status = job.get_status(refresh=True)
    except NoSuchJobError:
        return True
    except RedisError:
        return False
    return status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)

"""When is a fanned-out task dead? The decisions of ``tasks.is_stale`` for chunks, without real workers.

A chunk waiting in the queue is never dead, however old the heartbeat; a chunk a worker has taken
(执行中 in the database) whose task has been silent beyond TASK_STALE_SECONDS is: its worker was killed
while RQ still calls the job "started". The real-worker version (SIGKILL) is in
tests/reliability/test_worker_faults.py. Redis is fakeredis here: only RQ's job statuses are read.
"""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.jobs import registry, runner
from app.models import Account, Task, TaskChunk
from app.models.base import utcnow
from app.security import scope_of
from app.services import graduation, tasks
from app.statuses import Level, TaskState
from tests import factories

STALE = 60


@pytest.fixture()
def fanned(app_ctx, world, monkeypatch):
    """A 毕业审核 task over 6 students fanned out into 3 chunk jobs that wait in a (fake) queue."""
    import fakeredis

    server = fakeredis.FakeServer()
    monkeypatch.setitem(app_ctx.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app_ctx.config, "RQ_QUEUE", f"stale-{uuid.uuid4().hex[:8]}")
    monkeypatch.setitem(app_ctx.config, "REDIS_URL", "redis://fake")
    monkeypatch.setitem(app_ctx.config, "FANOUT_CHUNK_SIZE", 2)
    monkeypatch.setitem(app_ctx.config, "TASK_STALE_SECONDS", STALE)
    monkeypatch.setattr("app.extensions.redis_connection", lambda: fakeredis.FakeStrictRedis(server=server))
    factories.graduation_batch()
    for i in range(4):
        s = factories.student(world.site1, world.major1, no=f"2020{i:06d}", level=Level.HIGH_TO_BACHELOR)
        factories.grades(s, factories.ALL_PASS)
    db.session.commit()
    actor = db.session.scalar(select(Account).where(Account.username == "jjy001"))
    task = graduation.start_task("graduation_audit", actor=actor, scope=scope_of(actor), filters={})
    db.session.commit()
    runner.run(task.id)
    assert db.session.get(Task, task.id).state == TaskState.RUNNING.value
    return task.id


def _set(task_id: int, *, heartbeat_age: float, running: tuple[int, ...] = ()) -> Task:
    db.session.execute(update(Task).where(Task.id == task_id)
                       .values(heartbeat_at=utcnow() - dt.timedelta(seconds=heartbeat_age)))
    db.session.execute(update(TaskChunk).where(TaskChunk.task_id == task_id, TaskChunk.no.in_(running))
                       .values(state=TaskState.RUNNING.value))
    db.session.commit()
    db.session.expire_all()
    return db.session.get(Task, task_id)


def test_chunks_that_only_wait_are_not_stale_however_old_the_heartbeat(fanned):
    assert not tasks.is_stale(_set(fanned, heartbeat_age=10 * STALE))


def test_a_taken_chunk_is_stale_once_the_task_is_silent_beyond_the_limit(fanned):
    """The SIGKILL case: chunk 0 执行中, its RQ job still 'started' (here: queued), no progress for too long."""
    assert not tasks.is_stale(_set(fanned, heartbeat_age=STALE - 5, running=(0,)))
    task = _set(fanned, heartbeat_age=STALE + 5, running=(0,))
    assert tasks.is_stale(task)
    tasks.reap_stale([task])
    assert (task.state, task.error, task.lock_key) == (TaskState.FAILED.value, tasks.STALE_MESSAGE, None)
    chunks = db.session.execute(select(TaskChunk.no, TaskChunk.state, TaskChunk.error)
                                .where(TaskChunk.task_id == fanned).order_by(TaskChunk.no)).all()
    assert [tuple(c) for c in chunks] == [(0, TaskState.FAILED.value, tasks.STALE_MESSAGE),
                                          (1, TaskState.QUEUED.value, None), (2, TaskState.QUEUED.value, None)]


def test_a_chunk_starting_after_a_long_wait_bumps_the_heartbeat(fanned, monkeypatch):
    """Taking a chunk refreshes the heartbeat in the same commit, so a chunk that waited for an hour in the
    queue is not judged by the silence before it started."""
    _set(fanned, heartbeat_age=3600)
    spec = registry.FANOUTS["graduation_audit"]
    seen = []

    def chunk(task, ids, progress):
        seen.append(tasks.is_stale(db.session.get(Task, task.id)))
        return spec.chunk(task, ids, progress)

    monkeypatch.setitem(registry.FANOUTS, "graduation_audit", registry.FanOut(items=spec.items, chunk=chunk))
    runner.run_chunk(fanned, 0)
    assert seen == [False]


def test_a_lost_database_connection_is_reported_in_chinese():
    """任务中心 shows a Chinese sentence for a dropped connection; other database errors keep their text."""
    lost = OperationalError("UPDATE graduation_audit …", {}, Exception("server closed the connection unexpectedly"),
                            connection_invalidated=True)
    assert runner._failure_message(lost) == runner.DB_LOST_MESSAGE == "数据库连接中断，任务失败，请重试"
    other = OperationalError("UPDATE graduation_audit …", {}, Exception("deadlock detected"))
    assert "deadlock detected" in runner._failure_message(other)


def test_chunk_jobs_rq_does_not_know_are_lost_only_after_the_enqueue_grace(fanned):
    """The chunks are committed just before their jobs are queued: 任务中心 opened in between must not
    reap the task (a 100,000-student audit under load was failed that way). A fan-out silent for longer
    than ENQUEUE_GRACE since it finished queueing, whose jobs RQ does not know, lost them (Redis restarted)."""
    from app.extensions import redis_connection

    redis_connection().flushall()  # no chunk job known to RQ: not queued yet, or lost
    grace = tasks.ENQUEUE_GRACE.total_seconds()
    assert grace < STALE
    assert not tasks.is_stale(_set(fanned, heartbeat_age=1))
    assert not tasks.is_stale(_set(fanned, heartbeat_age=grace - 5))
    task = _set(fanned, heartbeat_age=grace + 5)
    assert tasks.is_stale(task)
    tasks.reap_stale([task])
    assert (task.state, task.error) == (TaskState.FAILED.value, tasks.STALE_MESSAGE)


def test_a_failed_chunk_job_is_dead_at_once(fanned):
    """RQ failed a chunk job (its work horse was killed): no grace, whatever the heartbeat."""
    from rq.job import Job

    from app.extensions import redis_connection

    job = Job.fetch(f"task-{fanned}-chunk-1", connection=redis_connection())
    job.set_status("failed")
    assert tasks.is_stale(_set(fanned, heartbeat_age=0))


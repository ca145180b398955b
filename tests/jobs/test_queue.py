"""Background jobs through the real queue: Redis + RQ workers (in-process and as a real process).

With TEST_REDIS_URL (CI sets it) these use the real Redis server; without it, fakeredis.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app.extensions import db
from app.jobs import runner
from app.models import Task
from app.services import tasks
from app.services.errors import QueueUnavailable
from app.statuses import TaskState

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture()
def rq_mode(app_ctx, world, monkeypatch):
    """Switch the app to RQ mode on a private queue of the real (or fake) Redis."""
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app_ctx.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app_ctx.config, "RQ_QUEUE", queue_name)
    if REDIS_URL:
        monkeypatch.setitem(app_ctx.config, "REDIS_URL", REDIS_URL)
    else:
        import fakeredis

        server = fakeredis.FakeServer()
        monkeypatch.setitem(app_ctx.config, "REDIS_URL", "redis://fake")
        monkeypatch.setattr("app.extensions.redis_connection", lambda: fakeredis.FakeStrictRedis(server=server))
    yield queue_name
    from app.extensions import rq_queue as queue

    queue().empty()


def _demo_task(actor, n=5) -> Task:
    task = tasks.create_task("demo", actor=actor, params={"n": n}, scope_text="测试")
    return runner.submit(task)


def _ce_admin():
    from app.models import Account

    return db.session.query(Account).filter_by(username="jjy001").one()


def test_job_goes_through_redis_and_a_worker_runs_it(rq_mode):
    """A submitted task waits in Redis as 排队中 until a worker runs it; then it is 成功 with its summary."""
    from rq import SimpleWorker

    from app.extensions import rq_queue as queue

    task = _demo_task(_ce_admin(), n=4)
    assert task.rq_job_id == f"task-{task.id}"
    db.session.refresh(task)
    assert task.state == TaskState.QUEUED.value
    assert len(queue()) == 1
    SimpleWorker([queue()], connection=queue().connection).work(burst=True)
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.state == TaskState.SUCCEEDED.value
    assert (task.done, task.total) == (4, 4)
    assert task.summary == {"计数": 4}


@pytest.mark.skipif(not REDIS_URL, reason="a separate worker process needs a real Redis server (TEST_REDIS_URL)")
def test_real_rq_worker_process_runs_the_job(rq_mode, app_ctx):
    """`rq worker -w AppWorker` as its own process (as in production) completes several tasks.

    The app is built once before RQ forks each job; every forked job gets fresh DB connections.
    """
    more = [_demo_task(_ce_admin(), n=2) for _ in range(2)]
    task = _demo_task(_ce_admin(), n=3)
    env = dict(os.environ)
    env.update(
        APP_MODE="test",
        DATABASE_URL=app_ctx.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=REDIS_URL,
        RQ_QUEUE=rq_mode,
        STORAGE_DIR=app_ctx.config["STORAGE_DIR"],
    )
    out = subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "-w", "app.jobs.worker.AppWorker", "--burst", "--url", REDIS_URL,
         rq_mode],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    db.session.expire_all()
    assert [db.session.get(Task, t.id).state for t in more + [task]] == [TaskState.SUCCEEDED.value] * 3



def test_failed_job_is_recorded_and_can_be_retried(rq_mode):
    """A job that raises leaves the task 失败 with its error; retry makes a new task that succeeds."""
    from rq import SimpleWorker

    from app.extensions import rq_queue as queue

    task = _demo_task(_ce_admin(), n=-1)
    task.params = {"n": "not a number"}
    db.session.commit()
    SimpleWorker([queue()], connection=queue().connection).work(burst=True)
    db.session.expire_all()
    failed = db.session.get(Task, task.id)
    assert failed.state == TaskState.FAILED.value
    assert "ValueError" in failed.error
    failed.params = {"n": 2}
    db.session.commit()
    again = runner.submit(tasks.retry(failed, _ce_admin()))
    SimpleWorker([queue()], connection=queue().connection).work(burst=True)
    db.session.expire_all()
    assert db.session.get(Task, again.id).state == TaskState.SUCCEEDED.value
    assert db.session.get(Task, again.id).retry_of_id == failed.id


def test_task_of_a_job_that_died_is_shown_failed(rq_mode):
    """A running task whose RQ job is gone (worker killed) is reaped as 失败, never running forever."""
    from app.extensions import rq_queue as queue

    task = _demo_task(_ce_admin())
    queue().empty()  # the job disappears as if its worker had been killed and the entry expired
    from rq.job import Job

    try:
        Job.fetch(task.rq_job_id, connection=queue().connection).delete()
    except Exception:
        pass
    task.state = TaskState.RUNNING.value
    db.session.commit()
    tasks.reap_stale([task])
    assert task.state == TaskState.FAILED.value
    assert task.error == tasks.STALE_MESSAGE


def test_queue_down_gives_a_chinese_message_and_leaves_nothing(app_ctx, world, monkeypatch):
    """With Redis unreachable, starting a job says so in Chinese and no task row is left behind."""
    monkeypatch.setitem(app_ctx.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app_ctx.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    before = db.session.query(Task).count()
    with pytest.raises(QueueUnavailable) as err:
        _demo_task(_ce_admin())
    assert "任务队列暂不可用" in err.value.message
    db.session.rollback()
    assert db.session.query(Task).count() == before


def test_thread_mode_runs_in_the_background(app_ctx, world, monkeypatch):
    """Without Redis (make run), a task runs in a background thread of the web process."""
    import time

    monkeypatch.setitem(app_ctx.config, "JOBS_MODE", "thread")
    task = _demo_task(_ce_admin(), n=2)
    for _ in range(100):
        db.session.expire_all()
        if db.session.get(Task, task.id).state == TaskState.SUCCEEDED.value:
            break
        time.sleep(0.05)
    assert db.session.get(Task, task.id).state == TaskState.SUCCEEDED.value


def test_app_worker_builds_the_app_once_and_forked_jobs_reuse_it(app_ctx, monkeypatch):
    """AppWorker builds the app before RQ forks; a forked job reuses it (no rebuild) with its own DB pool."""
    from app.jobs.worker import AppWorker

    monkeypatch.setattr(runner, "_app", None)
    built = []
    monkeypatch.setattr("app.create_app", lambda *a, **k: built.append(1) or app_ctx)
    import fakeredis
    from rq import Queue

    conn = fakeredis.FakeStrictRedis()
    AppWorker([Queue("x", connection=conn)], connection=conn)
    assert built == [1] and runner.worker_app() is app_ctx
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked job: same app object, no second build
        ok = runner.worker_app() is app_ctx and built == [1] and runner._app_pid == os.getpid()
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    assert built == [1]

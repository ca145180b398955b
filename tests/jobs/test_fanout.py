"""Fan-out: an audit over a large scope is split into chunk jobs that any number of workers share.

With TEST_REDIS_URL the workers are real `rq worker --burst` processes on the real Redis; without it,
fakeredis with SimpleWorkers (three of them in threads for the "three workers" case).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import registry, runner
from app.models import Account, GraduationAudit, GraduationSnapshot, OperationLog, Task, TaskChunk
from app.security import scope_of
from app.services import graduation, tasks
from app.statuses import Level, TaskState
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL")
STUDENTS = 36 + 2  # the cohort plus the world's two students
CHUNK = 13  # 38 students → 3 chunks, one per worker


@pytest.fixture()
def cohort(app_ctx, world, monkeypatch):
    """A small cohort of mixed outcomes in one graduation batch, and chunks of 5 students."""
    monkeypatch.setitem(app_ctx.config, "FANOUT_CHUNK_SIZE", CHUNK)
    factories.graduation_batch()
    outcomes = [factories.ALL_PASS, {"C01": 50, "C02": 75, "C03": 70, "E01": 90}, {"C01": 80}, {}]
    for i in range(STUDENTS - 2):
        s = factories.student(world.site1 if i % 2 else world.site2, world.major1 if i % 3 else world.major2,
                              no=f"2020{i:06d}", level=Level.HIGH_TO_BACHELOR, photo=i % 7 != 0)
        factories.grades(s, outcomes[i % len(outcomes)])
    db.session.commit()
    return world


@pytest.fixture()
def rq_queue(app_ctx, monkeypatch):
    """RQ mode on a private queue of the real Redis (or of fakeredis)."""
    queue_name = f"test-fanout-{uuid.uuid4().hex[:8]}"
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


def _admin() -> Account:
    return db.session.query(Account).filter_by(username="jjy001").one()


def _audit_task() -> Task:
    actor = _admin()
    task = graduation.start_task("graduation_audit", actor=actor, scope=scope_of(actor), filters={})
    db.session.commit()
    return task


def _outcome(task_id: int) -> dict:
    """What an audit task left behind: its state, progress, summary, snapshots and the results."""
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    snaps = db.session.execute(select(GraduationSnapshot.student_id, GraduationSnapshot.result)
                               .where(GraduationSnapshot.task_id == task_id)
                               .order_by(GraduationSnapshot.student_id)).all()
    results = db.session.execute(select(GraduationAudit.student_id, GraduationAudit.result)
                                 .order_by(GraduationAudit.student_id)).all()
    return {"state": task.state, "done": task.done, "total": task.total, "summary": task.summary,
            "snapshots": [tuple(r) for r in snaps], "results": [tuple(r) for r in results]}


def _worker_processes(queue_name: str, n: int, app) -> None:
    """n real `rq worker --burst` processes on the queue, started together, waited for."""
    env = dict(os.environ, APP_MODE="test", DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=REDIS_URL,
               RQ_QUEUE=queue_name, STORAGE_DIR=app.config["STORAGE_DIR"], JOBS_MODE="rq")
    command = [sys.executable, "-m", "rq.cli", "worker", "-w", "app.jobs.worker.AppWorker", "--burst",
               "--url", REDIS_URL, queue_name]
    procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-3000:]


def _simple_workers(n: int, app) -> None:
    """n SimpleWorkers draining the (fake) queue, each in its own thread with its own app context."""
    from rq import SimpleWorker
    from rq.timeouts import TimerDeathPenalty

    from app.extensions import rq_queue as queue

    if n == 1:
        SimpleWorker([queue()], connection=queue().connection).work(burst=True)
        return

    class ThreadWorker(SimpleWorker):
        death_penalty_class = TimerDeathPenalty  # SIGALRM only works in the main thread

        def _install_signal_handlers(self):
            pass

    def work():
        with app.app_context():
            q = queue()
            ThreadWorker([q], connection=q.connection).work(burst=True)
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)


def _drain(queue_name: str, n: int, app) -> None:
    if REDIS_URL:
        _worker_processes(queue_name, n, app)
    else:
        _simple_workers(n, app)


def test_inline_mode_runs_the_chunks_in_sequence(cohort, app_ctx):
    """Without a queue the chunks run one after the other; progress is their sum and the task is 成功."""
    task = _audit_task()
    runner.submit(task)
    out = _outcome(task.id)
    assert out["state"] == TaskState.SUCCEEDED.value
    assert (out["done"], out["total"]) == (STUDENTS, STUDENTS)
    chunks = db.session.scalars(select(TaskChunk).where(TaskChunk.task_id == task.id).order_by(TaskChunk.no)).all()
    assert len(chunks) == -(-STUDENTS // CHUNK)
    assert all(c.state == TaskState.SUCCEEDED.value for c in chunks)
    assert sum(c.done for c in chunks) == STUDENTS
    assert sum(out["summary"].values()) == STUDENTS
    assert len(out["snapshots"]) == STUDENTS


def test_one_worker_and_three_worker_processes_give_identical_results(cohort, app_ctx, rq_queue):
    """The same cohort audited by 1 worker and by 3 workers: same results, snapshots and summary."""
    from app.extensions import rq_queue as queue

    first = _audit_task()
    runner.submit(first)  # the parent job goes to Redis; the worker fans it out and drains the chunks
    assert len(queue()) == 1
    _drain(rq_queue, 1, app_ctx)
    one = _outcome(first.id)
    assert one["state"] == TaskState.SUCCEEDED.value, db.session.get(Task, first.id).error
    assert (one["done"], one["total"]) == (STUDENTS, STUDENTS)

    second = _audit_task()
    runner.run(second.id)  # fan out here, so that all three workers find chunks waiting
    assert len(queue()) == -(-STUDENTS // CHUNK)
    running = _outcome(second.id)
    assert running["state"] == TaskState.RUNNING.value and running["done"] == 0
    _drain(rq_queue, 3, app_ctx)
    three = _outcome(second.id)
    assert three["state"] == TaskState.SUCCEEDED.value, db.session.get(Task, second.id).error
    assert (three["done"], three["total"]) == (STUDENTS, STUDENTS)
    assert three["summary"] == one["summary"]
    assert three["snapshots"] == one["snapshots"] and len(three["snapshots"]) == STUDENTS
    assert three["results"] == one["results"]
    # the first run logged every change from 未审核; the second changed nothing, so logged nothing
    logged = db.session.scalar(select(func.count()).where(OperationLog.action == "graduation_audit",
                                                          OperationLog.task_id == second.id))
    assert logged == 0


def test_a_failed_chunk_fails_the_task_and_a_rerun_runs_only_the_missing_chunks(cohort, app_ctx, monkeypatch):
    """One chunk raising leaves the task 失败; running it again redoes only unfinished chunks, same outcome."""
    spec = registry.FANOUTS["graduation_audit"]
    calls: list[list[int]] = []
    broken = [True]

    def flaky(task, ids, progress):
        calls.append(ids)
        if len(calls) == 3 and broken[0]:
            raise RuntimeError("worker lost its database connection")
        return spec.chunk(task, ids, progress)

    monkeypatch.setitem(registry.FANOUTS, "graduation_audit", registry.FanOut(items=spec.items, chunk=flaky))
    task = _audit_task()
    runner.submit(task)
    out = _outcome(task.id)
    assert out["state"] == TaskState.FAILED.value
    assert "worker lost" in db.session.get(Task, task.id).error
    assert db.session.get(Task, task.id).lock_key is None
    states = db.session.scalars(select(TaskChunk.state).where(TaskChunk.task_id == task.id)
                                .order_by(TaskChunk.no)).all()
    assert states[:2] == [TaskState.SUCCEEDED.value] * 2 and states[2] == TaskState.FAILED.value
    assert len(calls) == 3  # the chunks after the failed one did not start

    calls.clear()
    broken[0] = False
    runner.run(task.id)
    out = _outcome(task.id)
    assert out["state"] == TaskState.SUCCEEDED.value
    assert len(calls) == len(states) - 2  # the two finished chunks were not redone
    assert (out["done"], out["total"]) == (STUDENTS, STUDENTS)
    assert len(out["snapshots"]) == STUDENTS and sum(out["summary"].values()) == STUDENTS


def test_a_chunk_run_twice_writes_its_results_once(cohort, app_ctx):
    """Running an already finished chunk again (a job delivered twice) changes nothing."""
    task = _audit_task()
    runner.submit(task)
    before = _outcome(task.id)
    logs = db.session.scalar(select(func.count()).select_from(OperationLog))
    runner.run_chunk(task.id, 0)
    runner.run(task.id)
    assert _outcome(task.id) == before
    assert db.session.scalar(select(func.count()).select_from(OperationLog)) == logs


def test_sync_fans_out_and_logs_once(cohort, app_ctx):
    """同步课程数据 over several chunks writes one log entry for the task and counts every student."""
    actor = _admin()
    task = graduation.start_task("graduation_sync", actor=actor, scope=scope_of(actor), filters={})
    runner.submit(task)
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.state == TaskState.SUCCEEDED.value
    assert task.summary == {"已同步": STUDENTS}
    assert db.session.scalar(select(func.count()).where(OperationLog.action == "graduation_sync",
                                                        OperationLog.task_id == task.id)) == 1


def test_chunks_waiting_in_the_queue_are_not_a_dead_task_but_a_lost_chunk_is(cohort, app_ctx, rq_queue):
    """A fanned-out task whose chunks wait behind other work stays 执行中; losing a chunk job makes it stale."""
    import datetime as dt

    from rq.job import Job

    from app.extensions import rq_queue as queue

    task = _audit_task()
    runner.run(task.id)
    task = db.session.get(Task, task.id)
    task.heartbeat_at = dt.datetime(2020, 1, 1)  # long silent: every chunk still waits for a worker
    db.session.commit()
    assert not tasks.is_stale(task)
    Job.fetch(f"task-{task.id}-chunk-1", connection=queue().connection).delete()
    assert tasks.is_stale(task)

"""Helpers shared by the worker-fault modules (test_worker_faults.py, test_database_restart.py).

Real `rq worker -w app.jobs.worker.AppWorker` child processes on a private queue, whose database backends
carry ``application_name=gd-faults-worker``; reads through fresh connections (what the workers committed);
the 任务中心 page as the admin sees it. Each module builds its own database, app and ``Env``.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.jobs import runner
from app.models import Account, Task
from app.security import scope_of
from app.services import graduation
from app.statuses import GraduationResult, TaskState
from tests.clients import RoleClient

ROOT = Path(__file__).resolve().parents[2]
WORKER_APP = "gd-faults-worker"
ADMIN = "faults_admin"
PRE = GraduationResult.PRE_GRADUATE.value
FAILED = GraduationResult.FAILED.value


@dataclass
class Env:
    app: object
    url: str
    worker_url: str
    redis_url: str
    queue: str
    storage: str
    logs: Path
    workers: list


def open_env(url: str, redis_url: str, queue: str, logs: Path, *, stale_seconds: int, load_cohort) -> Env:
    """The app the test drives (RQ mode, private queue) over a new database at ``url``: the schema, the
    roles, the cohort (``load_cohort(engine)``), the CE admin, and task ids far from any other database's
    (RQ job ids are ``task-<id>``, and the Redis is shared)."""
    import random

    from flask_appbuilder import Model

    from app import create_app
    from app.cli import sync_roles
    from app.services.accounts import create_account
    from app.statuses import RoleName
    from tests import factories

    storage = str(logs / "storage")
    app = create_app({
        "APP_MODE": "test", "SQLALCHEMY_DATABASE_URI": url, "JOBS_MODE": "rq", "REDIS_URL": redis_url,
        "RQ_QUEUE": queue, "TASK_STALE_SECONDS": stale_seconds, "STORAGE_DIR": storage,
        "RATELIMIT_STORAGE_URI": "memory://", "SERVER_NAME": "localhost",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    env = Env(app=app, url=url, worker_url=f"{url}?application_name={WORKER_APP}", redis_url=redis_url,
              queue=queue, storage=storage, logs=logs, workers=[])
    with app.app_context():
        Model.metadata.create_all(db.engine)
        sync_roles()
        db.session.commit()
        load_cohort(db.engine)
        create_account(username=ADMIN, name="故障测试管理员", role=RoleName.CE_ADMIN, mobile="13900000077",
                       org_id=1, password=factories.PASSWORD, must_change_password=False)
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('task', 'id'), :v)"),
                           {"v": random.randint(10**7, 10**9)})
        db.session.commit()
    return env


def close_env(env: Env) -> None:
    """Kill the module's workers and let go of its database connections."""
    for p in env.workers:
        _kill(p)
    with env.app.app_context():
        db.session.remove()
        db.engine.dispose()


def _forget_jobs(queue: str) -> None:
    """Delete the test's RQ keys: the queue and its registries, and the jobs of its tasks."""
    from app.extensions import redis_connection

    ids = list(db.session.scalars(select(Task.id)))
    conn = redis_connection()
    keys = set(conn.scan_iter(match=f"*{queue}*"))
    for task_id in ids:
        keys.update(conn.scan_iter(match=f"rq:*task-{task_id}*"))
    if keys:
        conn.delete(*keys)



@contextmanager
def row_lock(sql: str, **params):
    """Hold ``SELECT … FOR UPDATE`` on some rows in a connection of the test's own, as a concurrent edit
    would: a worker that reaches them waits there, inside its transaction. Rolled back on leaving."""
    holder = db.engine.connect()
    holder.begin()
    holder.execute(text(sql), params)
    try:
        yield holder
    finally:
        holder.rollback()  # an orphaned backend waiting on it then finishes, finds its client gone, rolls back
        holder.close()


def _wait_blocked_in_update(worker, what: str):
    """Wait until the worker waits on a lock in an UPDATE, having written already (it has a transaction id)."""
    waiting = _wait(lambda: [b for b in _worker_backends() if b.wait_event_type == "Lock"], 90, what, worker)
    assert waiting[0].xid and waiting[0].query.lstrip().upper().startswith("UPDATE"), waiting
    return waiting


# --------------------------------------------------------------------------- workers


def _start_worker(env: Env, *, burst: bool = False) -> subprocess.Popen:
    """A real `rq worker` on the module's queue; its database backends carry application_name=gd-faults-worker."""
    child_env = dict(os.environ, APP_MODE="test", DATABASE_URL=env.worker_url, REDIS_URL=env.redis_url,
                     RQ_QUEUE=env.queue, STORAGE_DIR=env.storage, JOBS_MODE="rq")
    cmd = [sys.executable, "-m", "rq.cli", "worker", "-w", "app.jobs.worker.AppWorker", "--url", env.redis_url]
    if burst:
        cmd.append("--burst")
    path = env.logs / f"worker-{len(env.workers)}.log"
    with open(path, "w") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen([*cmd, env.queue], cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = str(path)
    env.workers.append(proc)
    return proc


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (RQ's work horse puts itself in its own process group)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _kill(proc: subprocess.Popen) -> list[int]:
    """SIGKILL a worker and its work horse at once, as when the machine or container dies."""
    if proc.poll() is not None:
        return []
    pids = [proc.pid, *_children(proc.pid)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)
    return pids


def _wait_burst(proc: subprocess.Popen, timeout: float = 150) -> None:
    proc.wait(timeout=timeout)
    assert proc.returncode == 0, Path(proc.log_path).read_text()[-3000:]


def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"worker exited while waiting for {what}:\n{Path(proc.log_path).read_text()[-3000:]}")
        time.sleep(step)
    log = Path(proc.log_path).read_text()[-3000:] if proc is not None else ""
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{log}")


# --------------------------------------------------------------------------- reading the database


def _rows(sql: str, **params) -> list:
    """A fresh connection per read: sees what the workers committed, holds nothing open."""
    with db.engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def _one(sql: str, **params):
    return _rows(sql, **params)[0][0]


def _task(task_id: int) -> Task:
    db.session.expire_all()
    return db.session.get(Task, task_id)


def _progress(task_id: int) -> tuple[int, int, str]:
    return tuple(_rows("SELECT done, total, state FROM task WHERE id = :t", t=task_id)[0])


def _worker_backends(states: tuple[str, ...] | None = None) -> list:
    sql = ("SELECT pid, state, wait_event_type, backend_xid::text AS xid, query FROM pg_stat_activity "
           "WHERE datname = current_database() AND application_name = :a AND pid <> pg_backend_pid()")
    rows = _rows(sql, a=WORKER_APP)
    return [r for r in rows if states is None or r.state in states]


def _admin() -> Account:
    return db.session.scalar(select(Account).where(Account.username == ADMIN))


@contextmanager
def _inline(app):
    """Jobs run in this process (setup only: a first audit before the one under test)."""
    app.config["JOBS_MODE"] = "inline"
    try:
        yield
    finally:
        app.config["JOBS_MODE"] = "rq"


def _audit_inline(app, filters: dict, student_ids: list[int] | None = None) -> Task:
    actor = _admin()
    with _inline(app):
        task = graduation.start_task("graduation_audit", actor=actor, scope=scope_of(actor), filters=filters,
                                     student_ids=student_ids)
        runner.submit(task)
    task = _task(task.id)
    assert task.state == TaskState.SUCCEEDED.value, task.error
    return task


def _task_row_html(client: RoleClient, task_id: int) -> str:
    page = client.get("/tasks/").get_data(as_text=True)
    m = re.search(rf'<tr id="task-{task_id}".*?</tr>', page, re.S)
    assert m, f"task {task_id} not on the 任务中心 page"
    return m.group(0)


def _shown_failed(client: RoleClient, task_id: int) -> str | None:
    """The 任务中心 page (which reaps dead workers' tasks) shows the task as 失败 with a 重试 button."""
    row = _task_row_html(client, task_id)
    return row if ("失败" in row and "重试" in row) else None


def _audit_state() -> dict[int, tuple]:
    return {r.student_id: r for r in _rows(
        "SELECT student_id, result, computed_result, override_result, override_reason, override_by_id, override_at, "
        "confirmed_at, confirmed_by_id, published_at, batch_id FROM graduation_audit")}


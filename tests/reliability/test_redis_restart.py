"""A real Redis stopped and started again under a running app and a real `rq worker` (issue #7).

The module runs its own ``redis-server`` on a free loopback port (no persistence, as the machine's
Redis), so stopping it disturbs nobody, and an app configured as in production: jobs through RQ and the
login rate limits stored in that Redis. Its database is a SQLite file of its own (the subject is Redis).

- While Redis is down: a new login works (the limiter counts in memory: before, the login answered 500),
  every page loads, every job button answers 任务队列暂不可用 and changes no table, and the worker keeps
  running (RQ retries its connection). When Redis is back, the same worker runs the next job.
- Redis keeps nothing on disk, so a restart loses the jobs still queued: their tasks are shown 失败 with
  重试 as soon as 任务中心 is opened, and 重试 runs them.
Needs ``redis-server`` on the PATH: skipped without it, failed when CI_REQUIRE_SERVICES=1.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.runner import QUEUE_DOWN
from app.models import GraduationAudit, Task
from app.services import tasks
from app.statuses import TaskState
from tests import factories
from tests.clients import RoleClient, press
from tests.reliability.conftest import changed_tables, fingerprint, free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
PAGES = ["/", "/graduation/audit/", "/graduation/graduates/", "/degree/audit/", "/tasks/", "/students/list/",
         "/oplog/list/", "/graduation/archive/"]
JOB_BUTTONS = {
    "/graduation/audit/sync": {},
    "/graduation/audit/audit": {},
    "/exports/list": {"list": "students"},
    "/graduation/archive/export": {"documents": ["card"], "graduated": "all"},
}

pytestmark = pytest.mark.skipif(not REDIS_SERVER and not os.environ.get("CI_REQUIRE_SERVICES"),
                                reason="needs redis-server")


@dataclass
class RedisServer:
    port: int
    workdir: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from redis import Redis

        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Redis.from_url(self.url, socket_connect_timeout=0.5).ping():
                    return
            except Exception:  # noqa: BLE001  (not listening yet)
                time.sleep(0.05)
        pytest.fail("the private redis-server did not start")

    def stop(self) -> None:
        """As an operator's ``systemctl stop redis`` does: SIGTERM, and the server is gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


@dataclass
class Env:
    app: object
    redis: RedisServer
    db_url: str
    queue: str
    storage: str
    logs: Path


@pytest.fixture(scope="module")
def env():
    if not REDIS_SERVER:
        pytest.fail("CI_REQUIRE_SERVICES is set but redis-server is not installed")
    from flask_appbuilder import Model

    from app import create_app
    from app.cli import sync_roles

    tmp = Path(tempfile.mkdtemp(prefix="gd-redis-"))
    redis = RedisServer(free_port(), tmp)
    redis.start()
    db_url = f"sqlite:///{tmp}/redis-restart.db"
    queue = f"redis-restart-{uuid.uuid4().hex[:8]}"
    app = create_app({
        "APP_MODE": "test", "SQLALCHEMY_DATABASE_URI": db_url, "JOBS_MODE": "rq", "REDIS_URL": redis.url,
        "RATELIMIT_STORAGE_URI": redis.url,  # as in production: the login limits live in Redis
        "RQ_QUEUE": queue, "STORAGE_DIR": str(tmp / "storage"), "SERVER_NAME": "localhost",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    try:
        with app.app_context():
            Model.metadata.create_all(db.engine)
            sync_roles()
            db.session.commit()
            world = factories.world()
            factories.graduation_batch()
            for s in (world.student1, world.student2):
                factories.grades(s, factories.ALL_PASS)
            db.session.commit()
        yield Env(app, redis, db_url, queue, str(tmp / "storage"), tmp)
    finally:
        redis.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture()
def ctx(env):
    with env.app.app_context():
        yield env
        db.session.remove()


def _start_worker(env: Env) -> subprocess.Popen:
    child_env = dict(os.environ, APP_MODE="test", DATABASE_URL=env.db_url, REDIS_URL=env.redis.url,
                     RQ_QUEUE=env.queue, STORAGE_DIR=env.storage, JOBS_MODE="rq")
    log = open(env.logs / f"worker-{time.monotonic_ns()}.log", "w")  # noqa: SIM115  (the child keeps it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rq.cli", "worker", "-w", "app.jobs.worker.AppWorker", "--url", env.redis.url,
         env.queue], cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
    proc.log_path = log.name
    return proc


def _stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _newest_task() -> Task:
    db.session.expire_all()
    return db.session.scalars(select(Task).order_by(Task.id.desc())).first()


def _wait_state(task_id: int, state: str, timeout: float, worker: subprocess.Popen | None = None) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        task = db.session.get(Task, task_id)
        if task.state == state:
            return task
        time.sleep(0.1)
    log = Path(worker.log_path).read_text()[-3000:] if worker is not None else ""
    pytest.fail(f"task {task_id} is {task.state} ({task.error}), not {state}, after {timeout} s\n{log}")


def _audit_button(client: RoleClient) -> Task:
    resp = press(client, "/graduation/audit/audit", data={})
    assert resp.status_code == 302, resp.status_code
    return _newest_task()


def test_redis_stopped_then_started_pages_logins_buttons_and_the_same_worker_carry_on(ctx):
    ce = RoleClient(ctx.app, "jjy001")
    worker = _start_worker(ctx)
    try:
        first = _audit_button(ce)
        _wait_state(first.id, TaskState.SUCCEEDED.value, 60, worker)

        ctx.redis.stop()
        # a login now: the rate limit's storage is gone, the limiter counts in memory (was a 500)
        site = RoleClient(ctx.app, "jxd001")
        for url in PAGES:
            assert ce.get(url).status_code == 200, url
            assert site.get(url).status_code == 200, url
        before = fingerprint()
        for url, form in JOB_BUTTONS.items():
            page = press(ce, url, form, follow_redirects=True)
            assert page.status_code == 200 and QUEUE_DOWN in page.get_data(as_text=True), url
        assert not changed_tables(before, fingerprint())
        tasks_page = ce.get("/tasks/").get_data(as_text=True)
        assert f'id="task-{first.id}"' in tasks_page  # the finished task is still shown as it was
        assert _newest_task().id == first.id and _newest_task().state == TaskState.SUCCEEDED.value
        time.sleep(2)
        assert worker.poll() is None, ("the worker exited when Redis went away:\n"
                                       + Path(worker.log_path).read_text()[-2000:])

        ctx.redis.start()  # empty: nothing is kept on disk
        again = _audit_button(ce)
        assert again.id != first.id and again.state == TaskState.QUEUED.value
        # the same worker process, reconnecting with RQ's backoff (1, 2, 4… s), takes the job
        done = _wait_state(again.id, TaskState.SUCCEEDED.value, 60, worker)
        assert worker.poll() is None
        assert done.summary == first.summary
        assert db.session.scalar(select(func.count()).select_from(GraduationAudit)) == 2
    finally:
        _stop_worker(worker)


def test_a_job_queued_when_redis_restarts_is_shown_failed_and_retry_runs_it(ctx):
    """No worker is running; the job waits in Redis; Redis restarts empty. 任务中心 shows the task 失败 with
    重试 at once (RQ no longer knows the job), and 重试 queues a new job that a worker completes."""
    ce = RoleClient(ctx.app, "jjy001")
    lost = _audit_button(ce)
    assert lost.state == TaskState.QUEUED.value
    ctx.redis.stop()
    ctx.redis.start()

    row = ce.get("/tasks/").get_data(as_text=True)
    row = row[row.index(f'id="task-{lost.id}"'):]
    row = row[:row.index("</tr>")]
    assert "失败" in row and "重试" in row and tasks.STALE_MESSAGE in row
    assert ce.post(f"/tasks/retry/{lost.id}").status_code == 302
    retry = _newest_task()
    assert retry.retry_of_id == lost.id and retry.state == TaskState.QUEUED.value
    worker = _start_worker(ctx)
    try:
        _wait_state(retry.id, TaskState.SUCCEEDED.value, 60, worker)
    finally:
        _stop_worker(worker)
    assert db.session.scalar(select(func.count()).select_from(GraduationAudit)) == 2

"""A real PostgreSQL restart under a running 毕业审核, on a private throw-away cluster.

The module builds its own cluster with the PostgreSQL binaries (``PG_BIN``, default
/usr/lib/postgresql/15/bin): ``initdb -A trust`` in a temp dir (as the postgres user when the tests run as
root, which initdb refuses), listening on 127.0.0.1 on a free port with its socket in that dir, fsync off;
``pg_ctl stop -m immediate`` and the dir removed at the end. The shared server is never touched. In it: a
3,000-student cohort (bench/cohort.py), a private RQ queue, task ids at a random offset (RQ job ids are
``task-<id>``), and real `rq worker -w app.jobs.worker.AppWorker` children pointed at the cluster.

The restart is made to hit a chunk's transaction, not the gap between two, with a row lock the test holds
on an overridden student's result row (as the connection-drop test in test_worker_faults.py does).
Needs the binaries and TEST_REDIS_URL: skipped without them, failed when CI_REQUIRE_SERVICES=1.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.jobs import runner
from app.models import Task, TaskChunk
from app.security import scope_of
from app.services import graduation
from app.statuses import TaskState
from tests.clients import RoleClient
from tests.reliability.conftest import free_port
from tests.reliability.faults_support import (
    ADMIN,
    PRE,
    Env,
    _admin,
    _audit_inline,
    _audit_state,
    _forget_jobs,
    _kill,
    _one,
    _rows,
    _shown_failed,
    _start_worker,
    _task,
    _wait,
    _wait_burst,
    _worker_backends,
    close_env,
    open_env,
)

STUDENTS = 3_000
CHUNK = 250
OUTAGE_SECONDS = 3
DATABASE = "gd_restart"
# tables the audits and each test's setup write; the cohort itself is kept for the whole module
DERIVED = ("task_chunk", "graduation_snapshot", "degree_snapshot", "graduation_audit", "operation_log", "task")

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
AS_ROOT = os.geteuid() == 0
HAVE_SERVICES = (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists() and bool(REDIS_URL)
NEEDS = f"needs the PostgreSQL binaries in {PG_BIN} (initdb, pg_ctl) and TEST_REDIS_URL for real workers"

pytestmark = pytest.mark.skipif(not HAVE_SERVICES and not os.environ.get("CI_REQUIRE_SERVICES"), reason=NEEDS)


# --------------------------------------------------------------------------- the private cluster


def _as_owner(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: the cluster belongs to the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if AS_ROOT else cmd


@dataclass
class Cluster:
    """A PostgreSQL cluster of the module's own in ``base``; ``ctl`` drives its server with pg_ctl."""

    base: Path
    port: int

    @property
    def data(self) -> Path:
        return self.base / "data"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, *args: str) -> None:
        cmd = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", *args]
        if args[0] in ("start", "restart"):
            cmd += ["-l", str(self.base / "server.log")]
        done = subprocess.run(_as_owner(cmd), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"pg_ctl {' '.join(args)}: {done.stdout}{done.stderr}{self.log_tail()}"

    def log_tail(self) -> str:
        path = self.base / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture(scope="module")
def cluster():
    if not HAVE_SERVICES:
        pytest.fail(f"CI_REQUIRE_SERVICES is set but this module {NEEDS}")
    base = Path(tempfile.mkdtemp(prefix="gd-restart-"))
    if AS_ROOT:
        shutil.chown(base, "postgres", "postgres")
    c = Cluster(base=base, port=free_port())
    try:
        subprocess.run(_as_owner([str(PG_BIN / "initdb"), "-D", str(c.data), "-A", "trust", "-U", "postgres", "-N",
                                  "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True, timeout=120)
        with open(c.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {c.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        c.ctl("start")
        yield c
    finally:
        if (c.data / "postmaster.pid").exists():
            subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(c.data), "-w", "stop", "-m", "immediate"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _load_cohort(engine) -> None:
    from bench.cohort import generate

    raw = engine.raw_connection()
    try:
        generate(raw, "postgresql", STUDENTS)
    finally:
        raw.close()


@pytest.fixture(scope="module")
def env(cluster):
    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    logs = cluster.base / "logs"
    logs.mkdir()
    # TASK_STALE_SECONDS an hour: the worker itself must record the failure, the heartbeat reaper is not what decides
    e = open_env(cluster.url(DATABASE), REDIS_URL, f"restart-{os.urandom(4).hex()}", logs, stale_seconds=3600,
                 load_cohort=_load_cohort)
    try:
        yield e
    finally:
        close_env(e)


@pytest.fixture()
def fresh(env):
    """The cohort as generated (results, tasks, logs wiped), inside an app context."""
    with env.app.app_context():
        db.session.execute(text(f"TRUNCATE {', '.join(DERIVED)}"))
        db.session.commit()
        yield env
        for p in env.workers:
            _kill(p)
        env.workers.clear()
        db.session.rollback()
        _forget_jobs(env.queue)
        db.session.remove()


# --------------------------------------------------------------------------- the scenario and its checks


@dataclass
class Held:
    """The audit held inside chunk 2: its task, the overridden student whose row is locked, the worker."""

    task_id: int
    pinned: int
    worker: subprocess.Popen
    queued_jobs: int


@contextmanager
def _worker_inside_third_chunk(env: Env):
    """毕业审核 of every student in chunks of 250 on one burst worker, held inside chunk 2's transaction.

    The test holds a FOR UPDATE lock on the result row of an overridden student of chunk 2 (the audit
    updates that row, after inserting the others'); the context is entered once the worker's backend waits
    there with a transaction id. On exit the holder's connection is dropped without a word to the server
    (after a restart its session is gone anyway).
    """
    app, actor = env.app, _admin()
    previous = app.config.get("FANOUT_CHUNK_SIZE")
    app.config["FANOUT_CHUNK_SIZE"] = CHUNK
    try:
        task = graduation.start_task("graduation_audit", actor=actor, scope=scope_of(actor), filters={})
        db.session.commit()
        task_id = task.id
        runner.run(task_id)  # fans out here (this app's chunk size) and queues one RQ job per chunk
    finally:
        app.config["FANOUT_CHUNK_SIZE"] = previous
    assert _one("SELECT COUNT(*) FROM task_chunk WHERE task_id = :t", t=task_id) == STUDENTS // CHUNK
    third = [int(i) for i in _one("SELECT item_ids FROM task_chunk WHERE task_id = :t AND no = 2", t=task_id)]
    pinned = third[len(third) // 2]
    graduation.override([pinned], PRE, "教务处核实：成绩已补录", actor)
    db.session.commit()

    holder = db.engine.connect()
    try:
        holder.begin()
        holder.execute(text("SELECT id FROM graduation_audit WHERE student_id = :s FOR UPDATE"), {"s": pinned})
        worker = _start_worker(env, burst=True)
        _wait(lambda: [b for b in _worker_backends() if b.wait_event_type == "Lock" and b.xid], 60,
              "the worker to wait on the pinned result row inside chunk 2", worker)
        from app.extensions import rq_queue as queue

        yield Held(task_id=task_id, pinned=pinned, worker=worker, queued_jobs=queue().count)
    finally:
        holder.invalidate()
        holder.close()


def _assert_failed_by_the_worker(task_id: int) -> list[TaskChunk]:
    """The worker itself recorded 失败 (no page load reaped anything): the lost connection's Chinese message,
    chunk 2 失败, none 执行中, and every chunk's committed snapshots and results exactly its ``done``."""
    failed = _task(task_id)
    assert failed.state == TaskState.FAILED.value, (failed.state, failed.error)
    assert failed.error == runner.DB_LOST_MESSAGE and failed.lock_key is None, failed.error
    chunks = db.session.scalars(select(TaskChunk).where(TaskChunk.task_id == task_id).order_by(TaskChunk.no)).all()
    states = {c.no: c.state for c in chunks}
    assert TaskState.RUNNING.value not in states.values(), states
    assert [no for no, s in states.items() if s == TaskState.SUCCEEDED.value] == [0, 1], states
    assert states[2] == TaskState.FAILED.value and chunks[2].error == runner.DB_LOST_MESSAGE, states
    assert {s for no, s in states.items() if no > 2} == {TaskState.QUEUED.value}, states  # skipped, not run
    for c in chunks:
        ids = [int(i) for i in c.item_ids]
        snaps = _one("SELECT COUNT(*) FROM graduation_snapshot WHERE task_id = :t AND student_id = ANY(:ids)",
                     t=task_id, ids=ids)
        results = _one("SELECT COUNT(*) FROM graduation_audit WHERE computed_task_id = :t AND student_id = ANY(:ids)",
                       t=task_id, ids=ids)
        assert snaps == results == c.done, (c.no, c.state, c.done, snaps, results)
        assert c.done == (c.total if c.state == TaskState.SUCCEEDED.value else 0), (c.no, c.state, c.done)
    assert failed.done == 2 * CHUNK
    # chunk 2 wrote its inserts before it blocked: all rolled back with the restart
    assert _one("SELECT COUNT(*) FROM graduation_audit WHERE student_id = ANY(:ids)",
                ids=[int(i) for i in chunks[2].item_ids]) == 1  # only the pinned student's override row
    return chunks


def _snapshots(task_id: int) -> list:
    return _rows("SELECT student_id, result, reasons::text, passed_courses, earned_credits "
                 "FROM graduation_snapshot WHERE task_id = :t ORDER BY student_id", t=task_id)


def _assert_complete_like_an_uninterrupted_audit(app, audited_by: int, pinned: int, override_before) -> None:
    """Every student has one current result, the override is intact, and results and snapshots equal a
    fresh uninterrupted audit of the same students; one log entry per changed student."""
    done = _task(audited_by)
    assert done.state == TaskState.SUCCEEDED.value and done.error is None, done.error
    assert (done.done, done.total) == (STUDENTS, STUDENTS)
    after = _audit_state()
    assert len(after) == STUDENTS == _one("SELECT COUNT(DISTINCT student_id) FROM graduation_audit")
    o = after[pinned]
    assert (o.result, o.override_result, o.override_reason, o.override_by_id, o.override_at) == \
           (PRE, override_before.override_result, override_before.override_reason, override_before.override_by_id,
            override_before.override_at)
    results = {sid: r.result for sid, r in after.items()}
    reference = _audit_inline(app, {})  # an uninterrupted audit of the same students
    assert _snapshots(audited_by) == _snapshots(reference.id) and len(_snapshots(audited_by)) == STUDENTS
    assert done.summary == reference.summary
    assert dict(_rows("SELECT student_id, result FROM graduation_audit")) == results
    logs = Counter(r[0] for r in _rows("SELECT student_id FROM operation_log WHERE action = 'graduation_audit'"))
    # every student but the overridden one changed from 未审核; each logged once, by whichever task changed it
    assert set(logs) == set(results) - {pinned} and set(logs.values()) == {1}


# --------------------------------------------------------------------------- the tests


def test_postgres_restarted_inside_a_chunk_fails_the_task_cleanly_and_the_rerun_matches_an_uninterrupted_audit(
        fresh, cluster):
    """`pg_ctl restart -m fast` (every session killed, the server down and back up) while the worker is
    inside chunk 2's transaction, with 9 chunks still queued.

    The worker itself records 失败 with the lost connection's Chinese message although the database is down
    at the moment it fails: no chunk stays 执行中, the interrupted chunk's writes are rolled back, every
    chunk's committed rows are exactly its progress, the later chunks are skipped. 任务中心 shows it 失败;
    running the task again does only the unfinished chunks, and the outcome equals an uninterrupted audit.
    """
    app = fresh.app
    with _worker_inside_third_chunk(fresh) as held:
        task_id, pinned = held.task_id, held.pinned
        override_before = _audit_state()[pinned]
        assert held.queued_jobs == STUDENTS // CHUNK - 3
        t0 = time.monotonic()
        cluster.ctl("restart", "-m", "fast")
        t_up = time.monotonic()
    _wait_burst(held.worker, timeout=60)
    t_worker = time.monotonic()
    chunks = _assert_failed_by_the_worker(task_id)
    finished = {c.no: c.finished_at for c in chunks if c.state == TaskState.SUCCEEDED.value}

    client = RoleClient(app, ADMIN)
    row = _shown_failed(client, task_id)  # 任务中心 through the app: 失败 with the message and a 重试 button
    assert row and runner.DB_LOST_MESSAGE in row, row

    runner.run(task_id)  # the failed task again: only its unfinished chunks are queued
    _wait_burst(_start_worker(fresh, burst=True))
    t_done = time.monotonic()
    assert dict(_rows("SELECT no, finished_at FROM task_chunk WHERE task_id = :t AND no IN (0, 1)",
                      t=task_id)) == finished  # not redone
    _assert_complete_like_an_uninterrupted_audit(app, task_id, pinned, override_before)
    print(f"\nrestart: server down and up in {t_up - t0:.2f} s; the worker recorded 失败 and finished its "
          f"queue {t_worker - t_up:.1f} s later; the rerun took {t_done - t_worker:.1f} s")


def test_postgres_down_for_seconds_inside_a_chunk_is_recorded_by_the_worker_and_the_retry_completes(fresh, cluster):
    """`pg_ctl stop -m fast`, the server down for 3 s while the worker is in chunk 2 with 9 chunks queued,
    then `pg_ctl start`.

    The worker keeps trying to record the failure until the server is back: the task is 失败 with the lost
    connection's message, never left 执行中; 重试 on 任务中心 runs a new task that completes, and the outcome
    equals an uninterrupted audit.
    """
    app = fresh.app
    with _worker_inside_third_chunk(fresh) as held:
        task_id, pinned = held.task_id, held.pinned
        override_before = _audit_state()[pinned]
        assert held.queued_jobs == STUDENTS // CHUNK - 3
        cluster.ctl("stop", "-m", "fast")
        t_down = time.monotonic()
        try:
            with pytest.raises(OperationalError) as refused:
                db.engine.connect()
            # what the worker meets while it retries: a refused connection, which also counts as lost
            assert runner._failure_message(refused.value) == runner.DB_LOST_MESSAGE, refused.value
            time.sleep(OUTAGE_SECONDS)
            waiting = held.worker.poll() is None  # still at work: chunk 2's failure is not recorded yet
        finally:
            cluster.ctl("start")
        t_up = time.monotonic()
    assert waiting, "the worker ran through its queue while the database was down:\n" + \
        Path(held.worker.log_path).read_text()[-2000:]
    _wait_burst(held.worker, timeout=60)
    t_worker = time.monotonic()
    _assert_failed_by_the_worker(task_id)

    client = RoleClient(app, ADMIN)
    row = _shown_failed(client, task_id)
    assert row and runner.DB_LOST_MESSAGE in row, row
    assert client.post(f"/tasks/retry/{task_id}").status_code == 302  # 重试
    new = db.session.scalar(select(Task).where(Task.retry_of_id == task_id))
    assert new is not None and new.rq_job_id == f"task-{new.id}"
    _wait_burst(_start_worker(fresh, burst=True))
    t_done = time.monotonic()
    _assert_complete_like_an_uninterrupted_audit(app, new.id, pinned, override_before)
    print(f"\noutage: server down {t_up - t_down:.1f} s; the worker recorded 失败 and finished its queue "
          f"{t_worker - t_up:.1f} s after the start; the retry took {t_done - t_worker:.1f} s")

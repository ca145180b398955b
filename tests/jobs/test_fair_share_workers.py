"""The workers' fair share (issue 15): an organisation's task picked while it already runs more tasks than
another organisation with a task waiting goes back to the end of the queue (``runner.defer_for_fair_share``).

The decision is a pure function (``tasks.defer_for_fair_share``), tested on its own; the scenario runs with
two real ``rq worker`` processes on TEST_REDIS_URL: skipped without it on a laptop, failed when
CI_REQUIRE_SERVICES=1 (CI sets both).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from app.extensions import db
from app.jobs import runner
from app.models import Account, Task
from app.services import tasks
from app.statuses import TaskState

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
NEEDS = "needs TEST_REDIS_URL for real rq workers"


# --------------------------------------------------------------------------- the pure decision

@pytest.mark.parametrize(("org", "running", "waiting", "defer"), [
    (1, {}, {2}, False),               # nothing of mine runs: run
    (1, {1: 1}, set(), False),         # nobody else waits: a site alone uses every worker
    (1, {1: 1}, {1}, False),           # only my own tasks wait
    (1, {1: 1}, {2}, True),            # I run one, B runs none and waits: B's turn
    (1, {1: 1, 2: 1}, {2}, False),     # equal shares: run (no ping-pong between two busy sites)
    (1, {1: 2, 2: 1}, {2}, True),      # I run more than B: B's turn
    (1, {1: 2, 2: 2, 3: 0}, {3}, True),
    (1, {1: 2, 2: 5}, {2}, False),     # B already runs more
    (None, {}, {2}, False),            # tasks without an organisation are never deferred
])
def test_the_decision(org, running, waiting, defer):
    assert tasks.defer_for_fair_share(org, running, waiting) is defer


def test_the_organisation_running_fewest_never_defers():
    """Among organisations with tasks waiting, the one running fewest runs: a pass through the queue always
    runs a task (no busy loop)."""
    running = {1: 3, 2: 1, 3: 2}
    waiting = {1, 2, 3}
    assert [o for o in waiting if not tasks.defer_for_fair_share(o, running, waiting - {o})] == [2]


def test_task_job_ids_in_the_queue():
    ids = ["task-7", "task-8-chunk-0", "task-9-deferred-abc123", "other", "task-x"]
    assert tasks.queued_task_ids(ids) == [7, 9]


# --------------------------------------------------------------------------- real workers

def _submit(username: str, n: int, pause: float) -> int:
    actor = db.session.query(Account).filter_by(username=username).one()
    task = tasks.create_task("demo", actor=actor, params={"n": n, "pause": pause}, scope_text="测试")
    return runner.submit(task).id


def _rows(ids: list[int]) -> dict[int, Task]:
    db.session.expire_all()
    return {i: db.session.get_one(Task, i) for i in ids}


@pytest.mark.skipif(not REDIS_URL and not os.environ.get("CI_REQUIRE_SERVICES"), reason=NEEDS)
def test_a_burst_of_one_site_does_not_hold_every_worker(app_ctx, world, monkeypatch):
    """Two real workers, site A's three slow tasks (A1 3 s, A2 9 s, A3 3 s), then site B's fast one while A1
    and A2 run. FIFO (the code before) gives the first free worker A3 and B waits for the second; with the
    fair share A3 goes back behind B: B starts before A3 and before A's second task ends."""
    if not REDIS_URL:
        pytest.fail(f"CI_REQUIRE_SERVICES is set but this module {NEEDS}")
    queue_name = f"fair-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app_ctx.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app_ctx.config, "RQ_QUEUE", queue_name)
    monkeypatch.setitem(app_ctx.config, "REDIS_URL", REDIS_URL)
    from rq import Queue, Worker

    from app.extensions import redis_connection

    env = dict(os.environ, APP_MODE="test", DATABASE_URL=app_ctx.config["SQLALCHEMY_DATABASE_URI"],
               REDIS_URL=REDIS_URL, RQ_QUEUE=queue_name, JOBS_MODE="rq", STORAGE_DIR=app_ctx.config["STORAGE_DIR"])
    workers = [subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "-w", "app.jobs.worker.AppWorker",
                                 "--url", REDIS_URL, queue_name], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    queue = Queue(queue_name, connection=redis_connection())
    try:
        deadline = time.monotonic() + 120
        while Worker.count(queue=queue) < 2:
            assert time.monotonic() < deadline and all(w.poll() is None for w in workers), "workers did not start"
            time.sleep(0.2)
        a1, a2, a3 = _submit("jxd001", 6, 0.5), _submit("jxd001", 18, 0.5), _submit("jxd001", 6, 0.5)
        while any(t.state != TaskState.RUNNING.value for t in _rows([a1, a2]).values()):
            assert time.monotonic() < deadline, "A's first two tasks did not start"
            time.sleep(0.1)
        b = _submit("jxd002", 1, 0)
        deadline = time.monotonic() + 120
        while any(t.state not in (TaskState.SUCCEEDED.value, TaskState.FAILED.value)
                  for t in _rows([a1, a2, a3, b]).values()):
            assert time.monotonic() < deadline, "the tasks did not finish"
            time.sleep(0.2)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
        queue.empty()
    rows = _rows([a1, a2, a3, b])
    assert [rows[i].state for i in (a1, a2, a3, b)] == [TaskState.SUCCEEDED.value] * 4
    a_ends = sorted(rows[i].finished_at for i in (a1, a2, a3))
    assert rows[b].started_at < rows[a3].started_at
    assert rows[b].started_at < a_ends[1]
    assert rows[a3].rq_job_id.startswith(f"task-{a3}-deferred-")  # put back once, under a fresh job id
    assert rows[a3].summary == {"计数": 6} and rows[a3].done == 6

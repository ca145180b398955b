"""Faults at the view level: Redis gone while people work, then back.

With Redis unreachable every page still loads, and each button that starts a job (同步课程数据, 毕业审核,
发布, 学位条件审核, 导出) answers in Chinese that the queue is unavailable and leaves no task or result row.
When Redis returns (TEST_REDIS_URL, else fakeredis) the same button queues a job that a worker completes.
"""
from __future__ import annotations

import os
import uuid

import pytest

from app.extensions import db
from app.jobs.runner import QUEUE_DOWN
from app.models import Task
from app.statuses import TaskState
from tests import factories
from tests.clients import press
from tests.reliability.conftest import changed_tables, fingerprint

CLOSED_PORT = "redis://127.0.0.1:1/0"
PAGES = ["/", "/graduation/audit/", "/graduation/graduates/", "/degree/audit/", "/tasks/",
         "/students/list/", "/oplog/list/", "/graduation/archive/"]
JOB_BUTTONS = {
    "/graduation/audit/sync": {},
    "/graduation/audit/audit": {},
    "/graduation/audit/publish": {},
    "/exports/list": {"list": "students"},
    "/graduation/archive/export": {"documents": ["card"], "graduated": "all"},
}


@pytest.fixture()
def redis_down(app, world, monkeypatch):
    """The app in RQ mode with REDIS_URL pointing at a closed port."""
    factories.graduation_batch()
    factories.graduation_result(world.student1, "pre_graduate", published=False)
    db.session.commit()
    monkeypatch.setitem(app.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", CLOSED_PORT)
    monkeypatch.setitem(app.config, "RQ_QUEUE", f"rel-{uuid.uuid4().hex[:8]}")
    return monkeypatch


def test_pages_load_while_redis_is_down(redis_down, ce_client):
    """Every main page answers 200 with Redis unreachable (the task center included)."""
    for url in PAGES:
        assert ce_client.get(url).status_code == 200, url


def test_job_buttons_say_queue_unavailable_and_leave_nothing(redis_down, ce_client):
    """Each job button: the Chinese 任务队列暂不可用 message, and no table changed (no task row left)."""
    before = fingerprint()
    for url, form in JOB_BUTTONS.items():
        resp = press(ce_client, url, form, follow_redirects=True)
        assert resp.status_code == 200, url
        assert "任务队列暂不可用" in resp.get_data(as_text=True), url
    assert not changed_tables(before, fingerprint())
    assert QUEUE_DOWN.startswith("任务队列暂不可用")


def test_jobs_run_again_when_redis_returns(redis_down, app, ce_client):
    """After the outage the same button queues the job and a worker completes it."""
    press(ce_client, "/graduation/audit/audit", data={})
    assert db.session.query(Task).count() == 0
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        redis_down.setitem(app.config, "REDIS_URL", url)
    else:
        import fakeredis

        server = fakeredis.FakeServer()
        redis_down.setitem(app.config, "REDIS_URL", "redis://fake")
        redis_down.setattr("app.extensions.redis_connection", lambda: fakeredis.FakeStrictRedis(server=server))
    press(ce_client, "/graduation/audit/audit", data={})
    task = db.session.query(Task).one()
    assert task.state == TaskState.QUEUED.value
    from rq import SimpleWorker

    from app.extensions import rq_queue as queue

    with app.app_context():
        q = queue()
        SimpleWorker([q], connection=q.connection).work(burst=True)
        q.empty()
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == TaskState.SUCCEEDED.value

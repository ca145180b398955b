"""Worker liveness for the CE admin (issue 17): the rq workers on the queue and their last heartbeat."""
from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

from app.services import workers


@pytest.fixture()
def redis_conn(app, monkeypatch):
    """The app in rq mode on a queue of its own: the real Redis (TEST_REDIS_URL) or fakeredis."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        from redis import Redis

        conn = Redis.from_url(url)
    else:
        import fakeredis

        conn = fakeredis.FakeStrictRedis(server=fakeredis.FakeServer())
    monkeypatch.setitem(app.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", url or "redis://fake")
    monkeypatch.setitem(app.config, "RQ_QUEUE", f"liveness-{uuid.uuid4().hex[:8]}")
    monkeypatch.setattr(workers, "redis_connection", lambda: conn)
    return conn


def _worker(app, conn, name: str, *, silent_for: dt.timedelta | None = None):
    from rq import Queue, Worker

    w = Worker([Queue(app.config["RQ_QUEUE"], connection=conn)], connection=conn, name=name)
    w.register_birth()
    if silent_for is not None:  # as if the process had been killed that long ago
        beat = dt.datetime.now(dt.UTC) - silent_for
        conn.hset(w.key, "last_heartbeat", beat.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return w


def test_listening_workers_are_counted_and_a_silent_one_is_flagged(app_ctx, app, redis_conn):
    live_w = _worker(app, redis_conn, "w-live")
    dead_w = _worker(app, redis_conn, "w-dead", silent_for=dt.timedelta(minutes=10))
    try:
        live = workers.worker_liveness()
        assert live.connected and live.mode == "rq"
        assert [w.name for w in live.workers] == ["w-dead", "w-live"]
        assert live.listening == 1 and live.message == ""
        dead, alive = live.workers
        assert (alive.stale, dead.stale) == (False, True)
        assert alive.seconds_ago <= 5 and 590 <= dead.seconds_ago <= 610
        assert alive.pid == os.getpid() and alive.last_seen is not None
    finally:
        live_w.register_death()
        dead_w.register_death()
    assert workers.worker_liveness().message == workers.NO_WORKER


def test_the_page_shows_the_count_and_each_worker_to_the_ce_admin_only(ce_client, site_client, app, redis_conn):
    w = _worker(app, redis_conn, "w-page")
    try:
        page = ce_client.get("/workers/").get_data(as_text=True)
    finally:
        w.register_death()
    assert "1 个 rq worker 正在监听" in page and "w-page" in page and "秒前" in page
    assert site_client.get("/workers/").status_code in (302, 403)


def test_redis_down_says_queue_not_connected_never_a_500(ce_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_MODE", "rq")
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    resp = ce_client.get("/workers/")
    assert resp.status_code == 200
    assert "队列未连接" in resp.get_data(as_text=True)
    with app.app_context():
        assert workers.worker_liveness().connected is False


def test_demo_mode_says_jobs_run_in_process(ce_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_MODE", "thread")
    page = ce_client.get("/workers/").get_data(as_text=True)
    assert "任务在网站进程内执行" in page

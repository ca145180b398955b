"""Worker faults with the real pieces: `rq worker` processes on Redis, PostgreSQL, SIGKILL, pg_terminate_backend.

One PostgreSQL database of its own for the module (``gd_faults_<hex>``) holding a 20,000-student cohort
(bench/cohort.py), a private RQ queue, task ids starting at a random offset (RQ job ids are ``task-<id>``,
so no other test's jobs in the same Redis are touched), and ``TASK_STALE_SECONDS`` = 3 in the app the
test drives (the 任务中心 page runs in it). Workers are `rq worker -w app.jobs.worker.AppWorker` child
processes with ``application_name=gd-faults-worker`` in their database URL, so the test can find their
backends. Needs TEST_POSTGRES_URL and TEST_REDIS_URL: skipped without them, failed when CI_REQUIRE_SERVICES=1.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from app.extensions import db
from app.jobs import runner
from app.models import Task, TaskChunk
from app.security import scope_of
from app.services import degree, graduation, numbering, tasks
from app.statuses import TaskState
from tests.clients import RoleClient
from tests.reliability.faults_support import (
    ADMIN,
    FAILED,
    PRE,
    _admin,
    _audit_inline,
    _audit_state,
    _children,
    _forget_jobs,
    _kill,
    _one,
    _progress,
    _rows,
    _shown_failed,
    _start_worker,
    _task,
    _wait,
    _wait_blocked_in_update,
    _wait_burst,
    _worker_backends,
    close_env,
    open_env,
    row_lock,
)

STUDENTS = 20_000
STALE_SECONDS = 3
# tables the jobs and the setup of each test write; the cohort itself is kept for the whole module
DERIVED = ("task_chunk", "graduation_snapshot", "degree_snapshot", "graduation_audit", "operation_log",
           "certificate_counter", "task")


# --------------------------------------------------------------------------- the module's database, app and cohort


PG_URL = os.environ.get("TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
HAVE_SERVICES = PG_URL.startswith("postgresql") and bool(REDIS_URL)
NEEDS = "needs TEST_POSTGRES_URL (a PostgreSQL server) and TEST_REDIS_URL for real workers"

# Like tests/test_migrations.py: without the servers (a laptop's `make test`) the module is not run; in CI
# (CI_REQUIRE_SERVICES=1, both URLs set by .ci/run) it always runs, and missing servers fail it.
pytestmark = pytest.mark.skipif(not HAVE_SERVICES and not os.environ.get("CI_REQUIRE_SERVICES"), reason=NEEDS)


def _services() -> tuple[str, str]:
    if not HAVE_SERVICES:
        pytest.fail(f"CI_REQUIRE_SERVICES is set but this module {NEEDS}")
    return PG_URL, REDIS_URL


def _load_cohort(engine) -> None:
    """bench/cohort.py's generator, with grade's foreign key and secondary indexes rebuilt after the load.

    Checking 760,000 foreign keys row by row during COPY is what makes the generator slow (≈50 s → ≈20 s
    here); the constraints and indexes are recreated from their own definitions, so the schema is unchanged.
    """
    from bench.cohort import generate

    with engine.begin() as conn:
        cons = conn.execute(text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                                 "WHERE conrelid = 'grade'::regclass AND contype IN ('f', 'u')")).all()
        names = {n for n, _ in cons}
        idx = [(n, d) for n, d in conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'grade' AND indexname <> 'grade_pkey'"))
            if n not in names]
        for n, _ in cons:
            conn.execute(text(f'ALTER TABLE grade DROP CONSTRAINT "{n}"'))
        for n, _ in idx:
            conn.execute(text(f'DROP INDEX "{n}"'))
    raw = engine.raw_connection()
    try:
        generate(raw, "postgresql", STUDENTS)
    finally:
        raw.close()
    with engine.begin() as conn:
        for _n, d in idx:
            conn.execute(text(d))
        for n, d in cons:
            conn.execute(text(f'ALTER TABLE grade ADD CONSTRAINT "{n}" {d}'))
        conn.execute(text("ANALYZE grade"))


@pytest.fixture(scope="module")
def env():
    pg, redis_url = _services()
    server = pg.rsplit("/", 1)[0]
    name = f"gd_faults_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    tmp = Path(tempfile.mkdtemp(prefix="gd-faults-"))
    e = None
    try:
        t0 = time.perf_counter()
        e = open_env(f"{server}/{name}", redis_url, f"faults-{uuid.uuid4().hex[:8]}", tmp,
                     stale_seconds=STALE_SECONDS, load_cohort=_load_cohort)
        print(f"\ncohort of {STUDENTS} students loaded in {time.perf_counter() - t0:.1f} s")
        yield e
    finally:
        if e is not None:
            close_env(e)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)  # worker logs: a failing wait or worker quotes its tail


@pytest.fixture()
def fresh(env):
    """The cohort as generated (results, tasks, logs, numbers wiped), inside an app context."""
    with env.app.app_context():
        db.session.execute(text(f"TRUNCATE {', '.join(DERIVED)}"))
        db.session.execute(text("UPDATE student SET status = 'enrolled' WHERE status = 'graduated'"))
        db.session.commit()
        yield env
        for p in env.workers:
            _kill(p)
        env.workers.clear()
        db.session.rollback()
        _forget_jobs(env.queue)
        db.session.remove()




def test_worker_killed_mid_audit_is_reaped_and_the_retry_completes_it(fresh):
    """20,000 students; the worker and its horse are SIGKILLed after the first committed slice.

    任务中心 shows 失败 within TASK_STALE_SECONDS; 重试 with a new worker audits everyone once: one result
    row each, overrides and confirmed results kept, no duplicate snapshot, summary = a recount.
    """
    app = fresh.app
    actor = _admin()
    scope = scope_of(actor)
    # before: site 101 audited and its 预毕业 confirmed; overrides on audited and on never-audited students
    _audit_inline(app, {"site_id": 101})
    assert graduation.confirm({"site_id": 101}, scope, actor).confirmed > 0
    db.session.commit()
    site101 = _rows("SELECT a.student_id, a.result, a.confirmed_at FROM graduation_audit a "
                    "JOIN student s ON s.id = a.student_id WHERE s.site_id = 101 ORDER BY s.student_no")
    confirmed = [r.student_id for r in site101 if r.confirmed_at is not None]
    failed101 = [r.student_id for r in site101 if r.result == FAILED]
    fresh102 = [r[0] for r in _rows("SELECT id FROM student WHERE site_id = 102 ORDER BY student_no LIMIT 60")]
    graduation.override(fresh102[:30], PRE, "教务处核实：成绩已补录", actor)
    graduation.override(fresh102[30:], FAILED, "教务处核实：学籍异常", actor)
    graduation.override(failed101[:30], PRE, "教学点核实：免修课程", actor)
    graduation.override(confirmed[:10], FAILED, "继教院复核：证明材料不全", actor)  # un-confirms them
    db.session.commit()
    before = _audit_state()
    overridden = {sid for sid, r in before.items() if r.override_result}
    still_confirmed = {sid for sid, r in before.items() if r.confirmed_at is not None}
    assert len(overridden) == 100 and len(still_confirmed) == len(confirmed) - 10 > 300

    task = graduation.start_task("graduation_audit", actor=actor, scope=scope, filters={})
    runner.submit(task)  # as the 毕业审核 button: commit, enqueue the job, remember its RQ id
    task_id = task.id
    assert _task(task_id).rq_job_id == f"task-{task_id}"
    t0 = time.monotonic()
    worker = _start_worker(fresh)
    done, total, _ = _wait(lambda: (p := _progress(task_id))[0] > 0 and p, 120, "the first committed slice", worker)
    killed = _kill(worker)
    t_kill = time.monotonic()
    assert len(killed) == 2, f"expected the worker and its work horse, killed {killed}"
    done, total, state = _progress(task_id)
    assert 0 < done < total == STUDENTS and state == TaskState.RUNNING.value
    chunk_done = _one("SELECT SUM(done) FROM task_chunk WHERE task_id = :t", t=task_id)
    snaps = _one("SELECT COUNT(*) FROM graduation_snapshot WHERE task_id = :t", t=task_id)
    assert chunk_done == done == snaps  # what is committed is exactly what the counters say

    client = RoleClient(app, ADMIN)
    row = _wait(lambda: _shown_failed(client, task_id), STALE_SECONDS + 15, "任务中心 to show 失败", step=0.5)
    t_failed = time.monotonic()
    assert tasks.STALE_MESSAGE in row
    old = _task(task_id)
    assert old.state == TaskState.FAILED.value and old.error == tasks.STALE_MESSAGE and old.lock_key is None
    # the chunk the dead worker held is 失败 too; the others were never taken
    assert _rows("SELECT no, state, error FROM task_chunk WHERE task_id = :t ORDER BY no", t=task_id) == \
           [(0, "failed", tasks.STALE_MESSAGE), (1, "queued", None), (2, "queued", None), (3, "queued", None)]

    resp = client.post(f"/tasks/retry/{task_id}")  # the 重试 button
    assert resp.status_code == 302
    new = db.session.scalar(select(Task).where(Task.retry_of_id == task_id))
    assert new is not None and new.state == TaskState.QUEUED.value and new.rq_job_id == f"task-{new.id}"
    _wait_burst(_start_worker(fresh, burst=True))
    t_done = time.monotonic()
    new = _task(new.id)
    assert new.state == TaskState.SUCCEEDED.value, new.error
    assert (new.done, new.total) == (STUDENTS, STUDENTS)

    after = _audit_state()
    assert len(after) == STUDENTS == _one("SELECT COUNT(DISTINCT student_id) FROM graduation_audit")
    assert not _rows("SELECT student_id FROM graduation_audit GROUP BY student_id HAVING COUNT(*) > 1")
    for sid in overridden:
        b, a = before[sid], after[sid]
        assert (a.override_result, a.override_reason, a.override_by_id, a.override_at) == \
               (b.override_result, b.override_reason, b.override_by_id, b.override_at), sid
        if a.confirmed_at is None:
            assert a.result == a.override_result, sid
    for sid in still_confirmed:
        b, a = before[sid], after[sid]
        assert (a.result, a.confirmed_at, a.confirmed_by_id, a.batch_id) == \
               (b.result, b.confirmed_at, b.confirmed_by_id, b.batch_id), sid
    assert not _rows("SELECT task_id, student_id FROM graduation_snapshot GROUP BY task_id, student_id "
                     "HAVING COUNT(*) > 1")
    assert _one("SELECT COUNT(*) FROM graduation_snapshot WHERE task_id = :t", t=new.id) == STUDENTS
    assert _one("SELECT COUNT(*) FROM graduation_snapshot WHERE task_id = :t", t=task_id) == done
    recount = Counter(r.result for r in after.values())
    kept = sum(1 for r in after.values() if r.override_result)  # hand-set results the audit kept (issue 16)
    assert kept == len(overridden)
    assert new.summary == {"预毕业": recount[PRE], "不合格": recount[FAILED], "保留手工修改结果": kept}
    assert recount[PRE] + recount[FAILED] == STUDENTS
    # every changed result was logged once, by whichever of the two tasks changed it; nothing else was
    logged = Counter(r[0] for r in _rows(
        "SELECT student_id FROM operation_log WHERE action = 'graduation_audit' AND task_id IN (:a, :b)",
        a=task_id, b=new.id))
    changed = {sid for sid, a in after.items() if (before[sid].result if sid in before else None) != a.result}
    assert set(logged) == changed and set(logged.values()) == {1}
    print(f"\naudit: killed at {done}/{total} after {t_kill - t0:.1f} s; 失败 shown {t_failed - t_kill:.1f} s "
          f"after the kill; retry finished in {t_done - t_failed:.1f} s; {dict(recount)}; "
          f"{len(still_confirmed)} confirmed, {len(overridden)} overridden, {len(changed)} changed and logged")


def test_work_horse_killed_alone_is_seen_through_rq_at_once_and_only_its_chunk_reruns(fresh):
    """The OOM killer's case: only the work horse running chunk 1 of 4 is SIGKILLed; the worker lives on.

    RQ marks that chunk's job failed and the worker finishes the other chunks. With TASK_STALE_SECONDS at an
    hour (so the heartbeat cannot be what decides), 任务中心 shows the task 失败 at the next page load;
    running it again redoes only the killed chunk.
    """
    app = fresh.app
    actor = _admin()
    app.config.update(FANOUT_CHUNK_SIZE=250, TASK_STALE_SECONDS=3600)
    try:
        task = graduation.start_task("graduation_audit", actor=actor, scope=scope_of(actor), filters={"site_id": 103})
        db.session.commit()
        task_id = task.id
        runner.run(task_id)  # fans out here (this app's chunk size) and queues one RQ job per chunk
        worker = _start_worker(fresh, burst=True)

        def horse_on_chunk_1():
            state = _one("SELECT state FROM task_chunk WHERE task_id = :t AND no = 1", t=task_id)
            return state == TaskState.RUNNING.value and _children(worker.pid)

        horse = _wait(horse_on_chunk_1, 90, "a work horse on chunk 1", worker, step=0.02)
        os.kill(horse[0], signal.SIGKILL)
        _wait_burst(worker)  # the worker survives, records the job as failed and runs the other chunks
        states = dict(_rows("SELECT no, state FROM task_chunk WHERE task_id = :t", t=task_id))
        assert states == {0: "succeeded", 1: "running", 2: "succeeded", 3: "succeeded"}, states
        assert _progress(task_id)[2] == TaskState.RUNNING.value  # nobody told the database

        client = RoleClient(app, ADMIN)
        row = _shown_failed(client, task_id)  # the first page load, no waiting
        assert row and tasks.STALE_MESSAGE in row, row
        finished = dict(_rows("SELECT no, finished_at FROM task_chunk WHERE task_id = :t AND no <> 1", t=task_id))
        snaps_done = _one("SELECT COUNT(*) FROM graduation_snapshot WHERE task_id = :t", t=task_id)
        assert snaps_done == _one("SELECT SUM(done) FROM task_chunk WHERE task_id = :t", t=task_id)

        from app.extensions import rq_queue as queue

        runner.run(task_id)
        assert queue().job_ids == [f"task-{task_id}-chunk-1"]  # only the killed chunk is queued again
        _wait_burst(_start_worker(fresh, burst=True))
    finally:
        app.config.pop("FANOUT_CHUNK_SIZE")
        app.config["TASK_STALE_SECONDS"] = STALE_SECONDS
    done = _task(task_id)
    assert done.state == TaskState.SUCCEEDED.value and (done.done, done.total) == (1000, 1000), done.error
    assert dict(_rows("SELECT no, finished_at FROM task_chunk WHERE task_id = :t AND no <> 1", t=task_id)) == finished
    assert _one("SELECT COUNT(*) FROM graduation_snapshot WHERE task_id = :t", t=task_id) == 1000
    assert _one("SELECT COUNT(*) FROM graduation_audit") == 1000
    logs = Counter(r[0] for r in _rows("SELECT student_id FROM operation_log WHERE action = 'graduation_audit'"))
    assert len(logs) == 1000 and set(logs.values()) == {1}
    recount = Counter(r[0] for r in _rows("SELECT result FROM graduation_audit"))
    assert done.summary == {"预毕业": recount[PRE], "不合格": recount[FAILED]}


# --------------------------------------------------------------------------- 2. SIGKILL mid-发布


def _publish_groups() -> list[list]:
    """Confirmed, unpublished 预毕业 students in 发布's order: per (batch, 层次), by 学号 inside a group."""
    rows = _rows("SELECT a.batch_id, s.level, s.student_no, s.id FROM graduation_audit a "
                 "JOIN student s ON s.id = a.student_id WHERE a.confirmed_at IS NOT NULL AND a.published_at IS NULL "
                 "AND a.result = :pre ORDER BY a.batch_id, s.level, s.student_no", pre=PRE)
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r.batch_id, r.level), []).append(r)
    return [groups[k] for k in sorted(groups)]


def test_worker_killed_inside_a_publish_transaction_leaves_no_number_used_or_skipped(fresh):
    """发布 of ≈2,900 confirmed students; the worker is SIGKILLed inside the transaction of its third group.

    The kill is made deterministic by a row lock the test holds on the last student of that group (as a
    concurrent edit would): the worker has numbered the group's results and advanced the counter, uncommitted,
    and waits on the lock. After the kill and the 重试: every confirmed student published once, numbers unique
    and gap-free per prefix, in 学号 order inside each group, one log entry per student.
    """
    app = fresh.app
    actor = _admin()
    _audit_inline(app, {}, [r[0] for r in _rows("SELECT id FROM student WHERE site_id BETWEEN 101 AND 105")])
    confirmed = graduation.confirm({}, scope_of(actor), actor).confirmed
    db.session.commit()
    groups = _publish_groups()
    assert sum(map(len, groups)) == confirmed > 2000
    target = next(i for i, g in enumerate(groups) if i >= 2 and len(g) >= 50)
    before_target = sum(len(g) for g in groups[:target])
    locked_student = groups[target][-1].id

    with row_lock("SELECT id FROM student WHERE id = :s FOR UPDATE", s=locked_student):
        task = graduation.start_task("graduation_publish", actor=actor, scope=scope_of(actor), filters={})
        runner.submit(task)  # the 发布 button
        task_id = task.id
        worker = _start_worker(fresh)
        _wait_blocked_in_update(worker, "the publishing worker to wait on the locked student")
        done, total, state = _progress(task_id)
        assert (done, total, state) == (before_target, confirmed, TaskState.RUNNING.value)
        assert len(_kill(worker)) == 2
    _wait(lambda: not _worker_backends(), 30, "the killed worker's backend to end")
    numbered = _rows("SELECT diploma_no, published_task_id FROM graduation_audit WHERE diploma_no IS NOT NULL")
    assert len(numbered) == before_target and {r.published_task_id for r in numbered} == {task_id}
    counters = dict(_rows("SELECT prefix, last_value FROM certificate_counter"))
    assert sum(counters.values()) == before_target  # the killed group's reservation was rolled back

    client = RoleClient(app, ADMIN)
    row = _wait(lambda: _shown_failed(client, task_id), STALE_SECONDS + 15, "任务中心 to show 失败", step=0.5)
    assert tasks.STALE_MESSAGE in row
    assert client.post(f"/tasks/retry/{task_id}").status_code == 302  # 重试
    new = db.session.scalar(select(Task).where(Task.retry_of_id == task_id))
    _wait_burst(_start_worker(fresh, burst=True))
    new = _task(new.id)
    assert new.state == TaskState.SUCCEEDED.value, new.error
    assert new.summary == {"已毕业": confirmed - before_target}

    published = _rows("SELECT a.student_id, a.diploma_no, a.published_task_id, s.status FROM graduation_audit a "
                      "JOIN student s ON s.id = a.student_id WHERE a.published_at IS NOT NULL")
    expected = {r.id for g in groups for r in g}
    assert {r.student_id for r in published} == expected
    assert all(r.diploma_no for r in published) and {r.status for r in published} == {"graduated"}
    assert _one("SELECT COUNT(*) FROM student WHERE status = 'graduated'") == confirmed
    numbers = [r.diploma_no for r in published]
    assert len(set(numbers)) == len(numbers)
    by_prefix: dict[str, list[int]] = {}
    for n in numbers:
        by_prefix.setdefault(n[:-6], []).append(int(n[-6:]))
    counters = dict(_rows("SELECT prefix, last_value FROM certificate_counter"))
    for prefix, seqs in by_prefix.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), prefix  # gap-free from 1
        assert counters[prefix] == len(seqs), prefix
    number_of = {r.student_id: r.diploma_no for r in published}
    task_of = {r.student_id: r.published_task_id for r in published}
    for i, group in enumerate(groups):
        nos = [number_of[r.id] for r in group]
        assert nos == sorted(nos), f"group {i} not numbered in 学号 order"
        assert {task_of[r.id] for r in group} == {task_id if i < target else new.id}
    logs = Counter(r[0] for r in _rows("SELECT student_id FROM operation_log WHERE action = 'graduation_publish'"))
    assert set(logs) == expected and set(logs.values()) == {1}
    print(f"\npublish: {confirmed} confirmed in {len(groups)} groups; killed inside group {target} "
          f"with {before_target} committed; {dict((p, len(s)) for p, s in by_prefix.items())}")


def test_worker_killed_inside_a_degree_publish_transaction_leaves_no_degree_number_used_or_skipped(fresh):
    """学位发布 of ≈3,000 final applications in two batches (two number prefixes); the worker is SIGKILLed
    inside the transaction of its third slice of 500.

    The setup marks the applications of sites 101–103 已达标, 初审 同意 and 终审 with one SQL UPDATE (the
    service path needs a graduation audit, a signed 初审 per site and a 终审 per college first). A row lock the
    test holds on the slice's last application stops the worker after it has numbered the rest of the slice
    and advanced the counter, uncommitted. After the kill nothing of that slice is committed; 重试 on
    任务中心 publishes every final application once, with degree numbers unique and gap-free per prefix in
    发布's order, and one log entry per application.
    """
    app = fresh.app
    actor = _admin()
    db.session.execute(text("UPDATE degree_application SET result = 'unaudited', review_opinion = NULL, "
                            "reviewed_by_id = NULL, reviewed_at = NULL, final_at = NULL, final_by_id = NULL, "
                            "published_at = NULL, published_task_id = NULL, degree_no = NULL, granted_on = NULL"))
    db.session.execute(text(
        "UPDATE degree_application a SET result = 'met', computed_result = 'met', review_opinion = 'agree', "
        "reviewed_by_id = :u, reviewed_at = now(), final_at = now(), final_by_id = :u FROM student s "
        "WHERE s.id = a.student_id AND s.site_id BETWEEN 101 AND 103"), {"u": actor.id})
    db.session.commit()
    # 发布's order: by batch, 教学点, 学号; it commits every 500 applications
    ordered = _rows("SELECT a.id, a.batch_id, b.year, b.grant_date FROM degree_application a "
                    "JOIN student s ON s.id = a.student_id JOIN degree_batch b ON b.id = a.batch_id "
                    "WHERE a.final_at IS NOT NULL ORDER BY a.batch_id, s.site_id, s.student_no, a.id")
    final = len(ordered)
    assert final > 2000 and len({r.batch_id for r in ordered}) == 2
    committed = 2 * 500
    third = [r.id for r in ordered[committed:committed + 500]]
    locked_application = max(third)  # the ORM writes a slice in id order: this row is its last UPDATE

    with row_lock("SELECT id FROM degree_application WHERE id = :a FOR UPDATE", a=locked_application):
        task = degree.start_publish(actor)
        runner.submit(task)  # the 发布 button
        task_id = task.id
        worker = _start_worker(fresh)
        _wait_blocked_in_update(worker, "the publishing worker to wait on the locked application")
        assert _progress(task_id) == (committed, final, TaskState.RUNNING.value)
        assert len(_kill(worker)) == 2
    _wait(lambda: not _worker_backends(), 30, "the killed worker's backend to end")
    numbered = _rows("SELECT id, published_task_id FROM degree_application WHERE degree_no IS NOT NULL")
    assert {r.id for r in numbered} == {r.id for r in ordered[:committed]}
    assert {r.published_task_id for r in numbered} == {task_id}
    assert sum(dict(_rows("SELECT prefix, last_value FROM certificate_counter")).values()) == committed
    assert _one("SELECT COUNT(*) FROM operation_log WHERE action = 'degree_publish'") == committed

    client = RoleClient(app, ADMIN)
    row = _wait(lambda: _shown_failed(client, task_id), STALE_SECONDS + 15, "任务中心 to show 失败", step=0.5)
    assert tasks.STALE_MESSAGE in row
    assert client.post(f"/tasks/retry/{task_id}").status_code == 302  # 重试
    new = db.session.scalar(select(Task).where(Task.retry_of_id == task_id))
    _wait_burst(_start_worker(fresh, burst=True))
    new = _task(new.id)
    assert new.state == TaskState.SUCCEEDED.value, new.error
    assert new.summary == {"已发布": final - committed}

    published = {r.id: r for r in _rows("SELECT id, degree_no, granted_on, published_task_id FROM degree_application "
                                        "WHERE published_at IS NOT NULL")}
    assert set(published) == {r.id for r in ordered}
    numbers = [r.degree_no for r in published.values()]
    assert all(numbers) and len(set(numbers)) == len(numbers) == final
    counters = dict(_rows("SELECT prefix, last_value FROM certificate_counter"))
    school = app.config["SCHOOL_CODE"]
    for batch_id in {r.batch_id for r in ordered}:
        group = [r for r in ordered if r.batch_id == batch_id]
        prefix = numbering.degree_prefix(school, group[0].year)
        nos = [published[r.id].degree_no for r in group]
        # gap-free from 1, in 发布's order across the killed task and its retry
        assert nos == [f"{prefix}{n:06d}" for n in range(1, len(group) + 1)], prefix
        assert counters[prefix] == len(group), prefix
        assert {published[r.id].granted_on for r in group} == {group[0].grant_date}
    expected = [task_id] * committed + [new.id] * (final - committed)
    assert [published[r.id].published_task_id for r in ordered] == expected
    logs = Counter(r[0] for r in _rows("SELECT record_id FROM operation_log WHERE action = 'degree_publish'"))
    assert set(logs) == set(published) and set(logs.values()) == {1}
    print(f"\ndegree publish: {final} final applications in {len(counters)} prefixes; killed inside the third "
          f"slice with {committed} committed; {counters}")


# --------------------------------------------------------------------------- 3. PostgreSQL connection dropped


def test_database_connection_dropped_mid_chunk_fails_cleanly_and_the_rerun_matches_an_uninterrupted_audit(fresh):
    """毕业审核 of the 高起专 students (≈4,000) in chunks of 500 on a real worker; pg_terminate_backend on the
    worker's backend while it is inside the third chunk's transaction.

    To hit the transaction and not the gap between two (a connection dropped between transactions is
    replaced by the pool's pre-ping and nothing fails), the test holds a row lock on one result row of that
    chunk (a student with a manual override, so the audit updates the row instead of inserting it) and
    terminates the backend while it waits there, after its inserts. The task is 失败 with a Chinese message,
    no chunk is left 执行中, every chunk's committed snapshots and results are exactly its ``done``;
    ``runner.run`` on the failed task reruns only the unfinished chunks, and the outcome equals a fresh
    uninterrupted audit of the same students.
    """
    app = fresh.app
    actor = _admin()
    size = 500
    app.config["FANOUT_CHUNK_SIZE"] = size
    try:
        task = graduation.start_task("graduation_audit", actor=actor, scope=scope_of(actor), filters={"level": "gqz"})
        db.session.commit()
        task_id = task.id
        runner.run(task_id)  # fans out here (this app's chunk size) and queues one RQ job per chunk
    finally:
        app.config.pop("FANOUT_CHUNK_SIZE")
    total = _task(task_id).total
    chunks_n = _one("SELECT COUNT(*) FROM task_chunk WHERE task_id = :t", t=task_id)
    assert chunks_n == -(-total // size) >= 6
    third = [int(i) for i in _one("SELECT item_ids FROM task_chunk WHERE task_id = :t AND no = 2", t=task_id)]
    pinned = third[len(third) // 2]
    graduation.override([pinned], PRE, "教务处核实：成绩已补录", actor)
    db.session.commit()

    def terminate():
        waiting = [b for b in _worker_backends() if b.wait_event_type == "Lock"]
        return [b.pid for b in waiting if b.xid and _one("SELECT pg_terminate_backend(:p)", p=b.pid)]

    with row_lock("SELECT id FROM graduation_audit WHERE student_id = :s FOR UPDATE", s=pinned):
        worker = _start_worker(fresh, burst=True)
        terminated = _wait(terminate, 120, "the worker to wait on the pinned result row", worker)
    _wait_burst(worker)
    failed = _task(task_id)
    assert failed.state == TaskState.FAILED.value and failed.lock_key is None
    assert failed.error == runner.DB_LOST_MESSAGE, failed.error
    chunks = db.session.scalars(select(TaskChunk).where(TaskChunk.task_id == task_id).order_by(TaskChunk.no)).all()
    states = Counter(c.state for c in chunks)
    assert states[TaskState.FAILED.value] == 1 and not states[TaskState.RUNNING.value], states
    assert [c.no for c in chunks if c.state == TaskState.SUCCEEDED.value] == [0, 1]
    assert next(c for c in chunks if c.state == TaskState.FAILED.value).no == 2
    assert next(c for c in chunks if c.state == TaskState.FAILED.value).error == failed.error
    for c in chunks:
        ids = [int(i) for i in c.item_ids]
        snaps = _one("SELECT COUNT(*) FROM graduation_snapshot WHERE task_id = :t AND student_id = ANY(:ids)",
                     t=task_id, ids=ids)
        results = _one("SELECT COUNT(*) FROM graduation_audit WHERE computed_task_id = :t AND student_id = ANY(:ids)",
                       t=task_id, ids=ids)
        assert snaps == results == c.done, (c.no, c.state, c.done, snaps, results)
        assert (c.done == c.total) if c.state == TaskState.SUCCEEDED.value else c.done < c.total, (c.no, c.state)
    assert failed.done == sum(c.done for c in chunks)
    committed = (failed.done, states[TaskState.SUCCEEDED.value], failed.error)
    finished = {c.no: c.finished_at for c in chunks if c.state == TaskState.SUCCEEDED.value}

    runner.run(task_id)  # the failed task again: only its unfinished chunks are queued
    _wait_burst(_start_worker(fresh, burst=True))
    rerun = _task(task_id)
    assert rerun.state == TaskState.SUCCEEDED.value, rerun.error
    assert (rerun.done, rerun.total) == (total, total) and rerun.error is None
    db.session.expire_all()
    assert {c.no: c.finished_at for c in chunks if c.no in finished} == finished  # not redone
    results = dict(_rows("SELECT student_id, result FROM graduation_audit"))
    assert len(results) == total

    reference = _audit_inline(app, {"level": "gqz"})  # an uninterrupted audit of the same students

    def snapshots(tid):
        return _rows("SELECT student_id, result, reasons::text, passed_courses, earned_credits "
                     "FROM graduation_snapshot WHERE task_id = :t ORDER BY student_id", t=tid)

    assert snapshots(task_id) == snapshots(reference.id) and len(snapshots(task_id)) == total
    assert rerun.summary == reference.summary
    assert dict(_rows("SELECT student_id, result FROM graduation_audit")) == results
    logs = Counter(r[0] for r in _rows("SELECT task_id FROM operation_log WHERE action = 'graduation_audit'"))
    # one entry per changed student (all but the overridden one), from the interrupted task; none from the reference
    assert logs == {task_id: total - 1}
    assert results[pinned] == PRE
    print(f"\nconnection drop: terminated backend {terminated} with {committed[0]}/{total} committed "
          f"({committed[1]} of {chunks_n} chunks done); 任务中心 error: {committed[2]}")

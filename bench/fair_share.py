"""Fair share of the job queue, measured with real `rq worker` processes (issue 15).

    .venv/bin/python bench/fair_share.py --database-url postgresql://postgres@127.0.0.1:5432/gd_meas \\
        --students 100000 --reuse --redis-url redis://127.0.0.1:6379/8
    .venv/bin/python bench/fair_share.py --students 300 --redis-url redis://127.0.0.1:6379/8   # SQLite smoke

The scenario of the issue: 教学点 A's admin submits ``--burst`` 毕业生档案 exports of the whole site (every
student, all three documents, 毕业状态 全部 — the biggest export a site admin can start), one after the other
as fast as the service takes them; then 教学点 B's admin submits one small export (学位申请信息汇总表 of its
site). ``--workers`` real ``rq worker -w app.jobs.worker.AppWorker`` processes on a private queue run them.
Tasks are made by the same services the pages call (``exports.start_*`` → ``runner.submit``), so the fair
share (``ORG_OPEN_TASKS_MAX``, checked in ``tasks.create_task``) refuses A's submissions beyond its share
exactly as the page would.

Each mode runs on its own queue with fresh workers:

- ``alone``: B's export with nothing else queued (the reference);
- ``share``: today's fair share, ``ORG_OPEN_TASKS_MAX`` = ``--limit`` (config.py's default, 3);
- ``unlimited``: the limit lifted (``ORG_OPEN_TASKS_MAX`` = 0, the code before the fix: one FIFO queue);
- ``running``: the limit plus the workers' running share (``FAIR_SHARE_RUNNING``: a worker puts a task of an
  organisation back at the end of the queue while it runs more tasks than another one with a task waiting);
- ``running_only``: the running share without the limit (``ORG_OPEN_TASKS_MAX`` = 0).

``share`` and ``unlimited`` run their workers with ``FAIR_SHARE_RUNNING=0`` (plain FIFO, as before it).

Reported per mode: how many of A's submissions were accepted and refused, B's wait in the queue (the task's
``started_at`` − ``created_at``, both written by the app), B's end-to-end time (submit → 成功, as its admin
sees it in 任务中心) and its run time; A's exports still open when B finished are then failed (workers
stopped, queue emptied) so the next mode starts clean. Exit 1 when B's export did not succeed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import run as bench  # noqa: E402  (sets APP_MODE/INSTANCE_DIR and takes REDIS_URL out of the env)
from bench.soak import prepare  # noqa: E402  (the cohort, reused when it has the right size, else built)

MODES = ("alone", "share", "unlimited", "running", "running_only")
RUNNING_SHARE = {"alone": True, "share": False, "unlimited": False, "running": True, "running_only": True}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=100_000)
    p.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL"),
                   help="default: $BENCH_DATABASE_URL, else $DATABASE_URL, else a fresh SQLite file under bench/out/")
    p.add_argument("--reuse", action="store_true", help="keep a cohort of the same size (bench/run.py --reuse)")
    p.add_argument("--reset", action="store_true", help="wipe a database that holds data of another size")
    p.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL") or bench.REDIS_FROM_ENV,
                   help="Redis of the workers (required; default $BENCH_REDIS_URL, else $REDIS_URL)")
    p.add_argument("--workers", type=int, default=2, help="rq worker processes (default 2)")
    p.add_argument("--burst", type=int, default=10, help="archive exports site A submits (default 10)")
    p.add_argument("--limit", type=int, default=3, help="ORG_OPEN_TASKS_MAX in the 'share' mode (default 3)")
    p.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, in order (default {','.join(MODES)})")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for B's export per mode")
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := set(args.modes) - set(MODES):
        p.error(f"unknown modes {sorted(unknown)}")
    if not args.redis_url:
        p.error("needs --redis-url (or BENCH_REDIS_URL / REDIS_URL): the point is real rq workers")
    return args


def site_admin(site_id: int):
    """The admin account of a 教学点 (created once, as 账号管理 would)."""
    from app.extensions import db
    from app.models import Account
    from app.services.accounts import create_account
    from app.statuses import RoleName

    username = f"fair_site_{site_id}"
    acct = db.session.query(Account).filter_by(username=username).one_or_none()
    if acct is None:
        acct = create_account(username=username, name=f"公平{site_id}", role=RoleName.SITE_ADMIN,
                              mobile="13900000000", org_id=site_id, password=bench.PASSWORD,
                              must_change_password=False)
        db.session.commit()
    return acct


def site_students(site_id: int) -> int:
    from sqlalchemy import text

    from app.extensions import db

    return db.session.execute(text("SELECT COUNT(*) FROM student WHERE site_id = :s"), {"s": site_id}).scalar()


def submit_archive(actor) -> int:
    """毕业生档案 of every student of the actor's site, all documents, 毕业状态 全部; the task id."""
    from app.jobs import runner
    from app.security import scope_of
    from app.services import exports

    task = exports.start_archive_export(actor=actor, scope=scope_of(actor), filters={"graduated": exports.ALL_STATES},
                                        student_ids=None, documents=list(exports.DOCUMENTS))
    return runner.submit(task).id


def submit_summary(actor) -> int:
    """学位申请信息汇总表 of the actor's site (the page's default filter); the task id."""
    from app.jobs import runner
    from app.security import scope_of
    from app.services import exports

    task = exports.start_degree_summary_export(actor=actor, scope=scope_of(actor), filters={})
    return runner.submit(task).id


def task_rows(ids: list[int]) -> dict[int, dict]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Task

    db.session.rollback()  # a fresh snapshot: the workers write these rows
    rows = db.session.execute(select(Task.id, Task.state, Task.created_at, Task.started_at, Task.finished_at,
                                     Task.total, Task.error).where(Task.id.in_(ids))).all()
    return {r.id: r._asdict() for r in rows}


def run_mode(args, app, mode: str, site_a: int, site_b: int) -> dict:
    """One scenario on a private queue with fresh workers; A's leftovers failed afterwards."""
    from redis import Redis
    from rq import Queue

    from app.extensions import db
    from app.services import tasks
    from app.services.errors import DomainError

    queue = f"fair-{os.getpid()}-{mode}"
    limit = {"unlimited": 0, "running_only": 0}.get(mode, args.limit)
    saved = {k: app.config[k]
             for k in ("JOBS_MODE", "REDIS_URL", "RQ_QUEUE", "ORG_OPEN_TASKS_MAX", "FAIR_SHARE_RUNNING")}
    out: dict = {"mode": mode, "limit": limit or "none", "running_share": RUNNING_SHARE[mode], "workers": args.workers,
                 "load_before": os.getloadavg()}
    a_ids: list[int] = []
    os.environ["FAIR_SHARE_RUNNING"] = "1" if RUNNING_SHARE[mode] else "0"  # read by the workers' config.py
    with bench.rq_workers(args.database_url, args.redis_url, args.workers, queue, cold=True):
        app.config.update(JOBS_MODE="rq", REDIS_URL=args.redis_url, RQ_QUEUE=queue, ORG_OPEN_TASKS_MAX=limit,
                          FAIR_SHARE_RUNNING=RUNNING_SHARE[mode])
        try:
            a_admin, b_admin = site_admin(site_a), site_admin(site_b)
            refused: list[str] = []
            t0 = time.perf_counter()
            for _ in range(args.burst if mode != "alone" else 0):
                try:
                    a_ids.append(submit_archive(a_admin))
                except DomainError as exc:  # the fair share's 本单位已有 N 个任务… (Conflict)
                    db.session.rollback()
                    refused.append(exc.message)
            out["a_submit_seconds"] = time.perf_counter() - t0
            submitted = time.perf_counter()
            b_id = submit_summary(b_admin)
            picked = finished = None
            while time.perf_counter() - submitted < args.timeout:
                row = task_rows([b_id])[b_id]
                if picked is None and row["state"] != "queued":
                    picked = time.perf_counter()
                if row["state"] in ("succeeded", "failed"):
                    finished = time.perf_counter()
                    break
                time.sleep(0.05)
            rows = task_rows(a_ids + [b_id])
            b = rows[b_id]
            out.update(
                a_accepted=len(a_ids), a_refused=len(refused), a_refusal=refused[0] if refused else None,
                a_students_each=rows[a_ids[0]]["total"] if a_ids else 0,
                b_state=b["state"], b_error=b["error"], b_rows=b["total"],
                b_wait_seconds=(b["started_at"] - b["created_at"]).total_seconds() if b["started_at"] else None,
                b_run_seconds=((b["finished_at"] - b["started_at"]).total_seconds()
                               if b["finished_at"] and b["started_at"] else None),
                b_end_to_end_seconds=finished - submitted if finished else None,
                b_picked_after_seconds=picked - submitted if picked else None,
                a_done_when_b_finished=sum(1 for i in a_ids if rows[i]["state"] == "succeeded"),
                a_started_before_b=sum(1 for i in a_ids if rows[i]["started_at"] and b["started_at"]
                                       and rows[i]["started_at"] <= b["started_at"]),
                a_export_seconds=sorted(round((rows[i]["finished_at"] - rows[i]["started_at"]).total_seconds(), 1)
                                        for i in a_ids if rows[i]["state"] == "succeeded"),
            )
        finally:
            app.config.update(saved)
    # the workers are gone: fail what A still has open and drop the queue, so the next mode starts clean
    for task_id, row in task_rows(a_ids).items():
        if row["state"] in ("queued", "running"):
            tasks.fail(task_id, "fair_share: stopped after the measurement")
    Queue(queue, connection=Redis.from_url(args.redis_url)).empty()
    out["load_after"] = os.getloadavg()
    return out


def fmt(value, unit: str = " s") -> str:
    return "—" if value is None else f"{value:.1f}{unit}"


def print_report(figures: dict) -> None:
    print()
    print(f"fair share: {figures['students']:,} students on {figures['database']}; {figures['workers']} rq workers; "
          f"site A ({figures['site_a']}: {figures['site_a_students']:,} students) submits {figures['burst']} "
          f"毕业生档案 exports of the whole site, then site B ({figures['site_b']}) one 学位申请信息汇总表")
    head = ("mode", "ORG_OPEN_TASKS_MAX", "running share", "A accepted / refused", "B waited in queue", "B end to end",
            "B ran",
            "A done when B finished", "load before → after")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for r in figures["modes"]:
        share = "on" if r["running_share"] else "off"
        print(f"| {r['mode']} | {r['limit']} | {share} | {r['a_accepted']} / {r['a_refused']} | "
              f"{fmt(r['b_wait_seconds'])} | "
              f"{fmt(r['b_end_to_end_seconds'])} | {fmt(r['b_run_seconds'])} | {r['a_done_when_b_finished']} | "
              f"{r['load_before'][0]:.2f} → {r['load_after'][0]:.2f} |")
    for r in figures["modes"]:
        if r["a_export_seconds"]:
            print(f"  {r['mode']}: A's exports that finished took {r['a_export_seconds']} s each "
                  f"({r['a_students_each']:,} students)")
        if r["a_refusal"]:
            print(f"  {r['mode']}: A was told: {r['a_refusal']}")
        if r["b_state"] != "succeeded":
            print(f"  {r['mode']}: B's export {r['b_state']}: {r['b_error']}")


def main(argv=None) -> int:
    args = parse_args(argv)
    import logging
    import re

    logging.disable(logging.INFO)
    app, cohort = prepare(args)
    site_a, site_b = cohort.sites[0], cohort.sites[1]
    figures: dict = {"students": cohort.students, "database": re.sub(r"//[^@/]*@", "//", args.database_url),
                     "workers": args.workers, "burst": args.burst, "site_a": site_a, "site_b": site_b,
                     "machine": bench.machine(), "modes": []}
    with app.app_context():
        figures["site_a_students"] = site_students(site_a)
        for mode in args.modes:
            print(f"  {mode}…", flush=True)
            figures["modes"].append(run_mode(args, app, mode, site_a, site_b))
    print_report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2, default=str))
    return 0 if all(r["b_state"] == "succeeded" for r in figures["modes"]) else 1


if __name__ == "__main__":
    sys.exit(main())

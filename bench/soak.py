"""Soak: logged-in users of every admin role browse the list pages while a 毕业审核 of all students runs.

    make soak DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gd_soak REDIS_URL=redis://127.0.0.1:6379/0
    .venv/bin/python bench/soak.py --database-url postgresql://postgres@127.0.0.1:5432/gd_soak \\
        --students 20000 --reuse --redis-url redis://127.0.0.1:6379/11 --duration 60
    .venv/bin/python bench/soak.py --students 300 --users 5 --duration 5 --gunicorn-workers 2   # SQLite smoke

Loopback only and bounded: ``gunicorn -w 4 run:app`` on a free 127.0.0.1 port (bench/run.py's ``gunicorn``),
``--users`` threads that log in through the login form (a CE admin, site admins and college admins, created
if missing) and then, for ``--duration`` seconds, open 毕业审核管理 (filters, pages), 毕业审核详情, 毕业生列表,
学位申请审核管理 and its details, 学生学籍 and its records, 任务中心 (the CE admin also polls the audit's
progress) and 操作日志, pausing ``--think`` seconds on average between clicks. When the load starts, a
毕业审核 of every student starts too: on ``--redis-url`` one real ``rq worker`` (bench/run.py's
``fanned_out_audit``), otherwise a child process running the task as a worker would (``run_child``).

With ``--student-logins N`` (default 1,000) the publication-day peak comes on top: N distinct students arrive
at random moments within ``--student-window`` seconds (default 300), each opens the 学生登录 page, logs in
(the password check is the most expensive request the app serves), opens 学生空间 with its 毕业照片 and
毕业进度 (every plan course's standing), pauses and opens 学生空间 once more. Their accounts (学号 as the
login, ``bench.PASSWORD``, no forced change) are made once by ``create_account``, all with one hash made
beforehand by ``--student-hash`` (default: the app's ``PASSWORD_HASH_METHOD``, argon2id) — making 1,000 hashes
would take a while; verifying one at login costs the same whatever the salt. The load lasts at least the
window plus two pauses.

Reported: p50 / p95 / max latency and errors per page kind and overall (an error is any status other than
2xx/3xx, a redirect to the login page, or an exception), and whether the audit finished, in how long.
The cohort comes from bench/cohort.py; ``--reuse`` keeps one of the same size (only what jobs write is reset).
Exits 1 when a request failed or the audit did not succeed; ``--strict`` also when p95 exceeds ``--p95-ms`` or
a student kind misses its target (pages ``--student-p95-ms``, 1 s; login ``--login-p95-ms``, 2 s).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import run as bench  # noqa: E402  (sets APP_MODE/INSTANCE_DIR and takes REDIS_URL out of the env)

SITE_ADMINS, COLLEGE_ADMINS = 10, 5  # accounts created (at most); users share them
ROLES = ("ce", "site", "site", "college", "college")  # user i gets ROLES[i % 5]
KINDS = {  # page kind -> weight (how often a user opens it)
    "毕业审核管理": 24, "毕业审核详情": 10, "毕业生列表": 8, "学位申请审核管理": 14, "学位申请详情": 8,
    "学生学籍": 12, "学籍详情": 7, "任务中心": 8, "任务进度": 3, "操作日志": 6,
}
STUDENT_KINDS = ("学生登录页", "学生登录", "学生空间", "学生照片", "毕业进度")  # the students' requests, in their order


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=100_000)
    p.add_argument("--database-url", default=os.environ.get("SOAK_DATABASE_URL") or os.environ.get("DATABASE_URL"),
                   help="default: $SOAK_DATABASE_URL, else $DATABASE_URL, else a fresh SQLite file under bench/out/")
    p.add_argument("--reuse", action="store_true",
                   help="keep a cohort of the same size from an earlier run (bench/run.py --reuse); else build one")
    p.add_argument("--reset", action="store_true", help="wipe a database that holds data of another size")
    p.add_argument("--redis-url", default=os.environ.get("SOAK_REDIS_URL") or bench.REDIS_FROM_ENV,
                   help="run the audit on a real `rq worker` through this Redis (default $SOAK_REDIS_URL / "
                        "$REDIS_URL); without one, in a child process")
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    p.add_argument("--think", type=float, default=3.0,
                   help="mean pause between a user's clicks, seconds (uniform in 0.5×–1.5×; default 3, i.e. "
                        "1.5–4.5 s, like locust's between(1, 5))")
    p.add_argument("--gunicorn-workers", type=int, default=4)
    p.add_argument("--audit-timeout", type=float, default=3600.0, help="seconds to wait for the audit after the load")
    p.add_argument("--p95-ms", type=float, default=500.0, help="latency target (default 500 ms)")
    p.add_argument("--strict", action="store_true", help="also exit 1 when the overall p95 exceeds --p95-ms")
    p.add_argument("--student-logins", type=int, default=1000,
                   help="distinct students who log in and open 学生空间 during the load (default 1,000; 0: staff only)")
    p.add_argument("--student-window", type=float, default=300.0,
                   help="seconds over which the students arrive (default 300)")
    p.add_argument("--student-think", type=float, default=5.0,
                   help="mean pause of a student before opening 学生空间 again, seconds (default 5)")
    p.add_argument("--student-hash", help="hash method of the students' passwords (default: the app's "
                                          "PASSWORD_HASH_METHOD, argon2id), e.g. scrypt:32768:8:1")
    p.add_argument("--student-p95-ms", type=float, default=1000.0, help="students' page target (default 1,000 ms)")
    p.add_argument("--login-p95-ms", type=float, default=2000.0, help="students' login target (default 2,000 ms)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    return p.parse_args(argv)


# --------------------------------------------------------------------------- setup


def prepare(args):
    """The cohort (built, or reused when it has the right size) and the app bound to it."""
    from sqlalchemy import create_engine, inspect, text

    if args.database_url:
        engine = create_engine(args.database_url)
        with engine.connect() as conn:
            n = (conn.execute(text("SELECT COUNT(*) FROM student")).scalar()
                 if "student" in inspect(conn).get_table_names() else 0)
        engine.dispose()
        if args.reuse and n == args.students:
            return bench.reuse_cohort(args)
        if n and not args.reset:
            raise SystemExit(f"the database holds {n:,} students, not {args.students:,}: pass --reset to rebuild it")
        args.reset = True
    bench.prepare_database(args)
    return bench.build_schema_and_data(args)


@dataclass
class Account:
    username: str
    role: str
    org_id: int
    students: list[int] = field(default_factory=list)  # ids in scope, for the detail pages
    applications: list[int] = field(default_factory=list)


def accounts() -> list[Account]:
    """The bench's CE admin plus site and college admins (created once), with ids of their own rows."""
    from sqlalchemy import text

    from app.extensions import db
    from app.models import Account as Row
    from app.services.accounts import create_account
    from app.statuses import RoleName

    q = lambda sql, **kw: list(db.session.execute(text(sql), kw).scalars())  # noqa: E731
    out = [Account(bench.ADMIN, "ce", q("SELECT org_id FROM ab_user WHERE username = :u", u=bench.ADMIN)[0])]
    for kind, role, limit in (("site", RoleName.SITE_ADMIN, SITE_ADMINS), ("college", RoleName.COLLEGE_ADMIN,
                                                                            COLLEGE_ADMINS)):
        for org_id in q("SELECT id FROM organisation WHERE kind = :k ORDER BY id LIMIT :n", k=kind, n=limit):
            username = f"soak_{kind}_{org_id}"
            if not db.session.query(Row).filter_by(username=username).count():
                create_account(username=username, name=f"压测{username}", role=role, mobile="13900000000",
                               org_id=org_id, password=bench.PASSWORD, must_change_password=False)
            out.append(Account(username, kind, org_id))
    db.session.commit()
    batch = q("SELECT MAX(id) FROM degree_batch")[0]
    for acct in out:
        where = {"ce": "1 = 1", "site": "s.site_id = :o", "college": "s.college_id = :o"}[acct.role]
        acct.students = q(f"SELECT s.id FROM student s WHERE {where} ORDER BY s.id LIMIT 500", o=acct.org_id)
        acct.applications = q(f"SELECT a.id FROM degree_application a JOIN student s ON s.id = a.student_id "
                              f"WHERE a.batch_id = :b AND {where} ORDER BY a.id LIMIT 500", b=batch, o=acct.org_id)
    return out


def student_accounts(n: int, method: str | None) -> list[str]:
    """学号 of ``n`` enrolled students (every 教学点 in turn) with an account: ``bench.PASSWORD``, no forced change.

    Made once by ``create_account`` with one hash computed beforehand (see the module's docstring); an existing
    account whose hash has another method gets the new hash, so ``--student-hash`` applies to a reused cohort.
    """
    from unittest import mock

    from sqlalchemy import text

    from app.extensions import db
    from app.models import Account as Row
    from app.services import accounts as acc
    from app.services.passwords import configured_method, hash_password, needs_rehash
    from app.statuses import RoleName

    if n <= 0:
        return []
    method = method or configured_method()
    shared = hash_password(bench.PASSWORD, method=method)
    rows = db.session.execute(text("SELECT id, student_no, name, mobile FROM student WHERE status = 'enrolled' "
                                   "AND mobile IS NOT NULL ORDER BY id LIMIT :n"), {"n": n}).all()
    existing = {a.student_id: a for a in db.session.query(Row).filter(Row.student_id.in_([r.id for r in rows]))}
    with mock.patch.object(acc, "hash_password", lambda _password: shared):
        for r in rows:
            acct = existing.get(r.id)
            if acct is None:
                acc.create_account(username=r.student_no, name=r.name, role=RoleName.STUDENT, mobile=r.mobile,
                                   student_id=r.id, password=bench.PASSWORD, must_change_password=False)
            elif needs_rehash(acct.password, method):
                acct.password = shared
            elif acct.locked_until or acct.fail_login_count:
                acct.locked_until, acct.fail_login_count = None, 0
    db.session.commit()
    return [r.student_no for r in rows]


def filter_choices() -> dict:
    """Values the filter bars offer: sites, grades, levels, results, a few surnames."""
    from sqlalchemy import text

    from app.extensions import db

    q = lambda sql: list(db.session.execute(text(sql)).scalars())  # noqa: E731
    return {
        "site_id": q("SELECT id FROM organisation WHERE kind = 'site' ORDER BY id"),
        "enrol_grade": q("SELECT DISTINCT enrol_grade FROM student ORDER BY enrol_grade"),
        "level": ["gqb", "zsb", "gqz"],
        "result": ["unaudited", "pre_graduate", "failed"],
        "degree_result": ["unaudited", "met", "not_met"],
        "q": sorted({n[:1] for n in q("SELECT name FROM student ORDER BY id LIMIT 200")}),
    }


# --------------------------------------------------------------------------- the users


class Stats:
    """Latencies and errors per page kind, shared by the user threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.timeline: list[tuple[float, float]] = []  # (perf_counter at the start, seconds), measured clicks

    def add(self, kind: str, seconds: float, error: str | None, started: float | None = None) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if started is not None:
                self.timeline.append((started, seconds))
            if error:
                self.errors[kind] += 1
                if len(self.samples) < 20:
                    self.samples.append(f"{kind}: {error}")


def pick_url(rng: random.Random, acct: Account, choices: dict, audit_task: list[int]) -> tuple[str, str]:
    """One click: (page kind, path) for this account, with random filters and pages."""
    kinds = [k for k in KINDS if k != "任务进度" or (acct.role == "ce" and audit_task)]
    kind = rng.choices(kinds, [KINDS[k] for k in kinds])[0]
    page = rng.choice((0, 0, 0, 1, 2, 3, 10, 50))

    def some(*keys, prefix: str = "") -> str:
        params = {}
        for key in keys:
            if rng.random() < 0.35:
                if key == "site_id" and acct.role == "site":
                    continue
                params[key] = rng.choice(choices["degree_result" if kind.startswith("学位") and key == "result"
                                                  else key])
        return "&".join(f"{prefix}{k}={v}" for k, v in params.items())

    if kind == "毕业审核管理":
        # 毕业审核管理 and 毕业生列表 are FAB lists: FAB's filter and page arguments
        return kind, (f"/graduation/audit/?{some('site_id', 'enrol_grade', 'level', 'result', 'q', prefix='_flt_0_')}"
                      f"&page_GraduationAuditView={page}")
    if kind == "毕业审核详情":
        return kind, f"/graduation/audit/student/{rng.choice(acct.students)}"
    if kind == "毕业生列表":
        return kind, (f"/graduation/graduates/?{some('site_id', 'level', 'q', prefix='_flt_0_')}"
                      f"&page_GraduateListView={page}")
    if kind == "学位申请审核管理":
        return kind, f"/degree/audit/?{some('site_id', 'level', 'result', 'q')}&page={page + 1}"
    if kind == "学位申请详情" and acct.applications:
        return kind, f"/degree/audit/application/{rng.choice(acct.applications)}"
    if kind == "学生学籍":
        return kind, f"/students/list/?page_StudentView={page}"
    if kind == "学籍详情":
        return kind, f"/students/show/{rng.choice(acct.students)}"
    if kind == "任务进度":
        return kind, f"/tasks/status?ids={audit_task[0]}"
    if kind == "操作日志":
        return kind, f"/oplog/list/?page_OperationLogView={page}"
    return "任务中心", f"/tasks/?page={1 + page % 3}"


def browse(base: str, acct: Account, seed: int, args, choices: dict, start: threading.Barrier, stop: threading.Event,
           stats: Stats, audit_task: list[int]) -> None:
    """One user: log in, open each page kind once (warm-up, not measured), wait for everyone, click until ``stop``."""
    import requests

    rng = random.Random(seed)
    try:
        session = bench.login(base, acct.username, bench.PASSWORD)
        warm: set[str] = set()
        for _ in range(100):  # until each kind it can open was opened once (任务进度 needs the audit's task)
            kind, path = pick_url(rng, acct, choices, [])
            if kind not in warm:
                session.get(base + path, allow_redirects=False, timeout=120)
                warm.add(kind)
    except BaseException as exc:  # noqa: BLE001  (counted; the barrier must not wait for this user)
        stats.add("登录", 0.0, f"{type(exc).__name__}: {exc}")
        start.abort()
        return
    try:
        start.wait()
    except threading.BrokenBarrierError:  # another user could not log in: the soak is called off
        return
    stop.wait(rng.uniform(0, args.think))  # users arrive spread out, not as one burst of simultaneous clicks
    while not stop.is_set():
        kind, path = pick_url(rng, acct, choices, audit_task)
        t0 = time.perf_counter()
        error = None
        try:
            r = session.get(base + path, allow_redirects=False, timeout=60)
            if r.is_redirect and "/login" in r.headers.get("Location", ""):
                error = f"{path} → {r.status_code} to the login page"
            elif not 200 <= r.status_code < 400:
                error = f"{path} → {r.status_code}"
        except requests.RequestException as exc:
            error = f"{path} → {type(exc).__name__}: {exc}"
        stats.add(kind, time.perf_counter() - t0, error, t0)
        stop.wait(args.think * rng.uniform(0.5, 1.5))


def student_visit(base: str, student_no: str, rng: random.Random, args, stats: Stats) -> None:
    """One student on publication day: 学生登录 page, login, 学生空间 with its photo, 毕业进度, a pause, 学生空间
    (and photo) again."""
    import requests

    session = requests.Session()

    def timed(kind: str, method: str, path: str, **kw):
        t0 = time.perf_counter()
        error, r = None, None
        try:
            r = session.request(method, base + path, allow_redirects=False, timeout=60, **kw)
            if kind != "学生登录" and r.is_redirect and "/login" in r.headers.get("Location", ""):
                error = f"{path} → {r.status_code} to the login page"
            elif not 200 <= r.status_code < 400:
                error = f"{path} → {r.status_code}"
            elif kind == "学生登录" and (r.status_code != 302 or "/login" in r.headers.get("Location", "")):
                error = f"login of {student_no} refused ({r.status_code} → {r.headers.get('Location')})"
        except requests.RequestException as exc:
            error = f"{path} → {type(exc).__name__}: {exc}"
        stats.add(kind, time.perf_counter() - t0, error, t0)
        return None if error else r

    page = timed("学生登录页", "GET", "/login/?type=student")
    if page is None:
        return
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    if token is None:
        stats.add("学生登录页", 0.0, "no CSRF token on the 学生登录 page")
        return
    if timed("学生登录", "POST", "/login/?type=student", data={
            "username": student_no, "password": bench.PASSWORD, "login_type": "student",
            "csrf_token": token.group(1)}) is None:
        return
    for visit in range(2):
        space = timed("学生空间", "GET", "/space/")
        if space is None:
            return
        if "/space/photo/view" in space.text:
            timed("学生照片", "GET", "/space/photo/view")
        if visit == 0:
            if timed("毕业进度", "GET", "/space/progress") is None:
                return
            time.sleep(args.student_think * rng.uniform(0.5, 1.5))


def students_arrive(base: str, numbers: list[str], args, stats: Stats, stop: threading.Event,
                    visits: list[threading.Thread]) -> None:
    """Each student at a random moment of the window (uniform, i.e. a Poisson-like stream), in its own thread."""
    rng = random.Random(args.seed * 1000 + 17)
    t0 = time.perf_counter()
    for at, number in sorted((rng.uniform(0, args.student_window), n) for n in numbers):
        if stop.wait(max(0.0, t0 + at - time.perf_counter())):
            return
        t = threading.Thread(target=student_visit, args=(base, number, random.Random(number), args, stats),
                             daemon=True, name=f"student-{number}")
        t.start()
        visits.append(t)


# --------------------------------------------------------------------------- the audit


def run_audit(args, app, audit_task: list[int], result: dict) -> None:
    """毕业审核 of every student, on one `rq worker` (Redis) or in a child process; timed to its end."""
    t0 = time.perf_counter()
    result["started"] = t0
    try:
        with app.app_context():
            bench.reset_audit_results()
            if args.redis_url:
                rep = bench.fanned_out_audit(args, app, 1)
                result.update(mode="1 rq worker", **rep)
            else:
                task_id = bench.new_task("graduation_audit")
                audit_task.append(task_id)
                rep = bench.run_child(args, "audit", task_id)
                result.update(mode="child process", **rep)
        result["state"] = "succeeded"
    except BaseException as exc:  # noqa: BLE001  (reported: the soak must still stop its users)
        result.update(state="failed", error=f"{type(exc).__name__}: {exc}")
    result["ended"] = time.perf_counter()
    result["wall"] = result["ended"] - t0


def last_task_id(app) -> int:
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        return db.session.execute(text("SELECT COALESCE(MAX(id), 0) FROM task")).scalar()


def watch_audit_task(app, after: int, audit_task: list[int], done: threading.Event) -> None:
    """In rq mode the task is made inside ``fanned_out_audit``: find its id for the CE admin's 任务进度 clicks."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        while not done.is_set() and not audit_task:
            found = db.session.execute(text("SELECT MIN(id) FROM task WHERE kind = 'graduation_audit' AND id > :a"),
                                       {"a": after}).scalar()
            db.session.rollback()
            if found:
                audit_task.append(found)
            done.wait(0.2)


# --------------------------------------------------------------------------- report


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def during_and_after(stats: Stats, audit: dict) -> dict:
    """Overall latency of the clicks made while the audit ran and of those after it (the audit's share)."""
    end = audit.get("ended", float("inf"))
    out = {}
    for name, keep in (("while the audit ran", lambda t: t < end), ("after the audit", lambda t: t >= end)):
        times = [s for t, s in stats.timeline if keep(t)]
        out[name] = {"requests": len(times), "p50_ms": percentile(times, 50) * 1000,
                     "p95_ms": percentile(times, 95) * 1000, "max_ms": max(times, default=0) * 1000}
    return out


def summarise(stats: Stats, seconds: float) -> dict:
    rows = {}
    everything: list[float] = []
    for kind in list(KINDS) + list(STUDENT_KINDS) + ["登录"]:
        times = stats.times.get(kind, [])
        if not times and not stats.errors.get(kind):
            continue
        everything += times if kind not in ("登录", "学生登录") else []  # overall: the pages, not the logins
        rows[kind] = {"requests": len(times), "errors": stats.errors.get(kind, 0),
                      "p50_ms": percentile(times, 50) * 1000, "p95_ms": percentile(times, 95) * 1000,
                      "max_ms": max(times, default=0) * 1000}
    total_errors = sum(stats.errors.values())
    rows["overall"] = {"requests": len(everything), "errors": total_errors,
                       "p50_ms": percentile(everything, 50) * 1000, "p95_ms": percentile(everything, 95) * 1000,
                       "max_ms": max(everything, default=0) * 1000,
                       "per_second": len(everything) / seconds if seconds else 0}
    return rows


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def print_report(args, figures: dict) -> None:
    rows = figures["pages"]
    head = ("page", "requests", "errors", "p50 ms", "p95 ms", "max ms")
    body = [(k, f"{r['requests']:,}", str(r["errors"]), f"{r['p50_ms']:.0f}", f"{r['p95_ms']:.0f}",
             f"{r['max_ms']:.0f}") for k, r in rows.items()]
    widths = [max(_width(str(r[i])) for r in [head, *body]) for i in range(len(head))]
    pad = lambda t, w: str(t) + " " * (w - _width(str(t)))  # noqa: E731
    print()
    print(f"soak: {figures['students']:,} students on {figures['database']}; {figures['users']} users "
          f"({figures['roles']}), gunicorn -w {args.gunicorn_workers}, {figures['seconds']:.0f} s of load, "
          f"think {args.think:g} s; load average {figures['load']['before'][0]:.2f} → "
          f"{figures['load']['after'][0]:.2f}")
    print("| " + " | ".join(pad(h, w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in body:
        print("| " + " | ".join(pad(c, w) for c, w in zip(r, widths, strict=True)) + " |")
    o = rows["overall"]
    met = "met" if o["p95_ms"] <= args.p95_ms else "MISSED"
    print(f"throughput {o['per_second']:.1f} requests/s; errors {o['errors']}; "
          f"p95 {o['p95_ms']:.0f} ms (target ≤ {args.p95_ms:.0f} ms: {met})")
    if figures.get("student_logins"):
        verdicts = []
        for kind in STUDENT_KINDS:
            r = rows.get(kind)
            target = args.login_p95_ms if kind == "学生登录" else args.student_p95_ms
            if r:
                verdicts.append(f"{kind} p95 {r['p95_ms']:.0f} ms (≤ {target:.0f}: "
                                f"{'met' if r['p95_ms'] <= target and not r['errors'] else 'MISSED'})")
        print(f"students: {figures['student_logins']:,} logins within {args.student_window:.0f} s, passwords "
              f"{figures['student_hash']}; " + "; ".join(verdicts))
    for name, r in figures["split"].items():
        if r["requests"]:
            print(f"  {name}: {r['requests']:,} requests, p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, "
                  f"max {r['max_ms']:.0f} ms")
    a = figures["audit"]
    if a.get("state") == "succeeded":
        print(f"毕业审核 ({a['mode']}): succeeded, job {a['seconds']:.1f} s ({a['wall']:.1f} s from the start of the "
              f"load, worker start-up included), {'within' if a['finished_during_load'] else 'after'} the load window; "
              f"{json.dumps(a.get('summary'), ensure_ascii=False)}")
    else:
        print(f"毕业审核: {a.get('state', 'not finished')} {a.get('error', '')}")
    for sample in figures["error_samples"]:
        print(f"  error: {sample}")


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse_args(argv)
    import logging

    logging.disable(logging.INFO)
    app, cohort = prepare(args)
    if args.student_logins and args.duration < args.student_window + 2 * args.student_think:
        args.duration = args.student_window + 2 * args.student_think  # every student comes while the staff work
    with app.app_context():
        accts = accounts()
        choices = filter_choices()
        students = student_accounts(args.student_logins, args.student_hash)
        student_hash = args.student_hash or app.config["PASSWORD_HASH_METHOD"]
    users, taken = [], Counter()
    for i in range(args.users):  # the roles in turn, and within a role the accounts in turn
        role = ROLES[i % len(ROLES)]
        pool = [a for a in accts if a.role == role]
        users.append(pool[taken[role] % len(pool)])
        taken[role] += 1
    env = {"AUTH_RATE_LIMIT": "100000 per minute"}  # the users all log in from 127.0.0.1 within seconds
    if args.redis_url:  # as in production; the users only read, the audit's queue is fanned_out_audit's
        env.update(REDIS_URL=args.redis_url, JOBS_MODE="rq", RQ_QUEUE=f"bench-{os.getpid()}")
    stats, stop = Stats(), threading.Event()
    start = threading.Barrier(args.users + 1)
    audit_task: list[int] = []
    audit: dict = {}
    load_before = os.getloadavg()
    with bench.gunicorn(args.database_url, workers=args.gunicorn_workers, env=env) as base:
        threads = [threading.Thread(target=browse, daemon=True, name=f"user-{i}",
                                    args=(base, acct, args.seed + i, args, choices, start, stop, stats, audit_task))
                   for i, acct in enumerate(users)]
        for t in threads:
            t.start()
        try:
            start.wait(timeout=300)
        except threading.BrokenBarrierError:
            stop.set()
            raise SystemExit(f"users could not log in: {stats.samples[:3]}") from None
        t0 = time.perf_counter()
        after = last_task_id(app)
        auditor = threading.Thread(target=run_audit, args=(args, app, audit_task, audit), daemon=True)
        auditor.start()
        visits: list[threading.Thread] = []
        arrivals = threading.Thread(target=students_arrive, args=(base, students, args, stats, stop, visits),
                                    daemon=True)
        arrivals.start()
        done = threading.Event()
        if args.redis_url:
            threading.Thread(target=watch_audit_task, args=(app, after, audit_task, done), daemon=True).start()
        stop.wait(args.duration)
        stop.set()
        load_end = time.perf_counter()
        arrivals.join(timeout=5)
        for t in threads + visits:
            t.join(timeout=90)
        seconds = load_end - t0
    auditor.join(timeout=args.audit_timeout)  # gunicorn is stopped: an audit still running has the machine
    done.set()
    if auditor.is_alive():
        audit.setdefault("state", "not finished")
        audit["error"] = f"still running {args.audit_timeout:.0f} s after the load"
    audit["finished_during_load"] = audit.get("ended", float("inf")) <= load_end
    split = during_and_after(stats, audit)
    for key in ("started", "ended"):
        audit.pop(key, None)
    figures = {
        "students": cohort.students, "database": re.sub(r"//[^@/]*@", "//", args.database_url),
        "users": args.users, "roles": ", ".join(f"{sum(u.role == r for u in users)} {r}" for r in ("ce", "site",
                                                                                                  "college")),
        "seconds": seconds, "pages": summarise(stats, seconds), "audit": audit, "split": split,
        "student_logins": len(stats.times.get("学生登录", [])), "student_hash": student_hash,
        "error_samples": stats.samples, "load": {"before": load_before, "after": os.getloadavg()},
        "machine": bench.machine(),
    }
    print_report(args, figures)
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2, default=str))
    ok = figures["pages"]["overall"]["errors"] == 0 and audit.get("state") == "succeeded"
    if args.strict and figures["pages"]["overall"]["p95_ms"] > args.p95_ms:
        ok = False
    for kind in STUDENT_KINDS if args.strict else ():
        r = figures["pages"].get(kind)
        if r and r["p95_ms"] > (args.login_p95_ms if kind == "学生登录" else args.student_p95_ms):
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

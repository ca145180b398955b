"""CPU cost of each request of the soak's student mix, in-process (one thread, Flask's test client).

    .venv/bin/python bench/student_cost.py --database-url postgresql://postgres@127.0.0.1:5432/gd_meas --students 40
    .venv/bin/python bench/student_cost.py --database-url … --students 20 --hash scrypt:131072:8:1

Uses the student accounts ``bench/soak.py`` made (run it once first); ``--hash`` gives the first ``--students`` of
them a password hash made with that method, argon2id:… or a werkzeug one (the soak resets them to its own
``--student-hash``).
``time.process_time`` is this process's CPU time, so the figures hold up better than wall times on a shared
machine (PostgreSQL's own CPU is not in them). docs/RELIABILITY.md §10.3.
"""
from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import run as bench  # noqa: E402

KINDS = ("学生登录页", "学生登录", "学生空间", "学生照片", "毕业进度")


def visit(client, student_no: str, cpu: dict[str, list[float]]) -> None:
    """The soak's student: 学生登录 page, login, 学生空间 (+ photo) twice, 毕业进度 once; CPU per request."""
    def timed(kind, method, path, **kw):
        t0 = time.process_time()
        r = client.open(path, method=method, **kw)
        cpu[kind].append(time.process_time() - t0)
        if not 200 <= r.status_code < 400:
            raise SystemExit(f"{kind} of {student_no}: {r.status_code}")
        return r

    page = timed("学生登录页", "GET", "/login/?type=student")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    r = timed("学生登录", "POST", "/login/?type=student", data={
        "username": student_no, "password": bench.PASSWORD, "login_type": "student", "csrf_token": token})
    if "/login" in r.headers.get("Location", ""):
        raise SystemExit(f"login of {student_no} refused")
    for n in range(2):
        space = timed("学生空间", "GET", "/space/")
        if "/space/photo/view" in space.get_data(as_text=True):
            timed("学生照片", "GET", "/space/photo/view")
        if n == 0:
            timed("毕业进度", "GET", "/space/progress")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", required=True)
    p.add_argument("--students", type=int, default=40)
    p.add_argument("--hash", help="method for these students' password hash: argon2id:<m>:<t>:<p> or a werkzeug one "
                                  "(e.g. scrypt:32768:8:1)")
    args = p.parse_args(argv)
    logging.disable(logging.WARNING)
    from sqlalchemy import text

    from app import create_app
    from app.services.passwords import hash_password

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "JOBS_MODE": "inline", "REDIS_URL": None,
                      "STORAGE_DIR": str(bench.OUT / "storage"), "RATELIMIT_ENABLED": False})
    with app.app_context():
        from app.extensions import db

        nos = list(db.session.execute(text("SELECT username FROM ab_user WHERE student_id IS NOT NULL ORDER BY id "
                                           "LIMIT :n"), {"n": args.students}).scalars())
        if not nos:
            raise SystemExit("no student accounts: run bench/soak.py once on this database first")
        if args.hash:
            db.session.execute(text("UPDATE ab_user SET password = :h WHERE username = ANY(:u)"),
                               {"h": hash_password(bench.PASSWORD, method=args.hash), "u": nos})
            db.session.commit()
        method = db.session.execute(text("SELECT password FROM ab_user WHERE username = :u"),
                                    {"u": nos[0]}).scalar()
        method = method.split("$")[0] or "$".join(method.split("$")[1:4])  # "scrypt:…$…" or "$argon2id$v=19$m=…"
    cpu: dict[str, list[float]] = {k: [] for k in KINDS}
    for no in nos:
        visit(app.test_client(), no, cpu)
    print(f"{len(nos)} students, password hash {method}")
    for kind in KINDS:
        print(f"  {kind}: {len(cpu[kind])} requests, CPU median {statistics.median(cpu[kind]) * 1000:.1f} ms")
    per_visit = sum(sum(v) for v in cpu.values()) / len(nos)
    print(f"  one visit (all its requests): {per_visit * 1000:.0f} ms CPU; 1,000 visits in 300 s need "
          f"{per_visit * 1000 / 300:.2f} cores")


if __name__ == "__main__":
    main()

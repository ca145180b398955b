"""The soak script keeps working: a tiny run (300 students, 5 users, 20 students logging in, 5 s) on a temporary
SQLite file.

With TEST_REDIS_URL (CI sets it) the audit runs on a real `rq worker`, as `make soak` runs it; without it, in
the child process bench/run.py uses. Latency is not asserted here (it depends on the machine), errors are.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def test_tiny_soak_browses_every_page_kind_without_errors_while_the_audit_runs(tmp_path):
    """Users of the three admin roles log in and browse while students log in and open 学生空间; no request fails
    and the 毕业审核 of everyone succeeds."""
    env = dict(os.environ, BENCH_OUT=str(tmp_path / "out"), INSTANCE_DIR=str(tmp_path / "instance"), APP_MODE="demo")
    for name in ("DATABASE_URL", "BENCH_DATABASE_URL", "SOAK_DATABASE_URL", "REDIS_URL", "SOAK_REDIS_URL"):
        env.pop(name, None)
    cmd = [sys.executable, "bench/soak.py", "--students", "300", "--users", "5", "--duration", "5",
           "--gunicorn-workers", "2", "--think", "0.3", "--database-url", f"sqlite:///{tmp_path}/soak.db",
           "--audit-timeout", "300", "--json", str(tmp_path / "soak.json"),
           "--student-logins", "20", "--student-window", "4", "--student-think", "0.3"]
    if REDIS_URL:
        cmd += ["--redis-url", REDIS_URL]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]

    figures = json.loads((tmp_path / "soak.json").read_text())
    pages = figures["pages"]
    assert pages["overall"]["errors"] == 0 and not figures["error_samples"]
    assert pages["overall"]["requests"] >= 20
    assert figures["roles"] == "1 ce, 2 site, 2 college"
    assert len(set(pages) - {"overall"}) >= 5, pages  # several page kinds, not one URL over and over
    assert 0 < pages["overall"]["p50_ms"] <= pages["overall"]["p95_ms"] <= pages["overall"]["max_ms"]
    audit = figures["audit"]
    assert audit["state"] == "succeeded", audit
    assert audit["mode"] == ("1 rq worker" if REDIS_URL else "child process")
    assert sum(audit["summary"].values()) == 300  # every student audited: 预毕业 + 不合格
    # the publication-day mix: 20 distinct students, each through the login page, the login, 学生空间 twice and 毕业进度
    assert figures["student_logins"] == 20 and figures["student_hash"] == "argon2id:19456:2:1"
    assert pages["学生登录页"]["requests"] == pages["学生登录"]["requests"] == 20
    assert pages["学生空间"]["requests"] == 40 and pages["学生照片"]["requests"] >= 20
    assert pages["毕业进度"]["requests"] == 20
    assert all(pages[k]["errors"] == 0 for k in ("学生登录页", "学生登录", "学生空间", "学生照片", "毕业进度"))
    assert "students: 20 logins within 4 s" in out.stdout and "学生登录 p95" in out.stdout
    assert "| page" in out.stdout and "毕业审核管理" in out.stdout and "p95" in out.stdout

"""Browser tests: the app started as in production (gunicorn + `rq worker` + Redis when available,
else the embedded server with in-process jobs) on a free port with fresh demo data, driven by
Playwright in Debian's Chromium. Every page visited is saved as a screenshot under tests/e2e/artifacts/.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]

if not os.path.exists(CHROMIUM):
    pytest.skip("browser tests need Debian's chromium (/usr/bin/chromium); `apt-get install chromium` (CI does)",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args, env, timeout=600):
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args}: {out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="session")
def live_server():
    """Start the whole system once for the browser session; yields its base URL."""
    tmp = Path(tempfile.mkdtemp(prefix="gd-e2e-"))
    port = _free_port()
    redis_url = os.environ.get("TEST_REDIS_URL")
    env = dict(os.environ)
    env.update(
        APP_MODE="test",
        INSTANCE_DIR=str(tmp),
        STORAGE_DIR=str(tmp / "storage"),
        DATABASE_URL=f"sqlite:///{tmp}/e2e.db",
        FLASK_APP="run.py",
        SECRET_KEY=uuid.uuid4().hex,
        AUTH_RATE_LIMIT="10000 per minute",
    )
    env.pop("REDIS_URL", None)
    if redis_url:
        env.update(REDIS_URL=redis_url, RQ_QUEUE=f"e2e-{uuid.uuid4().hex[:8]}", JOBS_MODE="rq")
    else:
        env["JOBS_MODE"] = "thread"
    bin_dir = Path(sys.executable).parent
    _run([sys.executable, "-m", "flask", "db", "upgrade"], env)
    _run([sys.executable, "-m", "flask", "seed-demo", "--students", os.environ.get("E2E_STUDENTS", "400")], env)
    procs = []
    log = open(tmp / "server.log", "w")
    if redis_url:
        procs.append(subprocess.Popen([str(bin_dir / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "run:app"],
                                      cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True))
        procs.append(subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "--url", redis_url, env["RQ_QUEUE"]],
                                      cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True))
    else:
        procs.append(subprocess.Popen([sys.executable, "-m", "flask", "run", "--port", str(port)],
                                      cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True))
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(base + "/login/", timeout=2)
            break
        except Exception:
            time.sleep(0.5)
    else:
        raise RuntimeError("server did not start: " + (tmp / "server.log").read_text()[-3000:])
    yield base
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=10)
        except Exception:
            os.killpg(p.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Person:
    """One person at a browser: logs in through the login page and screenshots every page."""

    def __init__(self, browser, base: str, name: str):
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(20000)
        self.base = base
        self.name = name
        self.step = 0
        ARTIFACTS.mkdir(exist_ok=True)

    def shot(self, label: str) -> None:
        self.step += 1
        safe = re.sub(r"[^\w\-]+", "_", label)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}_{self.step:02d}_{safe}.png"), full_page=True)

    def goto(self, path: str, label: str | None = None):
        self.page.goto(self.base + path)
        self.shot(label or path)

    def login(self, username: str, password: str = "Demo@2024", student: bool = False) -> None:
        self.page.goto(self.base + "/login/")
        if student:
            self.page.click("text=学生登录")
        else:
            self.page.click("text=机构账号登录")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.shot("登录")
        self.page.click("input[type=submit]")
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, f"{username} could not log in"
        self.shot("首页")

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def person(browser, live_server, request):
    people = []

    def make(name: str) -> Person:
        p = Person(browser, live_server, f"{request.node.name}_{name}")
        people.append(p)
        return p

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for p in people:
        if failed:
            p.shot("FAILED")
            (ARTIFACTS / f"{p.name}_FAILED.html").write_text(p.page.content(), encoding="utf-8")
        p.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)

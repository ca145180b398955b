"""Browser tests: the app started as in production (gunicorn + `rq worker` + Redis when available,
else the embedded server with in-process jobs) on a free port with fresh demo data, driven by
Playwright in Debian's Chromium. Every page visited is saved as a screenshot under tests/e2e/artifacts/.
"""
from __future__ import annotations

import contextlib
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

NEEDS_CHROMIUM = "browser tests need Debian's chromium (/usr/bin/chromium); `apt-get install chromium` (CI does)"


def pytest_collection_modifyitems(config, items):
    """Without chromium: a skip mark on the browser tests on a laptop; in CI (CI_REQUIRE_SERVICES=1) a failure."""
    have_chromium = os.path.exists(CHROMIUM)
    if not have_chromium and os.environ.get("CI_REQUIRE_SERVICES"):
        raise pytest.UsageError(f"CI_REQUIRE_SERVICES is set but the {NEEDS_CHROMIUM}")
    needs_chromium = pytest.mark.skipif(not have_chromium, reason=NEEDS_CHROMIUM)
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(needs_chromium)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args, env, timeout=600):
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args}: {out.stderr[-3000:]}"
    return out


@contextlib.contextmanager
def running_server():
    """The whole system on a free port with fresh demo data; yields its base URL, stops it on exit."""
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
        procs.append(subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "-w", "app.jobs.worker.AppWorker",
                                       "--url", redis_url, env["RQ_QUEUE"]],
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
    try:
        yield base
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except Exception:
                os.killpg(p.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def live_server():
    """Start the whole system once for the browser session; yields its base URL."""
    with running_server() as base:
        yield base


@pytest.fixture(scope="session")
def start_server():
    """``running_server`` for a module that needs a system of its own (override ``live_server`` with it)."""
    return running_server


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


# English words Flask-AppBuilder shows when a translation is missing; none may appear on our pages.
ENGLISH_LEFTOVERS = re.compile(
    r"(?<![A-Za-z])(List|Add|Search|Record Count|Actions|Edit|Delete|Show|Back|Home|Security|Refresh|Cancel|OK|"
    r"Save|Submit|Login|Logout|Previous|Next|Page not found|No records found|Records|Filter|Select|Upload|Download|"
    r"User info|Profile|Reset Password)(?![A-Za-z])"
)
# All text of the page, hidden dialogs and menus included (they show on a click), scripts and styles excluded.
PAGE_TEXT_JS = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('script, style, noscript').forEach(e => e.remove());
  return body.textContent;
}"""
TASK_TIMEOUT = 60  # seconds a background task may take to show 处理成功 in 任务中心


def english_leftovers(text: str) -> list[str]:
    """The untranslated FAB words in a page's visible text."""
    return sorted({m.group(0) for m in ENGLISH_LEFTOVERS.finditer(text)})


class Person:
    """One person at a browser: logs in through the login page and screenshots every page.

    Every screenshot also checks the page's text (hidden dialogs and menus included) for English
    leftovers, so each page visited is asserted to be Chinese.
    """

    def __init__(self, browser, base: str, name: str):
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(20000)
        # what the nonce CSP blocked (an inline script or handler left without it) and uncaught script errors
        self.script_problems: list[str] = []
        self.page.on("console", lambda m: self.script_problems.append(m.text)
                     if m.type == "error" and "Content Security Policy" in m.text else None)
        self.page.on("pageerror", lambda e: self.script_problems.append(f"uncaught: {e}"))
        self.base = base
        self.name = name
        self.step = 0
        ARTIFACTS.mkdir(exist_ok=True)

    def shot(self, label: str, check: bool = True) -> None:
        """Save a full-page screenshot; unless ``check`` is off, fail on English words in the page."""
        self.step += 1
        safe = re.sub(r"[^\w\-]+", "_", label)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}_{self.step:02d}_{safe}.png"), full_page=True)
        assert not self.script_problems, \
            f"scripts refused or failing on {label} ({self.page.url}): {self.script_problems}"
        if check:
            left = english_leftovers(self.text())
            assert not left, f"English on the page {label} ({self.page.url}): {left}"

    def text(self) -> str:
        """All text of the current page, hidden dialogs, menus and options included."""
        return self.page.evaluate(PAGE_TEXT_JS)

    def menu(self, *labels: str) -> None:
        """Click through the navbar: a category (dropdown) then an item, or a top-level item."""
        nav = self.page.locator(".navbar")
        for text in labels[:-1]:
            nav.locator(".dropdown-toggle", has_text=text).click()
        nav.locator("a", has_text=re.compile(rf"^\s*{re.escape(labels[-1])}\s*$")).click()
        self.page.wait_for_load_state()
        self.shot(labels[-1])

    def flashes(self) -> str:
        """Text of the flashed messages on the current page."""
        return " ".join(t.strip() for t in self.page.locator(".alert").all_inner_texts())

    def confirm_click(self, locator, expect: str, label: str | None = None) -> str:
        """Click a button that opens a confirmation dialog, check its text, accept it; returns the flash."""
        messages: list[str] = []

        def accept(dialog):
            messages.append(dialog.message)
            dialog.accept()

        self.page.on("dialog", accept)
        try:
            locator.click()
            self.page.wait_for_load_state()
        finally:
            self.page.remove_listener("dialog", accept)
        assert messages, "no confirmation dialog appeared"
        assert expect in messages[0], messages[0]
        if label:
            self.shot(label)
        return self.flashes()

    def wait_task(self, kind: str, timeout: float = TASK_TIMEOUT) -> dict:
        """Open 任务中心 and watch the newest task of ``kind`` until it shows 处理成功.

        The page redraws open tasks itself every 2 s; it is reloaded now and then as a person would.
        Returns the row's id, progress text and summary.
        """
        self.menu("任务中心")
        row = self.page.locator("#task-table tbody tr", has_text=kind).first
        task_id = row.get_attribute("data-task-id")
        row = self.page.locator(f"#task-{task_id}")
        deadline = time.monotonic() + timeout
        reloads = 0
        while True:
            state = row.locator(".task-state").inner_text().strip()
            if state in ("处理成功", "失败") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
            reloads += 1
            if reloads % 10 == 0:
                self.page.reload()
        self.shot(f"任务中心_{kind}_{state}")
        assert state == "处理成功", f"task {task_id} ({kind}) is {state!r}: {row.inner_text()}"
        progress = row.locator(".task-bar").inner_text().strip()
        done, _, total = progress.partition("/")
        assert done == total, f"finished task shows progress {progress}"
        return {"id": int(task_id), "progress": progress, "summary": row.locator(".task-summary").inner_text(),
                "row": row}

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
            p.shot("FAILED", check=False)
            (ARTIFACTS / f"{p.name}_FAILED.html").write_text(p.page.content(), encoding="utf-8")
        p.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)

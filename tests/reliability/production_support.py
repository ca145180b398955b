"""What the production-recipe and restore-drill tests share: a fresh PostgreSQL database, the production
environment, the `flask` commands, gunicorn over TLS with a certificate made here, a real `rq worker`, and a
browser-like HTTPS session (CSRF token and Referer, as Flask-WTF's strict SSL check wants).

Both modules run when a PostgreSQL server is given (TEST_POSTGRES_URL, or TEST_DATABASE_URL when it is
PostgreSQL) with TEST_REDIS_URL; without them they are skipped, and with CI_REQUIRE_SERVICES=1 they fail.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_db_env = os.environ.get("TEST_DATABASE_URL", "")
PG_URL = os.environ.get("TEST_POSTGRES_URL") or (_db_env if _db_env.startswith("postgresql") else "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
HAVE_SERVICES = PG_URL.startswith("postgresql") and bool(REDIS_URL) and bool(shutil.which("openssl")) \
    and (BIN / "gunicorn").exists() and (BIN / "rq").exists()
NEEDS = "needs a PostgreSQL server (TEST_POSTGRES_URL or TEST_DATABASE_URL), TEST_REDIS_URL, openssl, gunicorn and rq"
REQUIRED = bool(os.environ.get("CI_REQUIRE_SERVICES"))


# the recipe and drill modules use this mark like the worker-fault tests: skipped on a laptop without the
# services, never in CI (CI_REQUIRE_SERVICES=1), where require_services() fails instead
NEEDS_SERVICES = pytest.mark.skipif(not HAVE_SERVICES and not REQUIRED, reason=NEEDS)


def require_services() -> None:
    """In CI (CI_REQUIRE_SERVICES=1) missing services fail the run (the module's skipif mark never applies there)."""
    if not HAVE_SERVICES:
        pytest.fail(f"CI_REQUIRE_SERVICES is set but this module {NEEDS}")


def database_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _admin_engine():
    return create_engine(database_url("postgres"), isolation_level="AUTOCOMMIT")


def create_database(prefix: str = "gd_prod_") -> str:
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return name


def drop_database(name: str) -> None:
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def production_env(database: str, storage: Path, queue: str) -> dict[str, str]:
    """The environment of deploy/gd.env.example, pointed at the test's database, storage and queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FLASK_", "APP_", "DATABASE_"))}
    env.update({
        "APP_MODE": "production", "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": database_url(database),
        "REDIS_URL": REDIS_URL, "STORAGE_DIR": str(storage), "RQ_QUEUE": queue, "FLASK_APP": "run.py",
        "PYTHONPATH": str(ROOT),
    })
    return env


def flask(env: dict[str, str], *args: str, timeout: int = 120) -> str:
    done = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"flask {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl; the cryptography package is not installed)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Site:
    """gunicorn over TLS plus one rq worker on a private queue, both children of the test."""

    env: dict[str, str]
    base: str
    cert: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


@contextmanager
def serve(env: dict[str, str], workdir: Path):
    """gunicorn --certfile/--keyfile and `rq worker -w app.jobs.worker.AppWorker`; yields when /healthz says ok."""
    import requests

    cert, key = make_certificate(workdir)
    port = free_port()
    site = Site(env=env, base=f"https://127.0.0.1:{port}", cert=cert)
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    try:
        site.procs.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--certfile", str(cert), "--keyfile",
             str(key), "--timeout", "120", "run:app"],
            cwd=ROOT, env=env, stdout=open(logs / "gunicorn.out", "w"), stderr=subprocess.STDOUT))
        site.procs.append(subprocess.Popen(
            [str(BIN / "rq"), "worker", "-w", "app.jobs.worker.AppWorker", "--url", env["REDIS_URL"],
             env["RQ_QUEUE"]],
            cwd=ROOT, env=env, stdout=open(logs / "worker.out", "w"), stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(site.base + "/healthz", verify=str(cert), timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in site.procs):
                pytest.fail("gunicorn did not come up:\n" + (logs / "gunicorn.out").read_text()[-3000:])
            time.sleep(0.3)
        yield site
    finally:
        site.stop()


_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A requests session over HTTPS that fills in the CSRF token of the page it came from."""

    def __init__(self, site: Site) -> None:
        import requests

        self.site = site
        self.s = requests.Session()
        # the test's own certificate is the CA; given per request (REQUESTS_CA_BUNDLE would override Session.verify)
        self.verify = str(site.cert)

    def get(self, path: str, **kw):
        return self.s.get(self.site.base + path, timeout=60, verify=self.verify, **kw)

    def token(self, path: str) -> str:
        page = self.get(path).text
        found = _TOKEN.search(page)
        assert found, f"no CSRF token on {path}: {page[:300]}"
        return found.group(1)

    def post(self, path: str, data: dict, *, form_page: str, files=None, **kw):
        data = {**data, "csrf_token": self.token(form_page)}
        return self.s.post(self.site.base + path, data=data, files=files, timeout=120, verify=self.verify,
                           headers={"Referer": self.site.base + form_page}, **kw)

    def login(self, username: str, password: str):
        return self.post("/login/?type=org", {"username": username, "password": password, "login_type": "org"},
                         form_page="/login/?type=org", allow_redirects=False)

    def first_login(self, username: str, initial: str, new: str) -> None:
        """Log in with the initial password, which leads to the forced change; change it."""
        resp = self.login(username, initial)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password"), resp.text[:300]
        resp = self.post("/account/password", {"old_password": initial, "new_password": new,
                                               "confirm_password": new}, form_page="/account/password",
                         allow_redirects=False)
        assert resp.status_code == 302, resp.text[:500]
        assert self.get("/account/password", allow_redirects=False).status_code == 200


def wait_task(engine, task_id: int, timeout: float = 60) -> tuple[str, str | None]:
    """The task's final (state, error), polled in the database the site writes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            state, error = conn.execute(text("SELECT state, error FROM task WHERE id = :i"), {"i": task_id}).one()
        if state in ("succeeded", "failed"):
            return state, error
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} still {state} after {timeout} s")


def last_task_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT max(id) FROM task")).scalar_one()

"""Production from zero: `flask bootstrap` makes the first 继教院管理员 a real, usable account; FAB's own
account commands cannot leave a dead one; `/healthz` tells a monitor whether the database and Redis answer."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from app.extensions import db
from app.models.account import Account
from app.models.oplog import OperationLog
from app.models.org import Organisation
from app.statuses import OrgKind
from tests.test_auth import Browser, logged_in

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["bootstrap", "--school-code", "10304", "--admin-no", "admin01", "--admin-name", "王老师",
        "--mobile", "13900001111"]


def _run(app, args):
    return app.test_cli_runner().invoke(args=args)


@pytest.fixture()
def empty(app_ctx):
    """An empty database with only the built-in roles (what migrations + sync-roles leave)."""
    assert db.session.scalar(select(Organisation.id)) is None
    return app_ctx


def test_bootstrap_creates_the_ce_and_its_first_admin_who_can_work(empty):
    """On an empty database: the 继续教育学院 and a CE admin with edu@<手机号>, forced to change it at first
    login, logged in the operation log; after the change 账号管理 opens (not a dead account)."""
    app = empty
    out = _run(app, ARGS)
    assert out.exit_code == 0, out.output
    assert "已创建机构：继续教育学院" in out.output and "已创建继教院管理员 admin01" in out.output
    org = db.session.scalar(select(Organisation).where(Organisation.kind == OrgKind.CE.value))
    admin = db.session.scalar(select(Account).where(Account.username == "admin01"))
    assert org.name == "继续教育学院" and admin.org_id == org.id and admin.must_change_password
    assert [r.name for r in admin.roles] == ["CEAdmin"]
    entry = db.session.scalar(select(OperationLog).where(OperationLog.action == "account_create"))
    assert entry.record_id == admin.id and entry.actor_name == "系统"

    b = Browser(app)
    resp = b.login("admin01", "edu@13900001111")
    assert logged_in(resp) and resp.headers["Location"].endswith("/account/password")
    changed = b.post("/account/password", {"old_password": "edu@13900001111", "new_password": "Start2026ok",
                                           "confirm_password": "Start2026ok"})
    assert changed.status_code == 302, changed.get_data(as_text=True)[:500]
    assert b.get("/accounts/list/").status_code == 200


def test_a_second_run_changes_nothing_and_says_so(empty):
    """Idempotent: the same command again writes nothing."""
    assert _run(empty, ARGS).exit_code == 0
    before = (db.session.query(Account).count(), db.session.query(OperationLog).count())
    again = _run(empty, ARGS)
    assert again.exit_code == 0 and "未做任何修改" in again.output
    assert (db.session.query(Account).count(), db.session.query(OperationLog).count()) == before


def test_another_ce_admin_only_when_asked(empty):
    """A second CE admin is refused unless --add-admin is given (then created in the same organisation)."""
    assert _run(empty, ARGS).exit_code == 0
    other = ["bootstrap", "--school-code", "10304", "--admin-no", "admin02", "--admin-name", "李老师",
             "--mobile", "13900002222"]
    refused = _run(empty, other)
    assert refused.exit_code != 0
    assert "已存在继教院管理员（admin01）" in refused.output and "--add-admin" in refused.output
    assert db.session.scalar(select(Account).where(Account.username == "admin02")) is None
    added = _run(empty, other + ["--add-admin"])
    assert added.exit_code == 0, added.output
    assert db.session.query(Organisation).filter_by(kind=OrgKind.CE.value).count() == 1


@pytest.mark.parametrize("change, message", [
    (("--school-code", "10305"), "SCHOOL_CODE=10304"),
    (("--school-code", "1030"), "学校代码应为 5 位数字"),
    (("--mobile", "1390000111x"), "手机号应为 1 开头的 11 位数字"),
    (("--admin-no", "管理员"), "工号应为"),
    (("--admin-name", " "), "姓名不能为空"),
])
def test_bad_arguments_get_a_chinese_message_and_write_nothing(empty, change, message):
    """Each argument is checked before anything is written."""
    args = list(ARGS)
    i = args.index(change[0])
    args[i + 1] = change[1]
    out = _run(empty, args)
    assert out.exit_code != 0 and message in out.output
    assert db.session.scalar(select(Organisation.id)) is None and db.session.scalar(select(Account.id)) is None


def _flask(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = dict(os.environ, APP_MODE="test", DATABASE_URL=f"sqlite:///{tmp_path}/prod.db", FLASK_APP="run.py",
               INSTANCE_DIR=str(tmp_path), SCHOOL_CODE="10304")
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


def test_from_an_empty_database_with_the_real_commands(tmp_path):
    """The README's order on an empty database: migrations, roles, bootstrap. `flask fab create-admin`,
    `create-user` and `reset-password` refuse with a message naming the product's way, and create nothing."""
    assert _flask(["db", "upgrade"], tmp_path).returncode == 0
    assert _flask(["sync-roles"], tmp_path).returncode == 0
    for args in (["create-admin", "--username", "fab", "--firstname", "a", "--lastname", "b", "--email", "a@b.c",
                  "--password", "Secret123"],
                 ["create-user", "--role", "CEAdmin", "--username", "fab", "--firstname", "a", "--lastname", "b",
                  "--email", "a@b.c", "--password", "Secret123"]):
        refused = _flask(["fab", *args], tmp_path)
        assert refused.returncode != 0 and "flask bootstrap" in refused.stderr, refused.stderr[-2000:]
    made = _flask(ARGS, tmp_path)
    assert made.returncode == 0 and "已创建继教院管理员 admin01" in made.stdout, made.stderr[-2000:]
    again = _flask(ARGS, tmp_path)
    assert again.returncode == 0 and "未做任何修改" in again.stdout
    reset = _flask(["fab", "reset-password", "--username", "admin01", "--password", "Other1234"], tmp_path)
    assert reset.returncode != 0 and "账号管理" in reset.stderr, reset.stderr[-2000:]
    engine = create_engine(f"sqlite:///{tmp_path}/prod.db")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT username FROM ab_user")).scalars().all() == ["admin01"]
    engine.dispose()


def test_healthz_is_public_and_reports_the_database(app, world):
    """No login needed, no data in the answer; 200 when the database (and Redis, when configured) answer."""
    resp = app.test_client().get("/healthz")
    redis = "ok" if app.config["REDIS_URL"] else "not configured"  # CI runs with a real Redis configured
    assert resp.status_code == 200
    assert resp.get_json() == {"database": "ok", "redis": redis, "status": "ok"}


def test_healthz_names_what_is_down(app, world):
    """503 naming the part that does not answer: here a Redis that is configured but not running."""
    old = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        resp = app.test_client().get("/healthz")
    finally:
        app.config["REDIS_URL"] = old
    assert resp.status_code == 503
    assert resp.get_json() == {"database": "ok", "redis": "down", "status": "down: redis"}

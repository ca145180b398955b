"""The README's production recipe, end to end (issue 17), as a person would run it on an empty PostgreSQL database:
`flask db upgrade`, `flask sync-roles`, `flask bootstrap`, gunicorn over TLS (its own --certfile/--keyfile;
production cookies are Secure) and a real `rq worker`, APP_MODE=production. Then over HTTPS: the first login
with its forced password change, an 机构与专业 import (a college with a major, a teaching site), an 账号 import
(two staff), a student import, and a 毕业审核 run by the new 教学点管理员 that reaches 成功 in 任务中心.

Runs in CI's PostgreSQL pass (see tests/reliability/production_support.py for when it skips or fails).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from app.imports.schema import ACCOUNTS, ORGS
from tests.imports.builders import students_xlsx, xlsx
from tests.reliability.production_support import (
    NEEDS_SERVICES,
    Browser,
    create_database,
    drop_database,
    flask,
    last_task_id,
    production_env,
    require_services,
    serve,
    wait_task,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


pytestmark = NEEDS_SERVICES

def _import(b: Browser, engine, kind: str, data: bytes, name: str) -> dict:
    before = last_task_id(engine) or 0
    resp = b.post("/imports/upload", {"kind": kind}, form_page="/imports/", files={"file": (name, data, XLSX)})
    assert resp.status_code == 200 and "导入任务已提交" in resp.text, resp.text[:500]
    task_id = last_task_id(engine)
    assert task_id > before
    state, error = wait_task(engine, task_id)
    assert state == "succeeded", error
    with engine.connect() as conn:
        return conn.execute(text("SELECT summary FROM task WHERE id = :i"), {"i": task_id}).scalar_one()


def test_from_an_empty_database_to_a_site_admin_audit_over_tls():
    require_services()
    started = time.monotonic()
    name = create_database()
    work = Path(tempfile.mkdtemp(prefix="gd-recipe-"))
    engine = None
    try:
        env = production_env(name, work / "storage", f"recipe-{uuid.uuid4().hex[:8]}")
        flask(env, "db", "upgrade")
        flask(env, "sync-roles")
        out = flask(env, "bootstrap", "--school-code", "10304", "--admin-no", "admin01", "--admin-name", "王老师",
                    "--mobile", "13900001111")
        assert "admin01" in out
        engine = create_engine(env["DATABASE_URL"])
        with engine.connect() as conn:
            ce_code = conn.execute(text("SELECT code FROM organisation WHERE kind = 'ce'")).scalar_one()
        with serve(env, work) as site:
            ce = Browser(site)
            ce.first_login("admin01", "edu@13900001111", "Start2026ok")

            orgs = xlsx(ORGS.headers, [
                ["二级学院", "C01", "经济管理学院", ce_code, "张老师", "0513-85012345", None],
                ["教学点", "S01", "海门教学点", None, "王老师", "13900000001", None],
                ["专业", "M01", "工商管理", "C01", None, None, "专升本"],
            ])
            assert _import(ce, engine, "orgs", orgs, "机构.xlsx") == {"新增": 3, "更新": 0, "未变": 0}
            staff = xlsx(ACCOUNTS.headers, [
                ["jxd001", "赵老师", "13900000011", "教学点管理员", "S01"],
                ["xy001", "钱老师", "13900000012", "学院管理员", "C01"],
            ])
            assert _import(ce, engine, "accounts", staff, "账号.xlsx") == {"新增": 2, "更新": 0, "未变": 0}
            students = students_xlsx(20, major="工商管理", site="海门教学点")
            assert _import(ce, engine, "students", students, "学生.xlsx")["新增"] == 20

            jxd = Browser(site)
            jxd.first_login("jxd001", "edu@13900000011", "Site2026ok")
            before = last_task_id(engine)
            # 毕业审核管理 → 毕业审核 with nothing ticked: the confirmation page states the count, 确定 posts it back
            ask = jxd.post("/graduation/audit/action_post", {"action": "audit"}, form_page="/graduation/audit/")
            assert ask.status_code == 200, ask.text[:500]
            confirmed = re.search(r'name="confirmed" value="(\d+)"', ask.text).group(1)
            assert confirmed == "20"  # the site's 20 imported students
            resp = jxd.post("/graduation/audit/action_post", {"action": "audit", "confirmed": confirmed},
                            form_page="/graduation/audit/")
            assert resp.status_code == 200, resp.text[:500]
            task_id = last_task_id(engine)
            assert task_id > before
            state, error = wait_task(engine, task_id)
            assert state == "succeeded", error
            with engine.connect() as conn:
                kind, requester, total = conn.execute(text(
                    "SELECT t.kind, u.username, t.total FROM task t JOIN ab_user u ON u.id = t.requested_by_id "
                    "WHERE t.id = :i"), {"i": task_id}).one()
            assert (kind, requester, total) == ("graduation_audit", "jxd001", 20)
            with engine.connect() as conn:  # production hashes every password with argon2id (OWASP's setting)
                hashes = dict(conn.execute(text(
                    "SELECT username, password FROM ab_user WHERE username IN ('admin01', 'jxd001', 'xy001')")).all())
            assert all(h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for h in hashes.values()), hashes
            # 任务中心 (/tasks/ now; /tasks/list/ once it is a ModelView)
            pages = [jxd.get(p) for p in ("/tasks/", "/tasks/list/")]
            center = next(r.text for r in pages if r.status_code == 200 and "毕业审核" in r.text)
            assert "成功" in center
    finally:
        if engine is not None:
            engine.dispose()
        drop_database(name)
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    assert seconds < 90, f"the recipe took {seconds:.0f} s"

"""The restore drill (issue 17): a cohort audited, overridden, confirmed and published, with a signature, a photo and
an import upload on disk; `deploy/backup.py backup` (what `make backup` runs); `deploy/backup.py restore` into a new
database and a new storage directory; the app on the restored copy has identical counts, diploma numbers,
overrides, signatures (rows and files) and operation log, serves it, and the next number continues the sequence.

Runs in CI's PostgreSQL pass (tests/reliability/production_support.py: skipped without a PostgreSQL server, failed
when CI_REQUIRE_SERVICES=1). The figures it prints go into docs/RELIABILITY.md.
"""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select, text

from app.extensions import db
from tests.reliability.production_support import (
    NEEDS_SERVICES,
    ROOT,
    create_database,
    database_url,
    drop_database,
    require_services,
)

COHORT = 40
PRE = "pre_graduate"


pytestmark = NEEDS_SERVICES

def _app(url: str, storage: Path):
    from app import create_app

    return create_app({
        "APP_MODE": "test", "SQLALCHEMY_DATABASE_URI": url, "JOBS_MODE": "inline", "STORAGE_DIR": str(storage),
        "REDIS_URL": None, "RATELIMIT_STORAGE_URI": "memory://", "SERVER_NAME": "localhost",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (240, 80), (20, 20, 160)).save(buf, "PNG")
    return buf.getvalue()


def _build(app) -> None:
    """Schema and roles, then the cohort through the services: import, audit, override, confirm, publish."""
    from flask_appbuilder import Model

    from app import storage
    from app.cli import sync_roles
    from app.jobs import runner
    from app.models import Student
    from app.models.account import Account
    from app.security import Scope
    from app.services import graduation, imports, signatures, tasks
    from tests import factories
    from tests.imports.builders import students_xlsx

    def acct(name):
        return db.session.scalar(select(Account).where(Account.username == name))

    def run(kind, actor, params):
        task = tasks.create_task(kind, actor=actor, params=params, lock_key=tasks.lock_key_for(kind, actor))
        runner.submit(task)
        db.session.expire_all()
        return task

    with app.app_context():
        Model.metadata.create_all(db.engine)
        sync_roles()
        db.session.commit()
        w = factories.world()
        factories.graduation_batch()
        students = [w.student1] + [factories.student(w.site1, w.major1, no=f"2020011{i:03d}", name=f"学生{i}")
                                   for i in range(1, COHORT)]
        for s in students[:-1]:
            factories.grades(s, factories.ALL_PASS)
        factories.grades(students[-1], {"C01": 52, "C02": 75})  # 不合格 by the rules: overridden below
        students[0].photo_path = storage.save("photos", _png(), ".png")
        db.session.commit()
        task = imports.start_import(actor=acct("jjy001"), kind="students", filename="新生.xlsx",
                                    data=students_xlsx(5))
        runner.submit(task)
        signatures.upload_signature(acct("jxd001"), _png(), acct("jxd001"))
        db.session.commit()
        site = Scope("site", org_id=w.site1.id).to_params()
        run("graduation_audit", acct("jxd001"), {"scope": site, "filters": {"enrol_grade": 2020}})
        weak = db.session.scalar(select(Student.id).where(Student.student_no == students[-1].student_no))
        graduation.override([weak], PRE, "补考成绩已核实（演练）", acct("jxd001"))
        db.session.commit()
        graduation.confirm({}, Scope("site", org_id=w.site1.id), acct("jxd001"))
        db.session.commit()
        run("graduation_publish", acct("jjy001"), {"scope": Scope("all").to_params(), "filters": {}})


def _rows(table: str, order: str = "id") -> list[tuple]:
    return [tuple(r) for r in db.session.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]


def _state(app, storage: Path) -> dict:
    """What must survive: every table's count, numbers, overrides, signatures with their files, the log."""
    from flask_appbuilder import Model

    with app.app_context():
        counts = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in Model.metadata.sorted_tables}
        files = {}
        for path, digest in db.session.execute(text("SELECT path, sha256 FROM signature")):
            data = (storage / path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest, path
            files[path] = digest
        for (path,) in db.session.execute(text("SELECT photo_path FROM student WHERE photo_path LIKE 'photos/%.png'")):
            files[path] = hashlib.sha256((storage / path).read_bytes()).hexdigest()
        for (params,) in db.session.execute(text("SELECT params FROM task WHERE kind = 'import'")):
            path = (params if isinstance(params, dict) else json.loads(params))["path"]
            files[path] = hashlib.sha256((storage / path).read_bytes()).hexdigest()
        return {
            "counts": counts,
            "diplomas": _rows("graduation_audit WHERE diploma_no IS NOT NULL", "diploma_no"),
            "audits": _rows("graduation_audit"),
            "overrides": _rows("graduation_audit WHERE override_result IS NOT NULL"),
            "signatures": _rows("signature"),
            "oplog": _rows("operation_log"),
            "counters": _rows("certificate_counter", "prefix"),
            "files": files,
        }


def _backup_script(*args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "backup.py"), *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_backup_and_restore_into_a_new_database_and_storage_keep_everything():
    require_services()
    source_db, target_db = create_database("gd_prod_drill_"), create_database("gd_prod_drill_")
    work = Path(tempfile.mkdtemp(prefix="gd-drill-"))
    source_storage, target_storage = work / "storage", work / "restored-storage"
    apps = []
    try:
        source = _app(database_url(source_db), source_storage)
        apps.append(source)
        _build(source)
        before = _state(source, source_storage)
        assert before["overrides"] and len(before["diplomas"]) == COHORT and before["signatures"]
        assert any(r[0] for r in before["oplog"]) and len(before["files"]) == 3

        started = time.monotonic()
        out = _backup_script("backup", "--database-url", database_url(source_db), "--storage", str(source_storage),
                             "--out", str(work / "backups"))
        backup_seconds = time.monotonic() - started
        backup_dir = next((work / "backups").iterdir())
        manifest = json.loads((backup_dir / "manifest.json").read_text())
        assert "备份完成" in out and manifest["storage_files"] >= 3

        # refused: a database that is not empty (the source itself) — nothing is mixed
        refused = subprocess.run([sys.executable, str(ROOT / "deploy" / "backup.py"), "restore", "--from",
                                  str(backup_dir), "--database-url", database_url(source_db), "--storage",
                                  str(work / "other")], capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and "不是空的" in refused.stderr

        started = time.monotonic()
        _backup_script("restore", "--from", str(backup_dir), "--database-url", database_url(target_db),
                       "--storage", str(target_storage))
        restore_seconds = time.monotonic() - started

        restored = _app(database_url(target_db), target_storage)
        apps.append(restored)
        after = _state(restored, target_storage)
        assert after == before

        with restored.app_context():
            from app.services import numbering

            prefix, last = db.session.execute(text(
                "SELECT prefix, last_value FROM certificate_counter ORDER BY prefix LIMIT 1")).one()
            last_no = max(r for r in (d for d in _diploma_numbers() if d.startswith(prefix)))
            assert last_no == f"{prefix}{last:06d}"
            assert numbering.allocate(prefix, 1) == [f"{prefix}{last + 1:06d}"]
            db.session.rollback()
        from tests import factories
        from tests.test_auth import Browser, logged_in

        with restored.app_context():  # the app serves the restored copy: a login and a page that lists its data
            browser = Browser(restored)
            assert logged_in(browser.login("jjy001", factories.PASSWORD))
            page = browser.get("/imports/").get_data(as_text=True)
            assert "新生.xlsx" in page
            assert restored.test_client().get("/healthz").status_code == 200
        print(f"\nrestore drill: database dump {manifest['database_bytes'] / 1024:.0f} KiB, storage tar "
              f"{manifest['storage_bytes'] / 1024:.0f} KiB ({manifest['storage_files']} files); backup "
              f"{backup_seconds:.1f} s, restore {restore_seconds:.1f} s")
    finally:
        for app in apps:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        drop_database(source_db)
        drop_database(target_db)
        shutil.rmtree(work, ignore_errors=True)


def _diploma_numbers() -> list[str]:
    return list(db.session.scalars(text("SELECT diploma_no FROM graduation_audit WHERE diploma_no IS NOT NULL")))

"""The Alembic migrations build the whole schema (FAB's tables included) on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

ROOT = Path(__file__).resolve().parents[1]


def _flask(args: list[str], database_url: str, tmp_path) -> subprocess.CompletedProcess:
    env = dict(os.environ, APP_MODE="test", DATABASE_URL=database_url, FLASK_APP="run.py", INSTANCE_DIR=str(tmp_path))
    env.pop("REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


def _check(database_url: str, tmp_path) -> None:
    up = _flask(["db", "upgrade"], database_url, tmp_path)
    assert up.returncode == 0, up.stderr[-3000:]
    check = _flask(["db", "check"], database_url, tmp_path)
    assert check.returncode == 0, (check.stdout + check.stderr)[-3000:]
    roles = _flask(["sync-roles"], database_url, tmp_path)
    assert roles.returncode == 0, roles.stderr[-3000:]
    tables = set(inspect(create_engine(database_url)).get_table_names())
    expected = {"ab_user", "ab_role", "student", "graduation_audit", "degree_application", "task", "operation_log"}
    assert expected <= tables


def test_migrations_build_the_schema_on_sqlite(tmp_path):
    """`flask db upgrade` on an empty SQLite file gives exactly the models' schema (no drift)."""
    _check(f"sqlite:///{tmp_path}/mig.db", tmp_path)


def _postgres_url() -> str:
    for key in ("TEST_POSTGRES_URL", "TEST_DATABASE_URL"):
        if (os.environ.get(key) or "").startswith("postgresql"):
            return os.environ[key]
    return ""


@pytest.mark.skipif(not _postgres_url(),
                    reason="needs a PostgreSQL server: TEST_POSTGRES_URL or TEST_DATABASE_URL (CI sets both)")
def test_migrations_build_the_schema_on_postgresql(tmp_path):
    """The same migrations on a fresh PostgreSQL database, with `flask db check` finding no drift."""
    base = _postgres_url()
    name = f"gd_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _check(base.rsplit("/", 1)[0] + "/" + name, tmp_path)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

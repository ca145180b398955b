"""Test fixtures: one app per session, a clean database per test, one logged-in client per role.

The database is SQLite in a temp dir unless TEST_DATABASE_URL points at PostgreSQL (CI does both).
Jobs run inline unless a test asks for the real queue (see tests/jobs).
"""
from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("APP_MODE", "test")
_tmp = tempfile.mkdtemp(prefix="gd-test-")
os.environ.setdefault("INSTANCE_DIR", _tmp)

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests import factories  # noqa: E402
from tests.clients import RoleClient  # noqa: E402

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_tmp}/test.db"


def pytest_sessionstart(session):
    """In CI (CI_REQUIRE_SERVICES=1) a missing Redis or database fails the run instead of skipping tests."""
    if not os.environ.get("CI_REQUIRE_SERVICES"):
        return
    import redis
    from sqlalchemy import create_engine, text

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        raise pytest.UsageError("CI_REQUIRE_SERVICES is set but TEST_REDIS_URL is not")
    redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    with create_engine(TEST_DATABASE_URL).connect() as conn:
        conn.execute(text("SELECT 1"))


@pytest.fixture(scope="session")
def app():
    app = create_app(
        {
            "APP_MODE": "test",
            "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL,
            "JOBS_MODE": "inline",
            "STORAGE_DIR": os.path.join(_tmp, "storage"),
            "REDIS_URL": os.environ.get("TEST_REDIS_URL"),
            "RATELIMIT_STORAGE_URI": "memory://",
            "SERVER_NAME": "localhost",
            # cheap hashes keep the suite fast; the method is stored in each hash, so checks still work
            "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        from flask_appbuilder import Model

        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
    yield app


# FAB's permission tables, filled by sync_roles: kept from one test to the next (rebuilding them cost
# 130–200 ms a test, minutes a run) unless a test changed them, which the fingerprint notices.
SECURITY_TABLES = ("ab_permission", "ab_view_menu", "ab_permission_view", "ab_role", "ab_permission_view_role")
SECURITY_FINGERPRINT = (
    "SELECT (SELECT COUNT(*) FROM ab_role), (SELECT COALESCE(SUM(id), 0) FROM ab_role), "
    "(SELECT COUNT(*) FROM ab_permission_view), (SELECT COUNT(*) FROM ab_permission_view_role), "
    "(SELECT COALESCE(SUM(permission_view_id * 7919 + role_id), 0) FROM ab_permission_view_role)"
)


def _wipe(keep: tuple[str, ...] = ()) -> None:
    """Empty every table but ``keep``; on PostgreSQL their id sequences restart at 1, as on SQLite."""
    from flask_appbuilder import Model
    from sqlalchemy import text

    tables = [t for t in reversed(Model.metadata.sorted_tables) if t.name not in keep]
    for table in tables:  # DELETE, not TRUNCATE: on a handful of rows it is ten times faster on PostgreSQL
        db.session.execute(table.delete())
    if db.engine.dialect.name == "postgresql":
        resets = [f"setval(pg_get_serial_sequence('{t.name}', '{c.name}'), 1, false)"
                  for t in tables for c in t.primary_key.columns if len(t.primary_key.columns) == 1]
        db.session.execute(text("SELECT " + ", ".join(resets)))
    db.session.commit()


def _fresh_database(app) -> None:
    """The state every test starts from: no rows but the built-in roles and their permissions."""
    from sqlalchemy import text

    from app.cli import sync_roles

    known = app.extensions.get("tests_security_fingerprint")
    if known is not None and tuple(db.session.execute(text(SECURITY_FINGERPRINT)).one()) == known:
        _wipe(keep=SECURITY_TABLES)
    else:
        _wipe()
        sync_roles()
        db.session.commit()
        app.extensions["tests_security_fingerprint"] = tuple(db.session.execute(text(SECURITY_FINGERPRINT)).one())
    app.appbuilder.sm.builtin_roles  # noqa: B018


@pytest.fixture()
def app_ctx(app):
    with app.app_context():
        _fresh_database(app)
        yield app
        db.session.rollback()
        db.session.remove()


@pytest.fixture()
def world(app_ctx):
    """Organisations, majors, plans, two students and one account per role (see factories.World)."""
    return factories.world()


@pytest.fixture()
def login(app, world):
    """login('jxd001') -> RoleClient; students log in with login('2020010001', 'student')."""

    def _login(username: str, login_type: str | None = None) -> RoleClient:
        if login_type is None:
            login_type = "student" if username.isdigit() else "org"
        return RoleClient(app, username, login_type)

    return _login


@pytest.fixture()
def ce_client(login):
    return login("jjy001")


@pytest.fixture()
def college_client(login):
    return login("xy001")


@pytest.fixture()
def site_client(login):
    return login("jxd001")


@pytest.fixture()
def site2_client(login):
    return login("jxd002")


@pytest.fixture()
def student_client(login):
    return login("2020010001", "student")


@pytest.fixture()
def sql_log(app_ctx):
    """Every SQL statement the app's engine sends while the test runs, in order."""
    from sqlalchemy import event

    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    yield statements
    event.remove(db.engine, "before_cursor_execute", listener)

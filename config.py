"""Configuration read from the environment; safe by default.

Modes (``APP_MODE``): ``demo`` (make run: SQLite, generated secret, in-process jobs), ``test`` and
``production`` (SECRET_KEY, DATABASE_URL and REDIS_URL must be given; the default key is refused).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))

INSECURE_KEYS = {"", "changeme", "secret", "dev", "please-change-me"}


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a safe configuration."""


def _secret_key(mode: str) -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key and key not in INSECURE_KEYS:
        return key
    if mode in ("demo", "test"):
        # A demo keeps its sessions across restarts through a key kept beside the database.
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        keyfile = INSTANCE_DIR / "secret_key"
        if not keyfile.exists():
            keyfile.write_text(secrets.token_hex(32))
        return keyfile.read_text().strip()
    raise ConfigError("SECRET_KEY must be set to a random value in production mode")


def build_config(overrides: dict | None = None) -> dict:
    """Return the Flask config for the current environment, with overrides applied last."""
    overrides = dict(overrides or {})
    mode = overrides.get("APP_MODE") or os.environ.get("APP_MODE", "demo")
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'app.db'}"
    redis_url = os.environ.get("REDIS_URL") or None
    if mode == "production" and not (os.environ.get("DATABASE_URL") and redis_url):
        raise ConfigError("production mode needs DATABASE_URL and REDIS_URL")

    cfg: dict = {
        "APP_MODE": mode,
        "APP_NAME": "学历继续教育综合服务平台",
        "APP_ICON": "",
        "SECRET_KEY": overrides.get("SECRET_KEY") or _secret_key(mode),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        # inline: run in the request (tests); thread: background thread in-process (demo); rq: Redis.
        "JOBS_MODE": os.environ.get("JOBS_MODE") or ("rq" if redis_url else "thread"),
        "RQ_QUEUE": os.environ.get("RQ_QUEUE", "audit"),
        "JOB_TIMEOUT": int(os.environ.get("JOB_TIMEOUT", "3600")),
        "TASK_STALE_SECONDS": int(os.environ.get("TASK_STALE_SECONDS", "300")),
        # tasks one organisation may have queued or running at once (fair share of the FIFO queue; 0: no limit)
        "ORG_OPEN_TASKS_MAX": int(os.environ.get("ORG_OPEN_TASKS_MAX", "3")),
        # fair share of the workers (rq mode): a worker puts an organisation's task back at the end of the queue
        # while that organisation runs more tasks than another one that has a task waiting (0: plain FIFO)
        "FAIR_SHARE_RUNNING": os.environ.get("FAIR_SHARE_RUNNING", "1") not in ("0", "", "false"),
        # students per chunk job of a fanned-out audit (None: the kind's default, 5,000)
        "FANOUT_CHUNK_SIZE": int(os.environ["FANOUT_CHUNK_SIZE"]) if os.environ.get("FANOUT_CHUNK_SIZE") else None,
        "STORAGE_DIR": str(Path(os.environ.get("STORAGE_DIR", INSTANCE_DIR / "storage"))),
        "SCHOOL_CODE": os.environ.get("SCHOOL_CODE", "10304"),
        "TIMEZONE": "Asia/Shanghai",
        "PHOTO_MAX_BYTES": 2 * 1024 * 1024,
        "SIGNATURE_MAX_BYTES": 1024 * 1024,
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_MINUTES": 15,
        # Flask-AppBuilder
        "AUTH_TYPE": AUTH_DB,
        "AUTH_USER_REGISTRATION": False,
        "AUTH_RATE_LIMITED": True,
        "RATELIMIT_ENABLED": True,
        "AUTH_RATE_LIMIT": os.environ.get("AUTH_RATE_LIMIT", "20 per minute"),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis down must not lock everyone out (the login answered 500): each process then counts in
        # memory until Redis answers again
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "FAB_CREATE_DB": False,  # migrations own the schema; roles are synced by `flask sync-roles`
        "FAB_UPDATE_PERMS": False,  # built-in roles take their permissions from FAB_ROLES
        "FAB_SECURITY_MANAGER_CLASS": "app.security.AppSecurityManager",
        "FAB_INDEX_VIEW": "app.views.home.HomeView",
        "FAB_API_SWAGGER_UI": True,
        "FAB_ADD_SECURITY_API": False,
        # FAB's permission / view-menu admin pages: roles come from ROLE_PERMISSIONS (app/security.py) only
        "FAB_ADD_SECURITY_PERMISSION_VIEW": False,
        "FAB_ADD_SECURITY_VIEW_MENU_VIEW": False,
        "FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW": False,
        "FAB_PASSWORD_HASH_METHOD": "scrypt",  # FAB's own user paths only, and those are refused (app/security.py)
        # every account's hash (app/services/passwords.py): argon2id, OWASP's first setting (m 19 MiB, t 2, p 1)
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "argon2id:19456:2:1"),
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_FOLDER": "translations",
        "LANGUAGES": {"zh": {"flag": "cn", "name": "中文"}, "en": {"flag": "gb", "name": "English"}},
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": mode == "production",
        "PAGE_SIZE_MAX": 100,
    }
    if mode == "test":
        cfg["AUTH_RATE_LIMIT"] = os.environ.get("AUTH_RATE_LIMIT", "1000 per minute")
    cfg.update(overrides)
    return cfg

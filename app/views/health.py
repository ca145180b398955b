"""``GET /healthz``: what a load balancer or a monitor polls. No login, no data — only whether the database
and the job queue answer (200), or which of them does not (503)."""
from __future__ import annotations

from flask import Flask, current_app, jsonify
from sqlalchemy import text

from app.extensions import db, redis_connection


def _database() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "down" here; the error goes to the log, not to the poller
        current_app.logger.warning("healthz: database unreachable", exc_info=True)
        db.session.rollback()
        return False


def _redis() -> bool | None:
    """True/False when Redis is configured (it carries the job queue), None when the app runs without it."""
    if not current_app.config.get("REDIS_URL"):
        return None
    try:
        return bool(redis_connection().ping())
    except Exception:
        current_app.logger.warning("healthz: redis unreachable", exc_info=True)
        return False


def healthz():
    checks = {"database": _database(), "redis": _redis()}
    down = [name for name, ok in checks.items() if ok is False]
    body = {name: ("ok" if ok else "down" if ok is False else "not configured") for name, ok in checks.items()}
    body["status"] = "down: " + ", ".join(down) if down else "ok"
    return jsonify(body), (503 if down else 200)


def register(app: Flask) -> None:
    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET"])

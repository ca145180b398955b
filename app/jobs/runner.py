"""RQ entry points: thin, idempotent, only a task id in; the service does the work."""
from __future__ import annotations

from flask import current_app, has_app_context

_app = None


def _worker_app():
    """Build the app once per worker process (jobs need an app context)."""
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def execute_task(task_id: int) -> None:
    from app.extensions import db
    from app.services import tasks

    if has_app_context():
        tasks.run(task_id)
        return
    with _worker_app().app_context():
        try:
            tasks.run(task_id)
        finally:
            db.session.remove()


def execute_chunk(task_id: int, no: int) -> None:
    """One chunk of a fanned-out task (see ``tasks.fanout``); idempotent like every job."""
    from app.extensions import db
    from app.services import tasks

    if has_app_context():
        tasks.run_chunk(task_id, no)
        return
    with _worker_app().app_context():
        try:
            tasks.run_chunk(task_id, no)
        finally:
            db.session.remove()

"""RQ entry points: thin, idempotent, only a task id in; the service does the work."""
from __future__ import annotations

import os

from flask import has_app_context

_app = None
_app_pid = None


def worker_app():
    """The app for jobs: built once per worker (AppWorker builds it before RQ forks a job).

    A forked job inherits the app but must not reuse the parent's database connections, so the
    first use in a new process drops the pool (without closing the parent's sockets).
    """
    global _app, _app_pid
    if _app is None:
        from app import create_app

        _app = create_app()
        _app_pid = os.getpid()
    elif _app_pid != os.getpid():
        from app.extensions import db

        with _app.app_context():
            db.engine.dispose(close=False)
        _app_pid = os.getpid()
    return _app



def execute_task(task_id: int) -> None:
    from app.extensions import db
    from app.services import tasks

    if has_app_context():
        tasks.run(task_id)
        return
    with worker_app().app_context():
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
    with worker_app().app_context():
        try:
            tasks.run_chunk(task_id, no)
        finally:
            db.session.remove()

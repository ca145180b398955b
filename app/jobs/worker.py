"""The RQ worker class to run: ``rq worker -w app.jobs.worker.AppWorker audit``.

RQ forks a work horse per job. Building the Flask app (FAB, models, views) takes seconds, so the
worker builds it once before it forks; each forked horse inherits it and only drops the parent's
database connections (a connection must never be shared across a fork).
"""
from __future__ import annotations

from rq.worker import Worker


class AppWorker(Worker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from app.jobs import runner

        runner.worker_app()  # built once, inherited by every forked job

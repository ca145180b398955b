"""One way to run a command from a view: commit on success, roll back and explain on failure.

Services flush and raise ``DomainError``; the request owns the transaction. ``run_command`` is the
only place a page view commits, rolls back and turns a ``DomainError`` into the flash message (a
``NotFound`` into a 404), so no view keeps its own try/commit/flash copy. Messages are in the request's
language: the services build theirs with ``gettext``; a plain success text here is a msgid.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash

from app.extensions import db
from app.i18n import word
from app.jobs import runner
from app.services.errors import DomainError, NotAllowed, NotFound

TASK_SUBMITTED = "任务已提交，可在任务中心查看进度"


class Failed:
    """The command was refused: its message is flashed, nothing was committed."""

    def __bool__(self) -> bool:
        return False


FAILED = Failed()


def run_command(command: Callable[[], Any], success: str | Callable[[Any], str | None] | None = None,
                category: str = "success", *, role_refusal_403: bool = False) -> Any:
    """Run ``command()``, commit and flash ``success``; on ``DomainError`` roll back and flash it.

    ``success`` is a msgid (translated here) or a callable of the command's result returning the
    message, already translated (or None for no message). With ``role_refusal_403`` a ``NotAllowed``
    (the role may not) is flashed and answered 403. Returns the result, or ``FAILED`` (falsy) when the
    command was refused.
    """
    try:
        result = command()
        db.session.commit()
    except NotFound:
        db.session.rollback()
        abort(404)
    except NotAllowed as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        if role_refusal_403:
            abort(403)
        return FAILED
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return FAILED
    message = success(result) if callable(success) else word(success)
    if message:
        flash(message, category)
    return result


def submit_task(create: Callable[[], Any], success: str | Callable[[Any], str] = TASK_SUBMITTED, *,
                role_refusal_403: bool = False) -> Any:
    """Create a task with ``create()`` (flushed by the service) and hand it to the one task path."""

    def command():
        task = create()
        runner.submit(task)  # commits the row, then enqueues (rolls it back if the queue is down)
        return task

    return run_command(command, success, role_refusal_403=role_refusal_403)

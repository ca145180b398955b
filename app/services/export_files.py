"""What every export job shares about its files: the school printed on top, safe names inside a zip, the
stored photo, and handing the result to 任务中心. Used by ``exports`` and ``approval_forms``."""
from __future__ import annotations

import re
from typing import Any

from flask import current_app

from app import storage
from app.exports.archive import DEFAULT_SCHOOL
from app.extensions import db

_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


def school_name() -> str:
    """The school name printed on archive documents (``SCHOOL_NAME`` in config, if set)."""
    return current_app.config.get("SCHOOL_NAME") or DEFAULT_SCHOOL


def file_part(text: Any) -> str:
    """A piece of a file name inside the zip: no path separators or characters Windows refuses."""
    cleaned = _UNSAFE_NAME.sub("_", str(text or "")).strip().strip(".")
    return cleaned or "_"


def stored_file(rel: str | None) -> str | None:
    """Absolute path of a stored photo or signature, or None when it is missing (its box stays empty)."""
    if not rel:
        return None
    try:
        path = storage.resolve(rel)
    except FileNotFoundError:
        return None
    return str(path) if path.is_file() else None


def store_result(task, rel: str, name: str) -> None:
    """The file 任务中心 offers for download."""
    task.result_path = rel
    task.result_name = name
    db.session.flush()


def remove(rel: str) -> None:
    """Drop a half-written result after a failure."""
    try:
        storage.resolve(rel).unlink(missing_ok=True)
    except FileNotFoundError:
        pass

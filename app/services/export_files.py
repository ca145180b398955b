"""What every export job shares about its files: the school printed on top, safe names inside a zip, the
stored photo, a student's printed fields, and handing the result to 任务中心.

Used by ``exports`` and ``approval_forms``."""
from __future__ import annotations

import re
from typing import Any

from flask import current_app

from app import storage
from app.audit.confirmation import confirm_state, has_graduated
from app.exports.archive import DEFAULT_SCHOOL
from app.exports.xlsx import number_text
from app.extensions import db
from app.statuses import EnrolmentStatus, Level, StudyMode, label

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


def printed_student_fields(s, *, major: str, site: str, college: str, diploma_no: str | None,
                           graduation_date, published_at, printed_on) -> dict[str, Any]:
    """A student's identity and enrolment as the printed documents show them (display values)."""
    return {
        "printed_on": printed_on,
        "graduated": has_graduated(confirm_state(None, published_at), s.status),
        "student_no": s.student_no,
        "name": s.name,
        "gender": s.gender,
        "id_card": s.id_card,
        "birth_date": s.birth_date,
        "ethnicity": s.ethnicity,
        "political_status": s.political_status,
        "mobile": s.mobile,
        "enrol_grade": str(s.enrol_grade),
        "study_grade": str(s.study_grade),
        "level": label(s.level, Level),
        "major": major,
        "study_mode": label(s.study_mode, StudyMode),
        "duration": f"{number_text(s.duration_years)}年" if s.duration_years is not None else "",
        "site": site,
        "college": college,
        "enrolled_on": s.enrolled_on,
        "status": label(s.status, EnrolmentStatus),
        "diploma_no": diploma_no or "",
        "graduation_date": graduation_date,
    }

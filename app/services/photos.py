"""毕业照片: checked, re-encoded, stored outside static/ and served only through scoped routes."""
from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import gettext

from app import storage
from app.extensions import db
from app.models.student import Student
from app.services import oplog
from app.services.errors import NotFound
from app.services.images import clean_image

MIMETYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def upload_photo(student: Student, data: bytes, actor) -> str:
    """Store a new graduation photo for ``student`` and return its storage path.

    The image is decoded and re-encoded (no EXIF, nothing appended) before anything is written;
    a rejected file raises ``ImageRejected`` and changes nothing. The old file stays on disk so that
    a rolled-back request never leaves a student pointing at a deleted photo.
    """
    clean, suffix, _width, _height = clean_image(
        data, max_bytes=current_app.config["PHOTO_MAX_BYTES"], max_side=4000, what="毕业照片"
    )
    path = storage.save("photos", clean, suffix)
    old = student.photo_path
    student.photo_path = path
    oplog.record(actor=actor, action="photo_upload", record=student, old=old, new=path)
    db.session.flush()
    return path


def photo_file(student: Student) -> tuple[Path, str]:
    """The stored file and MIME type of the student's photo; ``NotFound`` when there is none."""
    try:
        path = storage.resolve(student.photo_path) if student.photo_path else None
    except FileNotFoundError:  # a stored name that escapes the storage root
        path = None
    mimetype = MIMETYPES.get(path.suffix.lower()) if path is not None else None
    if path is None or mimetype is None or not path.is_file():
        raise NotFound(gettext("未上传毕业照片"))
    return path, mimetype

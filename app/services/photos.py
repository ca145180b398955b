"""毕业照片: checked, re-encoded, stored outside static/ and served only through scoped routes."""
from __future__ import annotations

from flask import abort, current_app, send_file

from app import storage
from app.extensions import db
from app.models.student import Student
from app.services import oplog
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


def send_photo(student: Student):
    """The student's photo as a private, uncached response; 404 when there is none."""
    if not student.photo_path:
        abort(404)
    try:
        path = storage.resolve(student.photo_path)
    except FileNotFoundError:
        abort(404)
    if not path.is_file():
        abort(404)
    mimetype = MIMETYPES.get(path.suffix.lower())
    if mimetype is None:
        abort(404)
    response = send_file(path, mimetype=mimetype, max_age=0, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response

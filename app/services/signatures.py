"""Electronic signatures (电子签名) for 初审: checked uploads, versions, and who may see them.

An upload is decoded and re-encoded (metadata and trailing bytes dropped) and stored under the private
storage root, never under static/. Every upload is a new version; a review keeps the version it was
signed with, so replacing a signature never changes past reviews.
"""
from __future__ import annotations

import hashlib

from flask import current_app
from flask_babel import gettext
from sqlalchemy import exists, func, select

from app import storage
from app.extensions import db
from app.models import DegreeApplication, Signature, Student
from app.security import scope_of, student_scope_clause
from app.services import oplog
from app.services.errors import NotAllowed, NotFound
from app.services.images import clean_image

MAX_SIDE = 2000
MIMETYPES = {".png": "image/png", ".jpg": "image/jpeg"}


def upload_signature(account, data: bytes, actor) -> Signature:
    """Store a new version of ``account``'s signature.

    Args:
        account: Whose signature it is (an institution account).
        data: The uploaded file as bytes.
        actor: Who uploads; only the owner may upload their own signature.

    Raises:
        NotAllowed: Someone else's signature, or a student account.
        ImageRejected: Not a PNG/JPEG, too large in bytes or pixels, corrupt.
    """
    if actor is None or account is None or actor.id != account.id:
        raise NotAllowed(gettext("只能上传本人的电子签名"))
    if scope_of(account).kind not in ("all", "college", "site"):
        raise NotAllowed(gettext("只有机构管理员可以上传电子签名"))
    cleaned, suffix, width, height = clean_image(
        data, max_bytes=current_app.config["SIGNATURE_MAX_BYTES"], max_side=MAX_SIDE, what="电子签名")
    last = db.session.scalar(select(func.max(Signature.version)).where(Signature.account_id == account.id)) or 0
    path = storage.save("signatures", cleaned, suffix)
    sig = Signature(account_id=account.id, version=last + 1, path=path,
                    sha256=hashlib.sha256(cleaned).hexdigest(), width=width, height=height)
    db.session.add(sig)
    db.session.flush()
    oplog.record(actor=actor, action="signature_upload", record=sig, record_type="Signature",
                 old=f"第{last}版" if last else "无", new=f"第{sig.version}版 {width}×{height}")
    return sig


def current_signature(account) -> Signature | None:
    """The latest version of the account's signature, or None."""
    if account is None:
        return None
    return db.session.scalar(select(Signature).where(Signature.account_id == account.id)
                             .order_by(Signature.version.desc()).limit(1))


def readable_signature(signature_id: int, viewer) -> Signature:
    """The signature if ``viewer`` may see it, else NotFound (never says whether it exists).

    Readers: the owner; the CE admin; a college admin of a college one of whose students' applications
    was reviewed with this signature.
    """
    sig = db.session.get(Signature, signature_id)
    if sig is None or viewer is None:
        raise NotFound(gettext("签名不存在"))
    if sig.account_id == viewer.id:
        return sig
    scope = scope_of(viewer)
    if scope.is_all:
        return sig
    if scope.kind == "college":
        used = db.session.scalar(select(exists().where(
            DegreeApplication.review_signature_id == sig.id,
            DegreeApplication.student_id == Student.id,
            student_scope_clause(scope),
        )))
        if used:
            return sig
    raise NotFound(gettext("签名不存在"))


def signature_file(sig: Signature):
    """(absolute path, mimetype) of a stored signature."""
    path = storage.resolve(sig.path)
    suffix = path.suffix.lower()
    return path, MIMETYPES.get(suffix, "application/octet-stream")

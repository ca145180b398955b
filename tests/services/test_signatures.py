"""app.services.signatures: checked uploads, versions, and who may read a signature image."""
from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from app import storage
from app.extensions import db
from app.models import Account, DegreeApplication, OperationLog, Signature
from app.services import signatures
from app.services.errors import NotAllowed, NotFound
from app.services.images import ImageRejected
from tests import factories


def acct(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def png(size=(120, 40), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, "white").save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bomb(side: int = 20000) -> bytes:
    """A real, decodable 1-bit PNG of side×side pixels that is only a few dozen KB on disk.

    Built chunk by chunk because asking Pillow to allocate 400 million pixels just to write the test
    file would itself be the memory blow-up the upload check protects against.
    """
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    raw = zlib.compress(row * side, 9)
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", raw) + _chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is a text file renamed to signature.png\n", "不是有效的 JPEG 或 PNG"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
         b'<script>alert(1)</script></svg>', "不是有效的 JPEG 或 PNG"),
        (b"", "请选择"),
    ],
    ids=["text-renamed-png", "svg", "empty"],
)
def test_non_images_rejected(world, data, message):
    """Text renamed .png, an SVG and an empty upload are refused; nothing is stored."""
    with pytest.raises(ImageRejected, match=message):
        signatures.upload_signature(acct("jxd001"), data, acct("jxd001"))
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 0


def test_decompression_bomb_rejected(world):
    """A tiny 20000×20000 PNG is refused from its header, without being expanded."""
    bomb = png_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(ImageRejected):
        signatures.upload_signature(acct("jxd001"), bomb, acct("jxd001"))


def test_oversized_dimensions_rejected(world):
    """A Pillow-made palette PNG beyond 2000 px on a side is refused with the limit named."""
    buf = io.BytesIO()
    Image.new("P", (3000, 300)).save(buf, "PNG")
    assert len(buf.getvalue()) < 50_000
    with pytest.raises(ImageRejected, match="2000"):
        signatures.upload_signature(acct("jxd001"), buf.getvalue(), acct("jxd001"))


def test_five_megabyte_file_rejected(world):
    """A 5 MB upload is refused by size before any decoding (limit 1 MB)."""
    data = png() + b"\x00" * (5 * 1024 * 1024)
    with pytest.raises(ImageRejected, match="过大"):
        signatures.upload_signature(acct("jxd001"), data, acct("jxd001"))


def test_exif_is_stripped_from_jpeg(world):
    """A JPEG's EXIF (camera, GPS…) is dropped: the stored file is re-encoded pixels only."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    exif[0x0131] = "GPS-Tracker-42"  # Software
    buf = io.BytesIO()
    Image.new("RGB", (200, 80), "white").save(buf, "JPEG", exif=exif.tobytes())
    assert b"SecretCamera" in buf.getvalue()
    sig = signatures.upload_signature(acct("jxd001"), buf.getvalue(), acct("jxd001"))
    stored = storage.resolve(sig.path).read_bytes()
    assert b"SecretCamera" not in stored and b"Exif" not in stored
    assert not dict(Image.open(io.BytesIO(stored)).getexif())
    assert sig.path.endswith(".jpg")


def test_png_accepted_and_versioned(world, app):
    """PNG uploads are stored privately as new versions; the latest is current; each upload is logged."""
    owner = acct("jxd001")
    first = signatures.upload_signature(owner, png(), owner)
    second = signatures.upload_signature(owner, png((300, 100)), owner)
    assert (first.version, second.version) == (1, 2)
    assert signatures.current_signature(owner).id == second.id
    assert (second.width, second.height) == (300, 100)
    path = storage.resolve(second.path)
    assert path.is_file() and second.path.startswith("signatures/")
    assert Path(app.root_path, "static") not in path.parents
    assert second.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert db.session.scalar(select(func.count()).select_from(OperationLog)
                             .where(OperationLog.action == "signature_upload")) == 2


def test_only_owner_uploads(world):
    """Nobody uploads a signature for someone else, and students have none."""
    with pytest.raises(NotAllowed):
        signatures.upload_signature(acct("jxd001"), png(), acct("jjy001"))
    with pytest.raises(NotAllowed):
        signatures.upload_signature(acct("2020010001"), png(), acct("2020010001"))


def test_who_may_read_a_signature(world):
    """Owner and CE admin read it; another site admin never; a college admin once its student was reviewed with it."""
    owner = acct("jxd001")
    sig = signatures.upload_signature(owner, png(), owner)
    assert signatures.readable_signature(sig.id, owner) is sig
    assert signatures.readable_signature(sig.id, acct("jjy001")) is sig
    for other in ("jxd002", "xy001", "xy002", "2020010001"):
        with pytest.raises(NotFound):
            signatures.readable_signature(sig.id, acct(other))
    batch = factories.degree_batch()
    db.session.add(DegreeApplication(batch_id=batch.id, student_id=world.student1.id, result="met",
                                     review_opinion="agree", reviewed_by_id=owner.id, review_signature_id=sig.id))
    db.session.flush()
    assert signatures.readable_signature(sig.id, acct("xy001")) is sig
    for other in ("jxd002", "xy002"):
        with pytest.raises(NotFound):
            signatures.readable_signature(sig.id, acct(other))
    with pytest.raises(NotFound):
        signatures.readable_signature(sig.id + 999, acct("jjy001"))

"""Hostile uploads through the three real upload routes: 毕业照片 (site admin, student) and 电子签名.

Each accepted file is decoded and re-encoded (nothing appended survives, no EXIF); anything that is not a
plain JPEG/PNG of sane size is refused and changes nothing.
"""
from __future__ import annotations

import io
import resource
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from app import storage
from app.extensions import db
from app.models import Student
from app.models.degree import Signature
from tests.reliability.conftest import jpeg_bytes

ROUTES = {
    "site_photo": ("jxd001", "org", "/students/upload_photo/{sid}", "photo"),
    "student_photo": ("2020010001", "student", "/space/photo", "photo"),
    "signature": ("jxd001", "org", "/signature/upload", "signature"),
}

SVG = b"""<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">
<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>"""


def upload(login, world, route: str, data: bytes, filename: str):
    username, kind, url, field = ROUTES[route]
    client = login(username, kind)
    return client.post(url.format(sid=world.student1.id), data={field: (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def stored(route: str, world) -> bytes | None:
    """Bytes of the file the route stored last (photo of student1, or jxd001's latest signature)."""
    db.session.expire_all()
    if route == "signature":
        path = db.session.scalar(select(Signature.path).order_by(Signature.id.desc()).limit(1))
    else:
        path = db.session.get(Student, world.student1.id).photo_path
        path = None if path == "photos/test.jpg" else path
    return storage.resolve(path).read_bytes() if path else None


def state(world):
    db.session.expire_all()
    return (db.session.get(Student, world.student1.id).photo_path, db.session.scalar(select(func.count(Signature.id))))


def bomb_png(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side×side zeros: ~50 MB of pixels (1.2 GB as RGB) in ~50 KB of file."""
    raw = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (side // 8)
    body = b"".join(raw.compress(row) for _ in range(side)) + raw.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


TAIL = b"PK\x03\x04" + b"\x00" * 26 + b"evil.html<html><body><script>alert(1)</script></body></html>"


@pytest.mark.parametrize("route", list(ROUTES))
def test_polyglot_is_stored_without_its_tail(login, world, route):
    """A JPEG with a zip holding HTML appended is accepted as an image; the stored file ends at the image."""
    resp = upload(login, world, route, jpeg_bytes() + TAIL, "photo.jpg")
    assert resp.status_code == 302
    data = stored(route, world)
    assert data is not None and data.endswith(b"\xff\xd9")
    assert b"<script" not in data and b"PK\x03\x04" not in data and b"<html" not in data


NOT_IMAGES = [("x.svg", SVG), ("x.jpg", SVG), ("x.html", b"<html><script>1</script>"),
              ("x.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")]


@pytest.mark.parametrize("route", list(ROUTES))
def test_non_images_are_refused(login, world, route):
    """SVG with script (under any name), HTML and GIF are refused; nothing is stored or changed."""
    before = state(world)
    for name, data in NOT_IMAGES:
        resp = upload(login, world, route, data, name)
        assert resp.status_code == 302, name
        assert state(world) == before, name


@pytest.mark.parametrize("route", list(ROUTES))
def test_decompression_bomb_is_refused_without_expanding(login, world, route):
    """A 20000×20000 PNG (50 KB on disk) is refused from its header: peak memory grows < 150 MB."""
    bomb = bomb_png()
    assert len(bomb) < 200_000
    before = state(world)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    resp = upload(login, world, route, bomb, "bomb.png")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
    assert resp.status_code == 302 and state(world) == before
    assert grown_mb < 150, grown_mb


@pytest.mark.parametrize("route", list(ROUTES))
def test_exif_is_stripped(login, world, route):
    """A JPEG carrying EXIF (GPS position, camera, comment) is stored without any metadata."""
    exif = Image.Exif()
    exif[0x010F] = "EvilCam"  # Make
    exif[0x9286] = "secret comment"  # UserComment
    exif[0x8825] = {1: "N", 2: (32.0, 1.0, 0.0)}  # GPS
    src = jpeg_bytes(exif=exif.tobytes())
    assert b"EvilCam" in src
    assert upload(login, world, route, src, "exif.jpg").status_code == 302
    data = stored(route, world)
    assert data is not None and b"EvilCam" not in data and b"Exif" not in data
    assert not dict(Image.open(io.BytesIO(data)).getexif())


NAMES = ["../../etc/passwd.jpg", "..\\..\\boot.ini.jpg", "/etc/cron.d/x.jpg", "毕业照片 张三.jpg", "a\x00.php.jpg"]


@pytest.mark.parametrize("route", list(ROUTES))
def test_file_names_never_become_paths(login, world, route):
    """Path tricks and Chinese names in the file name: the file is stored under a random name in storage."""
    seen = set()
    for name in NAMES:
        assert upload(login, world, route, jpeg_bytes(), name).status_code == 302
        db.session.expire_all()
        if route == "signature":
            rel = db.session.scalar(select(Signature.path).order_by(Signature.id.desc()).limit(1))
        else:
            rel = db.session.get(Student, world.student1.id).photo_path
        assert rel and ".." not in rel and "passwd" not in rel and "张三" not in rel and "\\" not in rel, name
        assert storage.root().resolve() in storage.resolve(rel).parents
        assert rel.split("/", 1)[0] in ("photos", "signatures")
        seen.add(rel)
    assert len(seen) == len(NAMES)  # each upload got its own fresh name

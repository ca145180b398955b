"""毕业照片: only real, reasonably sized JPEG/PNG images are kept, re-encoded, stored privately, served in scope."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app import storage
from app.extensions import db
from app.models import Account, OperationLog, Student
from app.services.errors import DomainError
from app.services.photos import upload_photo


def jpeg(size=(120, 160), exif: bool = False) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, (10, 120, 200))
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8825] = {2: (31.0, 58.0, 1.0)}  # GPS latitude
        img.save(buf, "JPEG", exif=data.tobytes())
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


def gif() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (20, 20)).save(buf, "GIF")
    return buf.getvalue()


def png_bomb(side: int = 30000) -> bytes:
    """A PNG header claiming side×side pixels with almost no data: expanding it would eat gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture()
def actor(world):
    return db.session.query(Account).filter_by(username="jxd001").one()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"this is not an image at all", id="text-named-jpg"),
        pytest.param(gif(), id="gif-renamed-jpg"),
        pytest.param(png_bomb(), id="decompression-bomb"),
        pytest.param(jpeg()[:200], id="truncated-jpeg"),
        pytest.param(jpeg()[:2] + b"\x00" * 50, id="jpeg-magic-only"),
    ],
)
def test_bad_files_are_refused_and_change_nothing(world, actor, data):
    """Anything that is not a decodable JPEG/PNG within the limits raises and leaves the record as it was."""
    student = world.student1
    before_logs = db.session.query(OperationLog).count()
    before_files = set(storage.root().rglob("*"))
    with pytest.raises(DomainError):
        upload_photo(student, data, actor=actor)
    assert student.photo_path == "photos/test.jpg"
    assert db.session.query(OperationLog).count() == before_logs
    assert set(storage.root().rglob("*")) == before_files


def test_too_big_is_refused(app, world, actor):
    """A file over PHOTO_MAX_BYTES is refused before it is decoded."""
    big = jpeg() + b"\x00" * (app.config["PHOTO_MAX_BYTES"] + 1)
    with pytest.raises(DomainError, match="过大"):
        upload_photo(world.student1, big, actor=actor)


def test_too_many_pixels_is_refused(world, actor):
    """A real JPEG over 4000 pixels a side is refused."""
    with pytest.raises(DomainError, match="尺寸过大"):
        upload_photo(world.student1, jpeg((4100, 10)), actor=actor)


def test_exif_is_stripped_and_file_kept_private(app, world, actor):
    """The stored photo is a re-encoded JPEG without EXIF, under STORAGE_DIR, not under static/."""
    raw = jpeg(exif=True)
    assert b"SecretCam" in raw
    path = upload_photo(world.student1, raw, actor=actor)
    db.session.commit()
    stored = storage.resolve(path)
    content = stored.read_bytes()
    assert b"SecretCam" not in content and b"Exif" not in content
    assert Image.open(io.BytesIO(content)).format == "JPEG"
    assert not dict(Image.open(io.BytesIO(content)).getexif())
    static = Path(app.static_folder).resolve()
    assert static not in stored.parents
    assert Path(app.config["STORAGE_DIR"]).resolve() in stored.parents
    assert db.session.query(OperationLog).filter_by(action="photo_upload", student_id=world.student1.id).count() == 1


def test_upload_and_serving_in_scope(world, site_client, site2_client, college_client, login):
    """A site admin uploads a photo; it is served to the site and college in scope, 404 to another site."""
    pk = world.student1.id
    resp = site_client.post(f"/students/upload_photo/{pk}", data={"photo": (io.BytesIO(jpeg()), "照片.jpg")},
                            content_type="multipart/form-data")
    assert resp.status_code == 302
    path = db.session.get(Student, pk).photo_path
    assert path != "photos/test.jpg" and path.startswith("photos/")
    for client in (site_client, college_client):
        r = client.get(f"/students/photo/{pk}")
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        assert "no-store" in r.headers["Cache-Control"]
    assert site2_client.get(f"/students/photo/{pk}").status_code == 404
    assert login("xy002").get(f"/students/photo/{pk}").status_code == 404
    assert site_client.get(f"/static/{path}").status_code == 404
    assert site_client.get(f"/static/{Path(path).name}").status_code == 404


def test_college_admin_cannot_upload(world, college_client):
    """Only site and CE admins upload photos: a college admin gets 403."""
    resp = college_client.post(f"/students/upload_photo/{world.student1.id}",
                               data={"photo": (io.BytesIO(jpeg()), "p.jpg")}, content_type="multipart/form-data")
    assert resp.status_code == 403
    assert db.session.get(Student, world.student1.id).photo_path == "photos/test.jpg"


def test_rejected_upload_through_the_page_changes_nothing(world, site_client):
    """A GIF named .jpg posted to the page is refused with a message and the old photo stays."""
    resp = site_client.post(f"/students/upload_photo/{world.student1.id}",
                            data={"photo": (io.BytesIO(gif()), "x.jpg")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    assert db.session.get(Student, world.student1.id).photo_path == "photos/test.jpg"


def test_missing_photo_is_404(world, site_client):
    """A student whose photo file is missing, or who has none, gives 404, not an error page."""
    assert site_client.get(f"/students/photo/{world.student1.id}").status_code == 404  # path set, no file
    s = db.session.get(Student, world.student1.id)
    s.photo_path = None
    db.session.commit()
    assert site_client.get(f"/students/photo/{world.student1.id}").status_code == 404


def test_student_uploads_own_photo_in_student_space(world, student_client):
    """学生空间: the student uploads and sees only the own photo."""
    resp = student_client.post("/space/photo", data={"photo": (io.BytesIO(jpeg()), "me.jpg")},
                               content_type="multipart/form-data")
    assert resp.status_code == 302
    assert db.session.get(Student, world.student1.id).photo_path != "photos/test.jpg"
    r = student_client.get("/space/photo/view")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert student_client.get(f"/students/photo/{world.student2.id}").status_code == 403

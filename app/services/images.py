"""Uploaded images (photos, signatures): decoded, size-checked, re-encoded without metadata."""
from __future__ import annotations

import io
import warnings

from flask_babel import gettext
from PIL import Image, UnidentifiedImageError

from app.i18n import word
from app.services.errors import DomainError

ALLOWED_FORMATS = {"JPEG": ".jpg", "PNG": ".png"}


class ImageRejected(DomainError):
    pass


def clean_image(data: bytes, *, max_bytes: int, max_side: int = 4000,
                what: str = "图片") -> tuple[bytes, str, int, int]:
    """Return (re-encoded bytes, suffix, width, height) or raise ImageRejected with a Chinese reason.

    Re-encoding drops EXIF and anything appended to the file (polyglots); the pixel limit is checked
    from the header before decoding, so a decompression bomb is refused without being expanded.
    """
    what = word(what)
    if not data:
        raise ImageRejected(gettext("请选择要上传的%(what)s文件", what=what))
    if len(data) > max_bytes:
        raise ImageRejected(gettext("%(what)s文件过大：%(kb)s KB，上限 %(max)s KB", what=what, kb=len(data) // 1024,
                                     max=max_bytes // 1024))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format
            width, height = probe.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning, Image.DecompressionBombError,
            SyntaxError, ValueError):
        raise ImageRejected(gettext("%(what)s不是有效的 JPEG 或 PNG 图片", what=what)) from None
    if fmt not in ALLOWED_FORMATS:
        raise ImageRejected(gettext("%(what)s只能是 JPEG 或 PNG 格式", what=what))
    if width > max_side or height > max_side:
        raise ImageRejected(gettext("%(what)s尺寸过大：%(width)s×%(height)s，上限 %(max)s×%(max)s 像素", what=what,
                                     width=width, height=height, max=max_side))
    try:
        probe.load()
        img = probe.convert("RGBA" if fmt == "PNG" else "RGB")
    except Exception:  # truncated or corrupt pixel data
        raise ImageRejected(gettext("%(what)s文件已损坏，无法读取", what=what)) from None
    out = io.BytesIO()
    if fmt == "PNG":
        img.save(out, "PNG", optimize=True)
    else:
        img.save(out, "JPEG", quality=90)
    return out.getvalue(), ALLOWED_FORMATS[fmt], width, height

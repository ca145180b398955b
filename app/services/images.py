"""Uploaded images (photos, signatures): decoded, size-checked, re-encoded without metadata."""
from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

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
    if not data:
        raise ImageRejected(f"请选择要上传的{what}文件")
    if len(data) > max_bytes:
        raise ImageRejected(f"{what}文件过大：{len(data) // 1024} KB，上限 {max_bytes // 1024} KB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format
            width, height = probe.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning, Image.DecompressionBombError,
            SyntaxError, ValueError):
        raise ImageRejected(f"{what}不是有效的 JPEG 或 PNG 图片") from None
    if fmt not in ALLOWED_FORMATS:
        raise ImageRejected(f"{what}只能是 JPEG 或 PNG 格式")
    if width > max_side or height > max_side:
        raise ImageRejected(f"{what}尺寸过大：{width}×{height}，上限 {max_side}×{max_side} 像素")
    try:
        probe.load()
        img = probe.convert("RGBA" if fmt == "PNG" else "RGB")
    except Exception:  # truncated or corrupt pixel data
        raise ImageRejected(f"{what}文件已损坏，无法读取") from None
    out = io.BytesIO()
    if fmt == "PNG":
        img.save(out, "PNG", optimize=True)
    else:
        img.save(out, "JPEG", quality=90)
    return out.getvalue(), ALLOWED_FORMATS[fmt], width, height

"""Sending stored files: private, uncached, and only after the caller checked the scope."""
from __future__ import annotations

from pathlib import Path

from flask import send_file


def send_private(path: Path, mimetype: str):
    """A stored image (photo, signature) as a private, uncached response."""
    response = send_file(path, mimetype=mimetype, max_age=0, conditional=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response

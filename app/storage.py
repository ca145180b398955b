"""Private file storage under STORAGE_DIR (never under static/): photos, signatures, exports."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app


def root() -> Path:
    path = Path(current_app.config["STORAGE_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve(relative: str) -> Path:
    """Absolute path of a stored file; refuses anything that escapes the storage root."""
    base = root().resolve()
    path = (base / relative).resolve()
    if base not in path.parents:
        raise FileNotFoundError(relative)
    return path


def new_name(subdir: str, suffix: str) -> str:
    """A fresh random storage name; original (Chinese) names are kept in their own column."""
    (root() / subdir).mkdir(parents=True, exist_ok=True)
    return f"{subdir}/{secrets.token_hex(16)}{suffix}"


def save(subdir: str, data: bytes, suffix: str) -> str:
    rel = new_name(subdir, suffix)
    resolve(rel).write_bytes(data)
    return rel

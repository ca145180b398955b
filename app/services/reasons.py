"""The one rule for the free-text reasons of hand changes (核实说明, 初审说明), pages and API alike."""
from __future__ import annotations

import unicodedata

from app.services.errors import DomainError

MAX_CHARS = 500


def clean_reason(text: str | None, what: str, *, required: bool = True) -> str:
    """The reason stripped; refused when longer than ``MAX_CHARS`` or, if required, without real text.

    Text made only of control, format or space characters (a lone "\\x01", a zero-width space) is no
    reason: it reads as empty (refused when required, dropped otherwise).
    """
    text = (text or "").strip()
    if not any(unicodedata.category(c)[0] not in ("C", "Z") for c in text):
        if required:
            raise DomainError(f"请填写{what}")
        return ""
    if len(text) > MAX_CHARS:
        raise DomainError(f"{what}不能超过 {MAX_CHARS} 字")
    return text

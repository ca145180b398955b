"""The one rule for the free-text reasons of hand changes (核实说明, 初审说明), pages and API alike."""
from __future__ import annotations

import unicodedata

from flask_babel import gettext

from app.i18n import word
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
            raise DomainError(gettext("请填写%(what)s", what=word(what)))
        return ""
    if len(text) > MAX_CHARS:
        raise DomainError(gettext("%(what)s不能超过 %(max)s 字", what=word(what), max=MAX_CHARS))
    return text

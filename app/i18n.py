"""Messages built in Python, in the request's language (Flask-Babel; the msgids are the Chinese text).

A sentence is ``gettext("…%(name)s…", name=value)`` with named placeholders; a word put into one (a status
label, a summary key) goes through ``word`` so that it is translated too, and the Chinese punctuation that
joins parts goes through ``joined`` and ``period``. The English lives in app/translations/en. Outside a
request (jobs, the CLI) Flask-Babel answers in the default locale, so stored texts stay Chinese.
"""
from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from flask_babel import gettext

from app.statuses import label


def word(text: str | None) -> str:
    """One word or label (a msgid of the catalog) in the request's language; "" stays "" (not the header)."""
    return gettext(text) if text else ""


def label_text(value: Enum | str | None, enum: type[Enum] | None = None) -> str:
    """The label of a status (``app.statuses.label``) in the request's language."""
    return word(label(value, enum))


def joined(parts: Iterable[str], sep: str = "；") -> str:
    """Parts joined by a Chinese separator ("；", "，" or "、"), or by its English form in English."""
    return word(sep).join(parts)


def period(start: str, end: str) -> str:
    """"2024-11-25 00:00:00 至 2024-12-06 00:00:00", or "… to …" in English."""
    return gettext("%(start)s 至 %(end)s", start=start, end=end)

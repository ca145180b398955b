"""Options of select boxes as WTForms 3.3 wants them: ``SelectChoice`` objects (tuples are deprecated).

``statuses.choices`` keeps returning (code, label) pairs for templates and the API; forms wrap them here.
"""
from __future__ import annotations

from collections.abc import Iterable

from wtforms import SelectChoice


def options(pairs: Iterable[tuple[str, str]], *, blank: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as SelectChoice; ``blank`` puts an empty value with that label first."""
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(value, label) for value, label in pairs]

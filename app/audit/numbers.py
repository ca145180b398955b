"""The two number rules every audit module shares: what a pass is and how a figure is written."""
from __future__ import annotations

from app.statuses import PASS_SCORE


def format_number(value: float | int) -> str:
    """Format a score or credit figure for messages: at most 2 decimals, no trailing zeros.

    Args:
        value: The number to format.

    Returns:
        ``80.0`` -> ``"80"``, ``78.5`` -> ``"78.5"``, ``68.333`` -> ``"68.33"``.
    """
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def is_pass(score: float | None) -> bool:
    """Return True when a score is a pass (``score >= PASS_SCORE``); ``None`` is not."""
    return score is not None and score >= PASS_SCORE

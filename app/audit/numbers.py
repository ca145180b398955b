"""The two number rules every audit module shares: what a pass is and how a figure is written."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from app.statuses import PASS_SCORE

CENT = Decimal("0.01")


def format_number(value: float | int) -> str:
    """Format a score or credit figure for messages: at most 2 decimals, no trailing zeros.

    Args:
        value: The number to format.

    Returns:
        ``80.0`` -> ``"80"``, ``78.5`` -> ``"78.5"``, ``68.333`` -> ``"68.33"``.
    """
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def rounded_average(values: Sequence[float]) -> float:
    """The mean of ``values`` rounded to 2 decimals half up (四舍五入), on their decimal values.

    Python's ``round`` rounds the binary float half to even: the mean of 8 scores of 69, 69, 69, 69, 69,
    69, 69 and 70 (69.125) would print 69.12, where 四舍五入 — and the SQL form's ``ROUND`` on both databases —
    gives 69.13. Scores are decimal figures with at most 2 places (``repr`` gives them back exactly).
    """
    total = sum((Decimal(repr(float(v))) for v in values), Decimal(0))
    return float((total / len(values)).quantize(CENT, rounding=ROUND_HALF_UP))


def is_pass(score: float | None) -> bool:
    """Return True when a score is a pass (``score >= PASS_SCORE``); ``None`` is not."""
    return score is not None and score >= PASS_SCORE

"""The term calendar of a March intake: term names and ends, exam Saturdays."""
from __future__ import annotations

import datetime as dt


def term_name(grade: int, k: int) -> str:
    """学期 of the k-th term (1-based) of a March intake: term 1 is the spring term ``(grade-1)-grade-2``."""
    if k % 2:
        start = grade - 1 + (k - 1) // 2
        return f"{start}-{start + 1}-2"
    start = grade + (k - 2) // 2
    return f"{start}-{start + 1}-1"


def term_end(grade: int, k: int) -> dt.date:
    """Last day of the k-th term: spring terms end in July, autumn terms in January."""
    if k % 2:
        return dt.date(grade + (k - 1) // 2, 7, 15)
    return dt.date(grade + k // 2, 1, 20)


def second_saturday(year: int, month: int) -> dt.date:
    day = dt.date(year, month, 8)
    return day + dt.timedelta(days=(5 - day.weekday()) % 7)

"""When a degree foreign-language record counts as passed (学位外语, SPEC §2 and §4 item 2a).

The one answer the 学位外语成绩 page, the Excel import and the 学位条件审核 all use: the school's own
exam passes at the batch's mark (default 60); an accepted substitute passes on its own terms —
大学英语四级 from 425, PETS-3 when 合格 (a PETS-3 score passes from 60).

And what the degree lists show as 学位外语成绩 (``shown_score`` / ``shown_substitute``), with the SQL
forms that sort those lists by it (``language_sort_sql``).
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, func, or_, select

from app.statuses import SubstituteExam

DEFAULT_PASS_MARK = 60.0  # 学位外语合格线 when the batch sets none
CET4_PASS = 425.0  # 大学英语四级: 425 and above replaces the degree exam
CET4_MAX = 710.0
PETS3_PASS = 60.0  # PETS-3 written test, out of 100

_CET4 = SubstituteExam.CET4.value
_PETS3 = SubstituteExam.PETS3.value


def substitute_passed(substitute: str | None, substitute_score: float | None,
                      recorded_pass: bool | None = None) -> bool:
    """Whether an accepted substitute exam replaces the degree exam.

    Args:
        substitute: ``SubstituteExam`` value, or ``None``.
        substitute_score: Its score, when one was recorded.
        recorded_pass: For PETS-3 without a score: the certificate's 合格 (True) / 不合格 (False).

    Returns:
        CET-4: a score of at least 425 (no score is no pass). PETS-3: a score of at least 60, or,
        without a score, a recorded 合格. Anything else: False.
    """
    if substitute == _CET4:
        return substitute_score is not None and substitute_score >= CET4_PASS
    if substitute == _PETS3:
        if substitute_score is not None:
            return substitute_score >= PETS3_PASS
        return recorded_pass is True
    return False


def language_passed(score: float | None, substitute: str | None = None, substitute_score: float | None = None,
                    recorded_pass: bool | None = None, pass_mark: float = DEFAULT_PASS_MARK) -> bool:
    """Whether one 学位外语成绩 record is a pass under ``pass_mark``.

    Args:
        score: The degree exam's own score, or ``None``.
        substitute: ``SubstituteExam`` value of an accepted substitute, or ``None``.
        substitute_score: The substitute's score, if any.
        recorded_pass: PETS-3 without a score: its recorded 合格/不合格 (see ``substitute_passed``).
        pass_mark: The batch's 学位外语合格线.

    Returns:
        True when the own score reaches the mark or the substitute passes.
    """
    if score is not None and score >= pass_mark:
        return True
    return substitute is not None and substitute_passed(substitute, substitute_score, recorded_pass)


# --------------------------------------------------------------------------- 学位外语成绩 as the lists show it

Record = tuple  # (score, substitute, substitute_score, passed) of one LanguageScore row


def shown_score(records: Iterable[Record]) -> float | None:
    """The number the degree lists show as 学位外语成绩: the best score of the school's own exam (the
    records without a substitute), whether it passes or not; ``None`` when there is none."""
    scores = [score for score, substitute, *_ in records if score is not None and not substitute]
    return max(scores) if scores else None


def shown_substitute(records: Iterable[Record]) -> str | None:
    """Without an own score the lists show the first (by exam date) accepted substitute that passes
    (``substitute_passed``, with the stored 合格 as ``recorded_pass``); ``None`` when there is none."""
    return next((sub for _score, sub, mark, passed in records if sub and substitute_passed(sub, mark, bool(passed))),
                None)


def _no_substitute(language_score):
    return or_(language_score.substitute.is_(None), language_score.substitute == "")


def substitute_passed_sql(language_score):
    """``substitute_passed`` as a SQL condition on a row of ``language_score`` (its stored ``passed`` is the
    PETS-3's recorded 合格)."""
    return or_(
        and_(language_score.substitute == _CET4, language_score.substitute_score >= CET4_PASS),
        and_(language_score.substitute == _PETS3,
             or_(language_score.substitute_score >= PETS3_PASS,
                 and_(language_score.substitute_score.is_(None), language_score.passed.is_(True)))),
    )


def language_sort_sql(student, *, language_score) -> tuple:
    """The sort keys of 学位外语成绩 for the ``student`` row of the enclosing query (correlated scalar
    subqueries over the given mapped class), to be ordered in the list's direction with NULLs last:

    1. ``shown_score``: the best own score (NULL without one);
    2. for a row without an own score, 1 when it shows a substitute (``shown_substitute``), else NULL.

    So in both directions the scores come first in their order, then the rows showing a substitute
    (whichever it is: they tie, and the list breaks ties by id), then the empty ones.
    """
    best_own = (select(func.max(language_score.score))
                .where(language_score.student_id == student.id, _no_substitute(language_score))
                .correlate(student).scalar_subquery())
    substitute = (select(language_score.id)
                  .where(language_score.student_id == student.id, substitute_passed_sql(language_score))
                  .correlate(student).exists())
    return best_own, case((and_(best_own.is_(None), substitute), 1))

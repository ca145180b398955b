"""The facts the degree rule reads (学位外语成绩, 学位课程成绩, the graduation result), gathered in a
handful of set queries, and how the tables show them."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select

from app.audit.confirmation import confirm_state, has_graduated
from app.audit.degree import LanguageExam, degree_course_average
from app.audit.language import shown_score, shown_substitute
from app.audit.scores import format_number
from app.audit.types import NO_EXCEPTIONS, Exceptions, Plan
from app.models import GraduationAudit, LanguageScore
from app.services import facts
from app.statuses import SubstituteExam, label


@dataclass(frozen=True)
class DegreeFacts:
    """What the degree rule needs about one student, gathered from the database.

    ``best`` holds the best score of each 学位课程 of the student's plan — all that the rule, the
    average and the tables read (not every course of the plan).
    """

    graduation_result: str | None
    graduated: bool
    exams: tuple[LanguageExam, ...]
    plan: Plan | None
    best: dict[str, float] = field(default_factory=dict)
    language_rows: tuple[tuple[float | None, str | None, float | None, bool], ...] = ()
    exceptions: Exceptions = field(default_factory=dict)  # approved 课程替代 / 免修 / 学分认定


class DegreeFigures(NamedTuple):
    """The part of ``DegreeFacts`` the tables show (学位外语成绩, 学位课程成绩, 学位课程平均分): no
    graduation result, so nothing to decide with — ``language_text`` and ``average_text`` read either."""

    plan: Plan | None
    best: dict[str, float]
    language_rows: tuple[tuple[float | None, str | None, float | None, bool], ...]  # score, sub, sub score, passed
    exceptions: Exceptions = NO_EXCEPTIONS  # approved course exceptions; ``best`` has their substitutes' scores


PlanCache = dict  # plan key → (plan id, plan) or None, kept by a job across its chunks


def gather_figures(students: Sequence[Any], plans: PlanCache | None = None) -> dict[int, DegreeFigures]:
    """Language scores, the (专业, 层次, 年级) plans and the best grade of each degree course (SQL MAX
    over all attempts) of many students, in a handful of queries read as plain columns.

    ``students``: models or rows with id, major_id, level and study_grade. ``plans``: a cache the
    caller keeps across chunks (filled with the keys it lacks); without it the plans are loaded.
    """
    ids = [s.id for s in students]
    if not ids:
        return {}
    language: dict[int, list] = {i: [] for i in ids}
    for sid, score, substitute, substitute_score, passed in facts.raw_rows(
        select(LanguageScore.student_id, LanguageScore.score, LanguageScore.substitute,
               LanguageScore.substitute_score, LanguageScore.passed)
        .where(facts.ids_in(LanguageScore.student_id, ids))
        .order_by(LanguageScore.student_id, LanguageScore.exam_date)
    ):
        language[sid].append((score, substitute, substitute_score, bool(passed)))
    plans = {} if plans is None else plans
    missing = {facts.plan_key(s) for s in students} - plans.keys()
    if missing:
        found = facts.load_plans(missing)
        plans.update({key: found.get(key) for key in missing})
    best = facts.best_degree_scores_for(ids)
    approved = facts.approved_exceptions_for(ids)
    facts.add_substitute_scores(best, approved)
    out = {}
    for s in students:
        plan = plans[facts.plan_key(s)]
        out[s.id] = DegreeFigures(plan[1] if plan else None, best[s.id], tuple(language[s.id]),
                                  approved.get(s.id, NO_EXCEPTIONS))
    return out


def language_exams(rows: Sequence[tuple]) -> tuple[LanguageExam, ...]:
    """The rules' 学位外语 records from ``DegreeFigures.language_rows`` (score, substitute, its score, passed);
    the stored ``passed`` counts only for a substitute (a PETS-3's 合格)."""
    return tuple(LanguageExam(score, substitute, substitute_score, passed if substitute else None)
                 for score, substitute, substitute_score, passed in rows)


def gather_facts(students: Sequence[Any]) -> dict[int, DegreeFacts]:
    """Facts for many students in a handful of queries (no per-student query): ``gather_figures``
    and the graduation result.

    ``students``: models or rows with id, major_id, level, study_grade and status.
    """
    figures = gather_figures(students)
    if not figures:
        return {}
    graduation: dict[int, tuple[str | None, str]] = {}
    for sid, result, confirmed_at, published_at in facts.raw_rows(
        select(GraduationAudit.student_id, GraduationAudit.result, GraduationAudit.confirmed_at,
               GraduationAudit.published_at)
        .where(facts.ids_in(GraduationAudit.student_id, list(figures)))
    ):
        graduation[sid] = (result, confirm_state(confirmed_at, published_at))

    out = {}
    for s in students:
        result, state = graduation.get(s.id, (None, None))
        plan, best, rows, exceptions = figures[s.id]
        exams = language_exams(rows)
        out[s.id] = DegreeFacts(
            graduation_result=result,
            graduated=has_graduated(state, s.status),
            exams=exams,
            plan=plan,
            best=best,
            language_rows=rows,
            exceptions=exceptions,
        )
    return out


def language_text(facts: DegreeFacts | DegreeFigures | None) -> str:
    """学位外语成绩 as shown: the best own score, or the accepted substitute, or '' (``language.shown_score``,
    ``language.shown_substitute``; ``language.language_sort_sql`` sorts the lists by it)."""
    if facts is None:
        return ""
    score = shown_score(facts.language_rows)
    if score is not None:
        return format_number(score)
    substitute = shown_substitute(facts.language_rows)
    if substitute is not None:
        try:
            return f"{label(substitute, SubstituteExam)}（替代）"
        except ValueError:
            return substitute
    return ""


def average_text(facts: DegreeFacts | DegreeFigures | None) -> str:
    """学位课程平均分 as shown, or ''."""
    return "" if facts is None else plan_average_text(facts.plan, facts.best, facts.exceptions)


def plan_average_text(plan: Plan | None, best: Mapping[str, float], exceptions: Exceptions = NO_EXCEPTIONS) -> str:
    """``average_text`` from the plan, the best scores and the approved exceptions themselves."""
    avg = degree_course_average(plan, best, exceptions)
    return "" if avg is None else format_number(avg)



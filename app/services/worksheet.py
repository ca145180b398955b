"""毕业进度: a student's live worksheet (every plan course, totals, verdict, degree part) and what-if.

Pure data for the page; nothing here writes. The inputs are loaded as 审核预览 loads them
(``graduation.load_cases`` with the student's active batch) and every figure comes from the one rules
core: ``course_standings`` for each course, ``evaluate`` (``audit_graduation_with_progress``) for the
verdict and credits, ``audit_degree_with_average`` for the degree part.

What-if: hypothetical attempts ("若 大学英语 补考 65 分") are added to the student's real attempts and
the best attempt per course is taken again (``scores.best_scores``, the rule the audit's data follows),
then the same rules run on that ``best`` mapping. No rule is special-cased for what-if.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.audit.confirmation import batch_key, has_graduated
from app.audit.degree import DegreeMarks, LanguageExam, audit_degree_with_average, language_ok
from app.audit.exceptions import course_standings
from app.audit.numbers import format_number
from app.audit.scores import best_scores, parse_score
from app.audit.types import CourseStanding, Plan, Verdict
from app.models.student import Student
from app.services import degree, graduation
from app.services.errors import DomainError
from app.statuses import CourseNature, CourseState, DegreeConditionResult, FormState, label

MAX_HYPOTHESES = 20
LIVE_NOTE = "按当前成绩实时计算，以教学点审核结果为准"
WHATIF_NOTE = "假设计算仅供参考，不会保存任何数据"


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One hypothetical attempt: a course of the student's plan and a score 0–100."""

    course_code: str
    score: float


# --------------------------------------------------------------------------- what-if input


def parse_hypotheses(plan: Plan | None, codes: Sequence[str], scores: Sequence[str]) -> tuple[Hypothesis, ...]:
    """Validate the what-if rows of the form (parallel lists of 课程 and 成绩); blank rows are ignored.

    All or nothing: the first bad row raises ``DomainError`` with a Chinese message naming it.
    """
    rows = []
    for i in range(max(len(codes), len(scores))):
        code = (codes[i] if i < len(codes) else "").strip()
        raw = (scores[i] if i < len(scores) else "").strip()
        if code or raw:
            rows.append((i + 1, code, raw))
    if len(rows) > MAX_HYPOTHESES:
        raise DomainError(f"假设最多 {MAX_HYPOTHESES} 条（当前 {len(rows)} 条）")
    if rows and plan is None:
        raise DomainError("未找到该生对应的教学计划，不能假设课程成绩")
    names = {c.code: c.name for c in plan.distinct_courses} if plan is not None else {}
    out = []
    for n, code, raw in rows:
        if not code:
            raise DomainError(f"第 {n} 条假设：请选择课程")
        if code not in names:
            raise DomainError(f"第 {n} 条假设：课程不在该生的教学计划中")
        if not raw:
            raise DomainError(f"第 {n} 条假设（{names[code]}）：请填写成绩")
        try:
            value = parse_score(raw)
        except ValueError as exc:
            raise DomainError(f"第 {n} 条假设（{names[code]}）：{exc}") from None
        if value is None:  # pragma: no cover - parse_score returns None only for blank text, refused above
            raise DomainError(f"第 {n} 条假设（{names[code]}）：请填写成绩")
        out.append(Hypothesis(code, value))
    return tuple(out)


def what_if_best(best: Mapping[str, float], hypotheses: Iterable[Hypothesis]) -> dict[str, float]:
    """The best scores once the hypothetical attempts are added to the real ones (best attempt per course)."""
    return best_scores([*best.items(), *((h.course_code, h.score) for h in hypotheses)])


# --------------------------------------------------------------------------- the worksheet


def _course_row(st: CourseStanding, baseline: CourseStanding | None, hypothesised: set[str]) -> dict[str, Any]:
    return {
        "code": st.course.code,
        "name": st.course.name,
        "label": st.label,
        "credits": format_number(st.course.credits),
        "required": st.course.required,
        "degree_course": st.course.degree_course,
        "state": st.state,
        "state_label": label(st.state, CourseState),
        "score": "" if st.score is None else format_number(st.score),
        "passed": st.passed,
        "earned": format_number(st.credits),
        "exception": st.exception is not None,
        "hypothetical": st.course.code in hypothesised,
        "changed": baseline is not None and (baseline.state, baseline.score) != (st.state, st.score),
    }


def _verdict_view(verdict: Verdict) -> dict[str, Any]:
    return {
        "result": verdict.result,
        "result_label": graduation.result_label(verdict.result),
        "reasons": [r.message for r in verdict.reasons],
        "notes": [r.message for r in verdict.notes],
    }


def _language(student: Student, marks: DegreeMarks) -> tuple[tuple[LanguageExam, ...], dict[str, Any]]:
    figures = degree.gather_figures([student])[student.id]
    exams = degree.language_exams(figures.language_rows)
    passed = language_ok(exams, marks.language_pass_mark)
    return exams, {"text": degree.language_text(figures) or "无成绩", "passed": passed,
                   "mark": format_number(marks.language_pass_mark)}


def _degree_part(student: Student, case: graduation.Case, best: Mapping[str, float], verdict: Verdict,
                 rows: Sequence[dict[str, Any]], graduated: bool) -> dict[str, Any] | None:
    """学位: degree courses, their average against the batch's mark, the language result against its mark and
    the degree verdict — with the live graduation verdict in place of the official one (unless graduated)."""
    if not degree.degree_level(student.level):
        return None
    batch = degree.active_batch(student)
    marks = degree.marks_of(batch) if batch is not None else DegreeMarks()
    exams, language = _language(student, marks)
    result, average = audit_degree_with_average(verdict.result, graduated, exams, case.plan, best, marks,
                                                case.exceptions)
    codes = {r.code for r in result.reasons}
    return {
        "batch_name": batch.name if batch is not None else "",
        "courses": [r for r in rows if r["degree_course"]],
        "average": "" if average is None else format_number(average),
        "average_mark": format_number(marks.course_average_mark),
        "average_ok": average is not None and "degree_average_below" not in codes,
        "language": language,
        "result": result.result,
        "result_label": label(result.result, DegreeConditionResult),
        "reasons": [r.message for r in result.reasons],
    }


def _load_case(student: Student) -> graduation.Case:
    """The student's rule inputs, loaded exactly as 审核预览 loads them."""
    batch = graduation.active_batch(student)
    batches = {} if batch is None else {batch_key(batch.enrol_grade, batch.study_grade, batch.level): batch}
    return graduation.load_cases([student.id], batches, graduation.PlanCache())[0]


def course_choices(plan: Plan | None) -> list[tuple[str, str]]:
    """(code, "name（code）") of every distinct plan course: the what-if form's course list."""
    return [(c.code, f"{c.name}（{c.code}）") for c in plan.distinct_courses] if plan is not None else []


def worksheet(student: Student, codes: Sequence[str] = (), scores: Sequence[str] = ()) -> dict[str, Any]:
    """Everything the 毕业进度 page shows; with what-if rows (parallel lists of 课程代码 and 成绩, as the form
    posts them) the what-if figures beside the live ones. A bad row raises ``DomainError`` (nothing computed)."""
    case = _load_case(student)
    plan = case.plan
    hypotheses = parse_hypotheses(plan, codes, scores)
    live_verdict, live_progress = graduation.evaluate(case)
    what_if = bool(hypotheses)
    best = what_if_best(case.best, hypotheses) if what_if else case.best
    if what_if:
        case_if = dataclasses.replace(case, best=best)
        verdict, progress = graduation.evaluate(case_if)
    else:
        verdict, progress = live_verdict, live_progress
    standings = course_standings(plan, best, case.exceptions) if plan is not None else ()
    baseline = {s.course.code: s for s in course_standings(plan, case.best, case.exceptions)} \
        if plan is not None and what_if else {}
    hypothesised = {h.course_code for h in hypotheses}
    rows = [_course_row(st, baseline.get(st.course.code), hypothesised) for st in standings]
    form_state = case.form_state
    names = {c.code: c.name for c in plan.distinct_courses} if plan is not None else {}
    conditions = graduation.conditions_of(case.batch)
    # what is met is read off the rules' own reasons (no second copy of a condition here)
    unmet = {r.code for r in verdict.reasons}
    # 已毕业 (published, or imported with 学籍状态 毕业): graduation is settled, no 预计结论 to show
    graduated = has_graduated(graduation.confirm_state(case.audit), student.status)
    return {
        "student": student,
        "batch_name": case.batch.name if case.batch is not None else "",
        "conditions": conditions,
        "plan": plan,
        "groups": [
            {"label": label(CourseNature.REQUIRED), "courses": [r for r in rows if r["required"]]},
            {"label": label(CourseNature.ELECTIVE), "courses": [r for r in rows if not r["required"]]},
        ],
        "totals": {
            "passed_courses": progress.passed_courses,
            "total": format_number(progress.total_credits),
            "total_min": format_number(plan.min_total_credits) if plan is not None else "",
            "total_ok": plan is not None and "total_credits_short" not in unmet,
            "elective": format_number(progress.elective_credits),
            "elective_min": format_number(plan.min_elective_credits) if plan is not None else "",
            "elective_ok": plan is not None and "elective_credits_short" not in unmet,
        },
        "form_label": label(form_state, FormState) if form_state else "未填写",
        "form_ok": "form_not_submitted" not in unmet,
        "has_photo": bool(student.photo_path),
        "photo_ok": "photo_missing" not in unmet,
        "live": _verdict_view(live_verdict),
        "verdict": _verdict_view(verdict),
        "what_if": what_if,
        "hypotheses": [{"code": h.course_code, "name": names.get(h.course_code, h.course_code),
                        "score": format_number(h.score)} for h in hypotheses],
        "course_choices": course_choices(plan),
        "max_hypotheses": MAX_HYPOTHESES,
        "graduated": graduated,
        "degree": _degree_part(student, case, best, verdict, rows, graduated),
        "live_note": LIVE_NOTE,
        "what_if_note": WHATIF_NOTE,
    }

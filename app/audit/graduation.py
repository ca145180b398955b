"""Graduation audit rules (毕业审核, SPEC §3 item 3) as a pure function.

Given a student's facts, teaching plan and best scores, decide 预毕业 or 不合格 and list
every reason precisely, in a fixed order: 学籍状态, 教学计划, 必修课程 (plan order),
学分, 毕业生登记表, 毕业照片.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.audit.exceptions import exception_notes, passed_and_score
from app.audit.scores import Progress, course_progress, format_number
from app.audit.types import NO_EXCEPTIONS, Exceptions, Plan, Reason, Verdict
from app.statuses import EnrolmentStatus, FormState, GraduationResult, label

NO_PLAN_MESSAGE = "未找到该生对应的教学计划（专业/层次/年级）"
_FORM_DONE = {FormState.SUBMITTED.value, FormState.REVIEWED.value}


@dataclass(frozen=True, slots=True)
class GraduationFacts:
    """Non-grade facts the graduation audit needs.

    Attributes:
        enrolment_status: ``EnrolmentStatus`` value.
        form_state: ``FormState`` value, or ``None`` when no 毕业生登记表 exists.
        has_photo: True when a graduation photo is uploaded.
    """

    enrolment_status: str
    form_state: str | None
    has_photo: bool


@dataclass(frozen=True, slots=True)
class GraduationConditions:
    """Which conditions of the 毕业批次 are in force (a/b/c of SPEC §3 item 3); all by default.

    Attributes:
        plan_courses: a. 教学计划课程 — required courses passed, total and elective credits reached.
        form: b. 毕业生登记表 submitted.
        photo: c. 毕业照片 uploaded.

    学籍状态 在籍 and an existing teaching plan are always required: a missing plan is a data
    problem the registrar must see whatever the batch says.
    """

    plan_courses: bool = True
    form: bool = True
    photo: bool = True


ALL_CONDITIONS = GraduationConditions()


def _status_label(code: str) -> str:
    """Chinese label of an enrolment status code, the raw code if unknown."""
    try:
        return label(code, EnrolmentStatus)
    except ValueError:
        return str(code)


def _plan_reasons(plan: Plan, best: Mapping[str, float], progress: Progress,
                  exceptions: Exceptions) -> list[Reason]:
    """Reasons about required courses and credits of an existing plan (``progress`` against that plan)."""
    reasons: list[Reason] = []
    all_required_passed = progress.required_passed == plan.distinct_required
    for course in () if all_required_passed else plan.required_courses:
        passed, score = passed_and_score(course, best, exceptions)
        if passed:
            continue
        credits = format_number(course.credits)
        if score is None:
            message = f"必修课程未通过：{course.name}（{credits}学分）"
        else:
            message = f"必修课程未通过：{course.name}（{credits}学分，最高成绩 {format_number(score)}）"
        reasons.append(Reason(
            "missing_required_course",
            message,
            {"course_code": course.code, "course_name": course.name,
             "credits": course.credits, "best_score": score},
        ))
    if progress.total_credits < plan.min_total_credits:
        reasons.append(Reason(
            "total_credits_short",
            f"已获总学分 {format_number(progress.total_credits)}，"
            f"低于毕业最低总学分 {format_number(plan.min_total_credits)}",
            {"earned": progress.total_credits, "required": plan.min_total_credits},
        ))
    if progress.elective_credits < plan.min_elective_credits:
        reasons.append(Reason(
            "elective_credits_short",
            f"选修学分 {format_number(progress.elective_credits)}，"
            f"低于选修最低学分 {format_number(plan.min_elective_credits)}",
            {"earned": progress.elective_credits, "required": plan.min_elective_credits},
        ))
    return reasons


def audit_graduation(facts: GraduationFacts, plan: Plan | None, best: Mapping[str, float],
                     conditions: GraduationConditions = ALL_CONDITIONS,
                     exceptions: Exceptions = NO_EXCEPTIONS) -> Verdict:
    """Check one student against the graduation conditions.

    Args:
        facts: 学籍状态, 毕业生登记表 state and photo presence.
        plan: The student's teaching plan, or ``None`` when none exists.
        best: Best score per course code (see ``scores.best_scores``).
        conditions: The batch's conditions in force; one switched off gives no reason of its kind.
        exceptions: The student's approved course exceptions keyed by plan course code: each plan
            course stands as ``exceptions.course_standing`` decides.

    Returns:
        ``GraduationResult.PRE_GRADUATE`` when no reason is found, otherwise
        ``GraduationResult.FAILED`` with every reason. ``notes`` name the exceptions in force.
    """
    return audit_graduation_with_progress(facts, plan, best, conditions, exceptions)[0]


def audit_graduation_with_progress(facts: GraduationFacts, plan: Plan | None, best: Mapping[str, float],
                                   conditions: GraduationConditions = ALL_CONDITIONS,
                                   exceptions: Exceptions = NO_EXCEPTIONS) -> tuple[Verdict, Progress]:
    """``audit_graduation`` plus the 已通过课程数/已获总学分 figures of the student's plan (always counted,
    whatever the conditions: the snapshot shows them).

    The batch audit stores both (result and snapshot); computing the progress once instead of
    twice per student is a fifth of the audit's rule time at a year's cohort.
    """
    progress = course_progress(plan, best, exceptions)
    reasons: list[Reason] = []
    if facts.enrolment_status != EnrolmentStatus.ENROLLED.value:
        status_label = _status_label(facts.enrolment_status)
        reasons.append(Reason(
            "not_enrolled",
            f"学籍状态为{status_label}，不是{label(EnrolmentStatus.ENROLLED)}",
            {"status": facts.enrolment_status, "status_label": status_label},
        ))
    if plan is None:
        reasons.append(Reason("no_plan", NO_PLAN_MESSAGE, {}))
    elif conditions.plan_courses:
        reasons.extend(_plan_reasons(plan, best, progress, exceptions))
    if conditions.form and facts.form_state not in _FORM_DONE:
        message = "未填写毕业生登记表" if facts.form_state is None else "毕业生登记表未提交"
        reasons.append(Reason("form_not_submitted", message, {"form_state": facts.form_state}))
    if conditions.photo and not facts.has_photo:
        reasons.append(Reason("photo_missing", "未上传毕业照片", {}))
    result = GraduationResult.FAILED if reasons else GraduationResult.PRE_GRADUATE
    notes = exception_notes(plan.distinct_courses, best, exceptions) if plan is not None and exceptions else ()
    return Verdict(result.value, tuple(reasons), notes), progress

"""What the student detail page and 学生空间 show, and the 毕业生登记表 a student saves."""
from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from app.audit.confirmation import CONFIRM_LABELS, graduation_state, graduation_state_label
from app.audit.exceptions import course_standings
from app.audit.types import NO_EXCEPTIONS, NOTE_CODE, Reason
from app.extensions import db
from app.models.account import Account
from app.models.base import utcnow
from app.models.graduation import GraduateForm, GraduationAudit, GraduationSnapshot
from app.models.student import Student
from app.security import Scope, student_scope_clause
from app.services import facts, oplog
from app.services.errors import DomainError, NotFound
from app.services.graduation.inputs import active_batch, preview
from app.services.graduation.results import (
    FAILED,
    FORM_MAX_CHARS,
    UNAUDITED,
    confirm_state,
    failure_reasons,
    reasons_of,
    result_label,
)
from app.statuses import (
    ConfirmState,
    CourseState,
    FormState,
    GraduationResult,
    label,
)

# 学生空间's one status line: graduation_state's label and, where the student waits for someone, for whom
_STATE_NOTES = {
    GraduationResult.PRE_GRADUATE.value: "等待教学点确认毕业",
    ConfirmState.CONFIRMED.value: "教学点已确认毕业，等待继教院发布",
}


def state_label(state: str) -> str:
    """Chinese label of a ``graduation_state`` (``confirmation.graduation_state_label``)."""
    return graduation_state_label(state)


def load_student(student_id: int, scope: Scope) -> Student:
    """One student through the scope, or NotFound (views answer 404)."""
    student = db.session.scalar(select(Student).where(Student.id == student_id, student_scope_clause(scope)))
    if student is None:
        raise NotFound(gettext("学生不存在或不在您的管理范围内"))
    return student


def student_detail(student_id: int, scope: Scope) -> dict:
    """Everything the detail page shows: facts, plan progress, result, override, preview, history."""
    student = load_student(student_id, scope)
    audit = db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == student.id))
    batch = audit.batch if audit is not None else active_batch(student)
    plan = facts.plan_for(student)
    best = facts.best_scores_for([student.id])[student.id]
    exceptions = facts.approved_exceptions_for([student.id]).get(student.id, NO_EXCEPTIONS)
    courses = []
    if plan is not None:
        natures = {c.course_code: c.nature_label for c in plan.courses}
        for st in course_standings(facts.rule_plan(plan), best, exceptions):
            courses.append({"code": st.course.code, "name": st.course.name, "label": st.label,
                            "credits": st.course.credits, "nature": natures[st.course.code], "best": st.score,
                            "passed": st.passed, "state_label": label(st.state, CourseState)})
    form = db.session.scalar(select(GraduateForm).where(GraduateForm.student_id == student.id))
    snapshots = db.session.execute(
        select(GraduationSnapshot).where(GraduationSnapshot.student_id == student.id)
        .order_by(GraduationSnapshot.created_at.desc(), GraduationSnapshot.id.desc())
    ).scalars().all()
    override_by = db.session.get(Account, audit.override_by_id) if audit is not None and audit.override_by_id else None
    verdict = preview(student)
    return {
        "student": student,
        "audit": audit,
        "batch": batch,
        "plan": plan,
        "courses": courses,
        "form": form,
        "reasons": failure_reasons(audit),
        "notes": [r for r in reasons_of(audit) if r.code == NOTE_CODE],
        "result_label": result_label(audit.result if audit else None),
        "computed_label": result_label(audit.computed_result) if audit is not None and audit.computed_result else "",
        "confirm_label": CONFIRM_LABELS[confirm_state(audit)],
        "override_by": override_by,
        "preview": verdict,
        "preview_label": result_label(verdict.result),
        "snapshots": [
            {"at": s.created_at, "task_id": s.task_id, "result_label": result_label(s.result),
             "reasons": [Reason.from_dict(d) for d in (s.reasons or [])],
             "passed_courses": s.passed_courses, "earned_credits": s.earned_credits}
            for s in snapshots
        ],
    }


def _form_of(student: Student) -> GraduateForm | None:
    return db.session.scalar(select(GraduateForm).where(GraduateForm.student_id == student.id))


def student_view(student: Student) -> dict:
    """What 学生空间 shows about the student's own graduation (no staff-only notes)."""
    audit = db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == student.id))
    form = _form_of(student)
    result = audit.result if audit is not None else UNAUDITED
    state = confirm_state(audit)
    overall = graduation_state(result, audit.confirmed_at if audit else None, audit.published_at if audit else None)
    return {
        "state": overall,  # one state for the status line: 已毕业 > 已确认 > the audit result
        "state_label": state_label(overall),
        "state_note": _STATE_NOTES.get(overall, ""),
        "confirm_state": state,
        "result": result,
        "result_label": result_label(result),
        "reasons": [r.message for r in failure_reasons(audit)] if result == FAILED else [],
        "notes": [r.message for r in reasons_of(audit) if r.code == NOTE_CODE],
        "confirmed": state in (ConfirmState.CONFIRMED.value, ConfirmState.PUBLISHED.value),
        "graduated": state == ConfirmState.PUBLISHED.value,
        "confirm_label": CONFIRM_LABELS[state],
        "diploma_no": audit.diploma_no if audit is not None else None,
        "graduation_date": audit.graduation_date if audit is not None else None,
        "form_state": form.state if form is not None else None,
        "form_state_label": form.state_label if form is not None else label(FormState.DRAFT),
        "form_text": form.self_assessment if form is not None else "",
        "form_editable": form is None or form.state == FormState.DRAFT.value,
        "form_max_chars": FORM_MAX_CHARS,
        "has_photo": bool(student.photo_path),
    }


def save_form(student: Student, text: str, submit: bool, actor: Account | None) -> GraduateForm:
    """Save or submit the 毕业生登记表's 自我鉴定; a submitted form can no longer be edited."""
    text = (text or "").strip()
    form = _form_of(student)
    if form is not None and form.state != FormState.DRAFT.value:
        raise DomainError(gettext("毕业生登记表已提交，不能再修改"))
    if len(text) > FORM_MAX_CHARS:
        raise DomainError(gettext("自我鉴定不能超过 %(max)s 字（当前 %(n)s 字）", max=FORM_MAX_CHARS, n=len(text)))
    if submit and not text:
        raise DomainError(gettext("请填写自我鉴定后再提交"))
    if form is None:
        form = GraduateForm(student_id=student.id, self_assessment=text, state=FormState.DRAFT.value)
        db.session.add(form)
    form.self_assessment = text
    if submit:
        form.state = FormState.SUBMITTED.value
        form.submitted_at = utcnow()
    db.session.flush()
    if submit:
        oplog.record(actor=actor, action="form_submit", record=form, student=student,
                     old=label(FormState.DRAFT), new=label(FormState.SUBMITTED))
    return form

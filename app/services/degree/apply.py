"""学位申请: the student applies in 学生空间, or an admin registers it (代为申请); what 学生空间 shows."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select

from app.audit import degree as degree_rules
from app.audit.confirmation import confirm_state, in_window
from app.audit.types import failure_messages
from app.clock import local_now
from app.extensions import db
from app.i18n import label_text, word
from app.models import DegreeApplication, GraduationAudit, Student
from app.models.base import utcnow
from app.security import student_scope_clause
from app.services import oplog
from app.services.degree.common import (
    NOT_AUDITED_TEXT,
    NOT_MET,
    _admin_scope,
    _window_text,
    active_batch,
    degree_level,
    fmt_time,
)
from app.services.errors import DomainError, NotAllowed, NotFound
from app.statuses import DegreeApplicationState, DegreeConditionResult, GraduationResult, label


def _graduation_allows(student: Student) -> tuple[bool, str]:
    """Whether the student's graduation lets them apply (``may_apply_for_degree``), and the result shown if not."""
    row = db.session.execute(
        select(GraduationAudit.result, GraduationAudit.confirmed_at, GraduationAudit.published_at)
        .where(GraduationAudit.student_id == student.id)
    ).first()
    result, state = (row.result, confirm_state(row.confirmed_at, row.published_at)) if row is not None else (None, None)
    if degree_rules.may_apply_for_degree(result, state, student.status):
        return True, ""
    return False, label_text(result or GraduationResult.UNAUDITED.value, GraduationResult)


def _apply(student: Student, actor, now: dt.datetime | None) -> DegreeApplication:
    if not degree_level(student.level):
        raise DomainError(gettext("%(level)s层次的学生不能申请学位", level=word(student.level_label)))
    batch = active_batch(student)
    if batch is None:
        raise DomainError(gettext("当前没有可申请的学位批次"))
    now = now or local_now()
    if not in_window(batch.apply_start, batch.apply_end, now):
        raise DomainError(gettext("不在学位申请时间内（%(batch)s：%(window)s）", batch=batch.name,
                                  window=_window_text(batch)))
    already = db.session.scalar(select(DegreeApplication.id).where(
        DegreeApplication.batch_id == batch.id, DegreeApplication.student_id == student.id))
    if already is not None:
        raise DomainError(gettext("%(name)s已提交过学位申请", name=student.name))
    ok, shown = _graduation_allows(student)
    if not ok:
        raise DomainError(gettext("%(name)s的毕业审核结果为%(result)s，需为预毕业或已毕业，暂不能申请学位",
                                  name=student.name, result=shown))
    app = DegreeApplication(batch_id=batch.id, student_id=student.id, applied_at=utcnow(),
                            applied_by_id=getattr(actor, "id", None),
                            result=DegreeConditionResult.UNAUDITED.value)
    db.session.add(app)
    db.session.flush()
    who = "本人申请" if getattr(actor, "student_id", None) == student.id else "代为申请"
    oplog.record(actor=actor, action="degree_apply", record=app, student=student,
                 old=label(DegreeApplicationState.NOT_APPLIED), new=label(DegreeApplicationState.APPLIED), reason=who)
    return app


def apply(student: Student, actor, now: dt.datetime | None = None) -> DegreeApplication:
    """学位申请 by the student in 学生空间, inside the active batch's window.

    Args:
        student: The applicant.
        actor: The account applying (the student's own account).
        now: Asia/Shanghai wall time; defaults to the clock (tests pass it).
    """
    if getattr(actor, "student_id", None) != student.id:
        raise NotAllowed(gettext("只能为本人申请学位"))
    return _apply(student, actor, now)


def register_application(student_id: int, actor, now: dt.datetime | None = None) -> DegreeApplication:
    """代为申请: an admin registers an application for a student of their scope, same rules."""
    scope = _admin_scope(actor)
    student = db.session.scalar(select(Student).where(Student.id == student_id, student_scope_clause(scope)))
    if student is None:
        raise NotFound("学生不存在或不在您的管理范围内")
    return _apply(student, actor, now)


def register_applications(student_ids: Sequence[Any], actor, now: dt.datetime | None = None) -> int:
    """代为申请 for the ticked students; any refusal refuses them all (the request rolls back)."""
    try:
        ids = sorted({int(i) for i in student_ids})
    except (TypeError, ValueError):
        raise NotFound("学生不存在或不在您的管理范围内") from None
    if not ids:
        raise DomainError(gettext("请勾选要代为申请的学生"))
    scope = _admin_scope(actor)
    found = db.session.scalar(select(func.count()).where(Student.id.in_(ids), student_scope_clause(scope)))
    if found != len(ids):
        raise NotFound("学生不存在或不在您的管理范围内")
    for sid in ids:
        register_application(sid, actor, now)
    return len(ids)


def _why_not(view: dict[str, Any], student: Student, allowed: bool, graduation_label: str) -> str:
    """The one reason, addressed to the student, why they cannot apply now ("" when they can or did)."""
    if view["applied"]:
        return ""
    if not view["eligible"]:
        return gettext("你的层次为%(level)s，不授予学士学位，不能申请学位。", level=word(student.level_label))
    if view["batch"] is None:
        return gettext("当前没有你可以申请的学位批次，暂不能申请学位。")
    if not allowed:
        return gettext("你的毕业审核结果为%(result)s，暂不能申请学位。", result=graduation_label)
    if not view["window_open"]:
        return gettext("学位申请时间为 %(window)s，现在不在申请时间内，暂不能申请学位。", window=view["window"])
    return ""


def student_view(student: Student) -> dict:
    """What 学生空间 shows about the degree: batch and window, application, 达标状态, and whether the student may
    apply now (``can_apply``: the same graduation check as ``apply``) or, if not, why (``why_not``).

    达标状态 and its reasons appear only once a 学位条件审核 has run for the application.
    """
    batch = active_batch(student)
    app = None
    if batch is not None:
        app = db.session.scalar(select(DegreeApplication).where(
            DegreeApplication.batch_id == batch.id, DegreeApplication.student_id == student.id))
    if app is None:
        app = db.session.scalar(select(DegreeApplication).where(DegreeApplication.student_id == student.id)
                                .order_by(DegreeApplication.id.desc()).limit(1))
        if app is not None:
            batch = app.batch
    now = local_now()
    window_open = batch is not None and in_window(batch.apply_start, batch.apply_end, now)
    audited = app is not None and app.computed_at is not None
    allowed, graduation_label = _graduation_allows(student)  # the very check ``apply`` makes
    view: dict[str, Any] = {
        "eligible": degree_level(student.level),
        "batch": batch,
        "batch_name": batch.name if batch else "",
        "window": _window_text(batch) if batch else "",
        "window_open": window_open,
        "applied": app is not None,
        "applied_at": fmt_time(app.applied_at) if app else "",
        "can_apply": app is None and window_open and degree_level(student.level) and allowed,
        "audited": audited,
        "status_text": word(NOT_AUDITED_TEXT),
        "result": None,
        "result_label": "",
        "reasons": [],
        "final": bool(app and app.final_at),
        "published": bool(app and app.published_at),
        "degree_no": app.degree_no if app else None,
        "granted_on": app.granted_on if app else None,
    }
    view["why_not"] = "" if view["can_apply"] else _why_not(view, student, allowed, graduation_label)
    if app is not None and audited:
        view["result"] = app.result
        view["result_label"] = label_text(app.result, DegreeConditionResult)
        view["status_text"] = view["result_label"]
        if app.result == NOT_MET:
            view["reasons"] = failure_messages(app.computed_reasons) \
                if app.override_result is None else [gettext("授予结论经人工核实修改：%(reason)s",
                                                             reason=app.override_reason or "")]
    return view



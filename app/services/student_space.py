"""学生空间's degree section: whether the student may apply now, and if not, one sentence to them saying why.

``degree.student_view`` says what exists (batch, window, application, 达标状态); this adds the graduation
condition of ``app.audit.degree.may_apply_for_degree`` (the rule the application itself enforces), so the
申请学位 button appears only when applying would be accepted.
"""
from __future__ import annotations

from typing import Any

from app.audit.degree import may_apply_for_degree
from app.models.student import Student
from app.services import degree
from app.services.graduation.results import result_label


def why_not_text(view: dict[str, Any], student: Student, graduation: dict[str, Any], allowed: bool) -> str:
    """The one reason, addressed to the student, why they cannot apply now ("" when they can or did)."""
    if view["applied"]:
        return ""
    if not view["eligible"]:
        return f"你的层次为{student.level_label}，不授予学士学位，不能申请学位。"
    if view["batch"] is None:
        return "当前没有你可以申请的学位批次，暂不能申请学位。"
    if not allowed:
        return f"你的毕业审核结果为{result_label(graduation['result'])}，暂不能申请学位。"
    if not view["window_open"]:
        return f"学位申请时间为 {view['window']}，现在不在申请时间内，暂不能申请学位。"
    return ""


def degree_view(student: Student, graduation: dict[str, Any]) -> dict[str, Any]:
    """``degree.student_view`` with ``can_apply`` narrowed by the graduation condition and ``why_not``.

    ``graduation`` is ``graduation.student_view(student)`` (its ``result`` and ``confirm_state``).
    """
    view = degree.student_view(student)
    allowed = may_apply_for_degree(graduation["result"], graduation["confirm_state"], student.status)
    view["can_apply"] = bool(view["can_apply"] and allowed)
    view["why_not"] = "" if view["can_apply"] else why_not_text(view, student, graduation, allowed)
    return view

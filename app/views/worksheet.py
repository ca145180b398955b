"""毕业进度 pages: the student's own (学生空间) and an admin's (审核预览 of one student), one page helper.

What-if rows come as ``?course=…&score=…`` (repeated): a what-if writes nothing, so it is a plain GET and
reopening the page without them shows the live figures again.
"""
from __future__ import annotations

from flask import request

from app.models.student import Student
from app.services import worksheet
from app.services.errors import DomainError


def form_rows(codes: list[str], scores: list[str]) -> list[tuple[str, str]]:
    """The what-if rows shown again in the form (as typed, at most the allowed number) plus one blank row."""
    rows = [(c, s) for c, s in zip(codes, scores, strict=False) if c.strip() or s.strip()]
    return rows[:worksheet.MAX_HYPOTHESES] + [("", "")]


def worksheet_page(view, student: Student, template: str, *, form_action: str, **extra):
    """Render the worksheet of ``student`` (already checked against the caller's scope) with the request's
    what-if rows; a bad row shows its Chinese message above the live figures."""
    codes, scores = request.args.getlist("course"), request.args.getlist("score")
    error = None
    try:
        sheet = worksheet.worksheet(student, codes, scores)
    except DomainError as exc:
        error = exc.message
        sheet = worksheet.worksheet(student)
        codes, scores = [], []
    return view.render_template(template, sheet=sheet, error=error, form_action=form_action,
                                rows=form_rows(codes, scores), **extra)

"""What the workflow lists show and count: the cells of a page of students, and how many rows a bulk
action without ticked rows would act on (the number its confirmation states)."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.audit.confirmation import CONFIRM_LABELS
from app.extensions import db
from app.models.graduation import GraduationAudit
from app.models.student import Student
from app.security import Scope
from app.services import degree, graduation
from app.services.common import count_rows, place_names


def graduation_rows(students: Sequence[Student]) -> list[dict]:
    """The 毕业审核管理 / 毕业生列表 cells of one page of students: two queries, not one per row.

    The audit rows come in one query, the names of 专业 and 教学点 in one each.
    """
    ids = [s.id for s in students]
    if not ids:
        return []
    audits = {a.student_id: a for a in db.session.scalars(
        select(GraduationAudit).where(GraduationAudit.student_id.in_(ids)))}
    majors, sites = place_names(students)
    rows = []
    for student in students:
        audit = audits.get(student.id)
        state = graduation.confirm_state(audit)
        result = audit.result if audit is not None else graduation.UNAUDITED
        rows.append({
            "student": student,
            "audit": audit,
            "site_name": sites.get(student.site_id, ""),
            "major_name": majors.get(student.major_id, ""),
            "result": result,
            "result_label": graduation.result_label(result),
            "reasons": graduation.failure_reasons(audit),
            "override": audit is not None and audit.is_override,
            "confirm_state": state,
            "confirm_label": CONFIRM_LABELS[state],
        })
    return rows


def degree_filter_count(scope: Scope, flt: degree.DegreeFilter, *, stage: str = degree.PENDING) -> int:
    """Applications of the filter in the scope at ``stage`` (学位条件审核, 初审, 批量终审, the 汇总表)."""
    return count_rows(degree.applications_select(scope, flt, stage=stage))

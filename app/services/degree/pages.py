"""What the degree pages and the dashboard show: filter choices, table rows, the detail page, counts."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask_babel import gettext
from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager

from app.audit.scores import format_number
from app.audit.types import failure_messages
from app.extensions import db
from app.models import Account, DegreeApplication, DegreeBatch, DegreeSnapshot, Major, Organisation, Student
from app.security import Scope, student_scope_clause
from app.services.common import place_names
from app.services.degree.common import (
    BACHELOR_LEVELS,
    MET,
    NEWEST_BATCH_FIRST,
    NOT_MET,
    _window_text,
    batch_level_label,
    fmt_time,
)
from app.services.degree.figures import average_text, gather_facts, language_text
from app.services.degree.filters import (
    ANY,
    applications_select,
)
from app.services.errors import NotFound
from app.statuses import DegreeApplicationState, DegreeConditionResult, Level, OrgKind, ReviewOpinion, label


def filter_options(scope: Scope) -> dict:
    """Choices of the filter bar, limited to what the scope may see."""
    batches = list(db.session.scalars(select(DegreeBatch).order_by(*NEWEST_BATCH_FIRST)))
    in_scope = select(Student.site_id).where(student_scope_clause(scope))
    sites_stmt = select(Organisation).where(Organisation.kind == OrgKind.SITE.value).order_by(Organisation.code)
    majors_stmt = select(Major).order_by(Major.code)
    if not scope.is_all:
        sites_stmt = sites_stmt.where(Organisation.id.in_(in_scope))
        majors_stmt = majors_stmt.where(Major.id.in_(select(Student.major_id).where(student_scope_clause(scope))))
    grades = sorted({b.enrol_grade for b in batches}, reverse=True)
    return {
        "batches": [(b.id, b.name) for b in batches],
        "sites": [(o.id, o.name) for o in db.session.scalars(sites_stmt)],
        "majors": [(m.id, m.name) for m in db.session.scalars(majors_stmt)],
        "grades": grades,
        "levels": [(lv, label(lv, Level)) for lv in BACHELOR_LEVELS],
        "applied": [(m.value, label(m)) for m in DegreeApplicationState],
        "results": [(m.value, label(m)) for m in DegreeConditionResult],
    }


def _accounts(ids: Iterable[int | None]) -> dict[int | None, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {a.id: (f"{a.first_name}{a.last_name or ''}" or a.username)
            for a in db.session.scalars(select(Account).where(Account.id.in_(wanted)))}


def _student_cells(s: Student) -> dict:
    return {"student_id": s.id, "student_no": s.student_no, "name": s.name, "grade": s.enrol_grade,
            "level": s.level_label, "major": s.major.name if s.major else "", "site": s.site.name if s.site else ""}


def student_rows(students: Sequence[Student]) -> list[dict]:
    """Plain rows of 未申请 students (学号 … 教学点): the names of 专业 and 教学点 in one query each."""
    majors, sites = place_names(students)
    return [{"id": s.id, "student_id": s.id, "student_no": s.student_no, "name": s.name, "grade": s.enrol_grade,
             "level": s.level_label, "major": majors.get(s.major_id, ""), "site": sites.get(s.site_id, "")}
            for s in students]


def application_rows(apps: Sequence[DegreeApplication]) -> list[dict]:
    """Plain rows for the tables: student cells, figures, result, override, 初审, 终审, 发布."""
    facts = gather_facts([a.student for a in apps])
    people = _accounts(i for a in apps for i in (a.reviewed_by_id, a.final_by_id, a.override_by_id))
    rows = []
    for a in apps:
        f = facts.get(a.student_id)
        rows.append({
            "id": a.id,
            **_student_cells(a.student),
            "applied_at": fmt_time(a.applied_at),
            "language": language_text(f),
            "average": average_text(f),
            "result": a.result,
            "result_label": label(a.result, DegreeConditionResult),
            "audited": a.computed_at is not None,
            "reasons": failure_messages(a.computed_reasons),
            "override": a.override_result is not None,
            "override_label": label(a.override_result, DegreeConditionResult) if a.override_result else "",
            "override_reason": a.override_reason or "",
            "override_by": people.get(a.override_by_id, ""),
            "override_at": fmt_time(a.override_at),
            "review_opinion": a.review_opinion,
            "review_label": label(a.review_opinion, ReviewOpinion) if a.review_opinion else "",
            "review_comment": a.review_comment or "",
            "reviewed_by": people.get(a.reviewed_by_id, ""),
            "reviewed_at": fmt_time(a.reviewed_at),
            "signature_id": a.review_signature_id,
            "final": a.final_at is not None,
            "final_label": "已终审" if a.final_at else "未终审",
            "final_by": people.get(a.final_by_id, ""),
            "final_at": fmt_time(a.final_at),
            "published": a.published_at is not None,
            "published_label": "已发布" if a.published_at else "未发布",
            "degree_no": a.degree_no or "",
            "granted_on": a.granted_on.isoformat() if a.granted_on else "",
        })
    return rows


def application_detail(scope: Scope, application_id: int) -> dict:
    """One application through the scope: reasons, audit history (snapshots), review, 终审, 发布."""
    app = db.session.scalar(applications_select(scope, stage=ANY).where(DegreeApplication.id == application_id)
                            .options(contains_eager(DegreeApplication.student)))
    if app is None:
        raise NotFound(gettext("学位申请不存在或不在您的管理范围内"))
    snapshots = list(db.session.scalars(
        select(DegreeSnapshot).where(DegreeSnapshot.application_id == app.id)
        .order_by(DegreeSnapshot.created_at.desc(), DegreeSnapshot.id.desc())))
    history = [{
        "task_id": s.task_id,
        "at": fmt_time(s.created_at),
        "result_label": label(s.result, DegreeConditionResult),
        "average": "" if s.average is None else format_number(s.average),
        "reasons": failure_messages(s.reasons),
    } for s in snapshots]
    batch = app.batch
    return {
        "row": application_rows([app])[0],
        "batch": batch,
        "batch_level": batch_level_label(batch.level),
        "window": _window_text(batch),
        "applied_at": fmt_time(app.applied_at),
        "applied_by": _accounts([app.applied_by_id]).get(app.applied_by_id, ""),
        "computed_label": label(app.computed_result, DegreeConditionResult) if app.computed_result else "",
        "computed_at": fmt_time(app.computed_at),
        "history": history,
    }


# --------------------------------------------------------------------------- dashboard


def degree_counts(scope: Scope) -> list[dict]:
    """Per teaching site and per college: 已申请/已达标/未达标/初审/终审/已授予, one GROUP BY each.

    Returns:
        Rows ``{"kind": "site"|"college", "org_id", "org_name", "已申请", "已达标", "未达标", "初审",
        "终审", "已授予"}``, sites first, each group ordered by organisation code. "初审" counts
        applications with an opinion (同意 or 不同意).
    """
    def measures():
        total = func.count(DegreeApplication.id)
        return (
            total,
            func.sum(case((DegreeApplication.result == MET, 1), else_=0)),
            func.sum(case((DegreeApplication.result == NOT_MET, 1), else_=0)),
            func.sum(case((DegreeApplication.review_opinion.is_not(None), 1), else_=0)),
            func.sum(case((DegreeApplication.final_at.is_not(None), 1), else_=0)),
            func.sum(case((DegreeApplication.published_at.is_not(None), 1), else_=0)),
        )

    keys = ("已申请", "已达标", "未达标", "初审", "终审", "已授予")
    rows: list[dict] = []
    for kind, column in (("site", Student.site_id), ("college", Student.college_id)):
        stmt = (
            select(Organisation.id, Organisation.name, *measures())
            .select_from(DegreeApplication)
            .join(Student, Student.id == DegreeApplication.student_id)
            .join(Organisation, Organisation.id == column)
            .where(student_scope_clause(scope))
            .group_by(Organisation.id, Organisation.name, Organisation.code)
            .order_by(Organisation.code)
        )
        for org_id, name, *values in db.session.execute(stmt):
            rows.append({"kind": kind, "org_id": org_id, "org_name": name,
                         **{k: int(v or 0) for k, v in zip(keys, values, strict=True)}})
    return rows

"""首页看板 (SPEC §6): graduation states per teaching site and college, and the commonest failure reasons.

States are counted in SQL (one GROUP BY per organisation kind) over the students due for audit:
those in a graduation batch or with an audit row. Reasons are tallied in Python from one query
that selects only the reasons column (portable across SQLite and PostgreSQL JSON types).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import exists, func, or_, select

from app.audit.confirmation import batch_matches_sql, graduation_state_label, graduation_state_sql
from app.audit.types import NOTE_CODE
from app.extensions import db
from app.models.graduation import GraduationAudit, GraduationBatch
from app.models.org import Organisation
from app.models.student import Student
from app.security import Scope, student_scope_clause
from app.services.degree import degree_counts
from app.statuses import GraduationResult

# Display order of the states; 已确认 / 已毕业 take precedence over the audit result.
STATES = ["unaudited", "pre_graduate", "failed", "confirmed", "published"]
STATE_LABELS = {state: graduation_state_label(state) for state in STATES}
TOP_REASONS = 10


def _state_expr():
    """One state per student (``confirmation.graduation_state``): 已毕业 > 已确认 > the audit result."""
    return graduation_state_sql(GraduationAudit.result, GraduationAudit.confirmed_at, GraduationAudit.published_at)


def _due_clause():
    """Students the graduation audit concerns: in a batch (``confirmation.batch_matches``), or already audited."""
    return or_(GraduationAudit.id.is_not(None), exists().where(batch_matches_sql(Student, GraduationBatch)))


def state_counts(scope: Scope, org_column) -> list[dict[str, Any]]:
    """Rows ``{"org_id", "name", "counts": {state: n}, "total"}`` grouped by ``org_column`` in SQL."""
    state = _state_expr().label("state")
    stmt = (
        select(org_column, state, func.count(Student.id))
        .select_from(Student)
        .outerjoin(GraduationAudit, GraduationAudit.student_id == Student.id)
        .where(student_scope_clause(scope), _due_clause())
        .group_by(org_column, state)
    )
    per_org: dict[int, dict[str, int]] = {}
    for org_id, st, n in db.session.execute(stmt):
        per_org.setdefault(org_id, dict.fromkeys(STATES, 0))[st] = int(n)
    names: dict[int, str] = {org_id: name for org_id, name in db.session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(list(per_org)))
    )} if per_org else {}
    rows: list[dict[str, Any]] = []
    for org_id, counts in per_org.items():
        total = sum(counts.values())
        rows.append({
            "org_id": org_id,
            "name": names.get(org_id, str(org_id)),
            "counts": counts,
            "total": total,
            "percent": {k: (round(100.0 * v / total, 1) if total else 0.0) for k, v in counts.items()},
        })
    rows.sort(key=lambda r: r["name"])
    return rows


def top_reasons(scope: Scope, limit: int = TOP_REASONS) -> list[dict[str, Any]]:
    """The failure reason codes shared by most 不合格 students (students counted), with one example message."""
    stmt = (
        select(GraduationAudit.computed_reasons)
        .join(Student, Student.id == GraduationAudit.student_id)
        .where(student_scope_clause(scope), GraduationAudit.result == GraduationResult.FAILED.value,
               GraduationAudit.computed_reasons.is_not(None))
        .order_by(GraduationAudit.student_id)  # the example is the first student's message, on every database
        .execution_options(yield_per=1000)
    )
    counter: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for (reasons,) in db.session.execute(stmt):
        seen: set[str] = set()  # count students, not occurrences (two missing courses = one student)
        for reason in reasons or []:
            code = reason.get("code") if isinstance(reason, dict) else None
            if not code or code in seen or code == NOTE_CODE:  # a line naming a course exception is no failure
                continue
            seen.add(code)
            counter[code] += 1
            examples.setdefault(code, reason.get("message", ""))
    most = counter.most_common(limit)
    peak = most[0][1] if most else 0
    return [
        {"code": code, "count": n, "example": examples.get(code, ""),
         "percent": round(100.0 * n / peak, 1) if peak else 0.0}
        for code, n in most
    ]


def dashboard_for(scope: Scope) -> dict[str, Any]:
    """Everything the home page shows for the scope.

    Keys: ``states`` (ordered state codes), ``state_labels``, ``by_site``, ``by_college``, ``totals``,
    ``top_reasons`` and ``degree`` — left ``None`` here for the degree figures (学位) to be added by
    the degree module.
    """
    by_site = state_counts(scope, Student.site_id)
    by_college = state_counts(scope, Student.college_id)
    totals = dict.fromkeys(STATES, 0)
    for row in by_site:
        for k, v in row["counts"].items():
            totals[k] += v
    return {
        "states": STATES,
        "state_labels": STATE_LABELS,
        "by_site": by_site,
        "by_college": by_college,
        "totals": totals,
        "total": sum(totals.values()),
        "top_reasons": top_reasons(scope),
        "degree": degree_counts(scope),
    }

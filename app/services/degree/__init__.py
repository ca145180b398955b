"""学位审核 (SPEC §4, manual section 3): applications, condition audit, 修改授予结论, 初审, 终审, 发布.

The workflow of one application: a student applies in the batch window (or an admin registers it) →
学位条件审核 (a set-based background job) sets 已达标 / 未达标 with reasons → a site admin may 修改授予结论
and gives the signed 初审 → the college admin's 批量终审 sends it to the CE college → the CE admin's
发布 grants the degree with a 学位证书编号.

One module per command (``apply``, ``audit``, ``override``, ``review``, ``publish``), the filter and its SQL
in ``filters``, the gathered facts in ``figures``, page data in ``pages``. This package re-exports the public
names, so callers write ``from app.services import degree`` and ``degree.first_review(...)``.

Every function takes the actor as an argument, checks the actor's role and scope itself (views only
add FAB permissions on top), raises ``DomainError`` before writing anything and only ``flush()``es.
"""
from __future__ import annotations

from app.security import scope_of
from app.services.degree.apply import (
    apply,
    register_application,
    register_applications,
    student_view,
)
from app.services.degree.audit import (
    Applicant,
    audit_application_ids,
    audit_applications,
    audit_finished,
    run_audit,
    start_audit,
)
from app.services.degree.common import (
    AUDIT_CHUNK,
    BACHELOR_LEVELS,
    CHUNK,
    MET,
    NAMES_SHOWN,
    NEWEST_BATCH_FIRST,
    NOT_AUDITED_TEXT,
    NOT_MET,
    OUT_OF_SCOPE,
    active_batch,
    batch_level_label,
    batch_students_clause,
    degree_level,
    fmt_time,
    latest_batch,
    marks_of,
)
from app.services.degree.figures import (
    DegreeFacts,
    DegreeFigures,
    average_text,
    gather_facts,
    gather_figures,
    language_exams,
    language_text,
    plan_average_text,
)
from app.services.degree.filters import (
    ANY,
    FINAL,
    PENDING,
    DegreeFilter,
    application_clauses,
    applications_select,
    stage_clauses,
    student_clauses,
    unapplied_clauses,
    unapplied_students_select,
)
from app.services.degree.override import (
    override,
)
from app.services.degree.pages import (
    application_detail,
    application_rows,
    degree_counts,
    filter_options,
    student_rows,
)
from app.services.degree.publish import (
    run_publish,
    start_publish,
)
from app.services.degree.review import (
    final_review,
    final_review_message,
    first_review,
    first_review_message,
)

__all__ = [
    "ANY",
    "AUDIT_CHUNK",
    "Applicant",
    "BACHELOR_LEVELS",
    "CHUNK",
    "DegreeFacts",
    "DegreeFigures",
    "DegreeFilter",
    "FINAL",
    "MET",
    "NAMES_SHOWN",
    "NEWEST_BATCH_FIRST",
    "NOT_AUDITED_TEXT",
    "NOT_MET",
    "OUT_OF_SCOPE",
    "PENDING",
    "active_batch",
    "application_clauses",
    "application_detail",
    "application_rows",
    "applications_select",
    "apply",
    "audit_application_ids",
    "audit_applications",
    "audit_finished",
    "average_text",
    "batch_level_label",
    "batch_students_clause",
    "degree_counts",
    "degree_level",
    "filter_options",
    "final_review",
    "final_review_message",
    "first_review",
    "first_review_message",
    "fmt_time",
    "gather_facts",
    "gather_figures",
    "language_exams",
    "language_text",
    "latest_batch",
    "marks_of",
    "override",
    "plan_average_text",
    "register_application",
    "register_applications",
    "run_audit",
    "run_publish",
    "scope_of",
    "stage_clauses",
    "start_audit",
    "start_publish",
    "student_clauses",
    "student_rows",
    "student_view",
    "unapplied_clauses",
    "unapplied_students_select",
]

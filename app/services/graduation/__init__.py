"""毕业审核 workflow (SPEC §3, manual section 2), one module per command: filters, inputs, start, audit,
override, confirm, publish, pages; ``results`` says what a stored result means.

The rules themselves are pure (``app.audit.graduation``); these modules gather their inputs in a few set
queries per chunk of students, store results, snapshots and log entries, and enforce who may change what.
Services flush; the request or the job commits. The page filter becomes SQL in exactly one place,
``filters.filtered_students_query``; the page, the jobs and 一键确认毕业 all go through it.
"""
from __future__ import annotations

from app.services.graduation.audit import audit_finished, audit_students, run_audit, run_sync, sync_finished
from app.services.graduation.confirm import confirm
from app.services.graduation.filters import (
    FILTER_KEYS,
    MAX_TICKED,
    all_in_scope,
    clean_filters,
    count_query,
    describe,
    filter_clauses,
    filter_options,
    filtered_students_query,
    grade_options,
    ids_in_scope,
    parse_ids,
    resolve_student_ids,
)
from app.services.graduation.inputs import (
    Case,
    PlanCache,
    active_batch,
    conditions_of,
    evaluate,
    load_batches,
    load_cases,
    preview,
)
from app.services.graduation.override import override, override_message
from app.services.graduation.pages import load_student, save_form, student_detail, student_view
from app.services.graduation.publish import publish_students, run_publish
from app.services.graduation.results import (
    AUDIT_CHUNK,
    CHUNK,
    FAILED,
    FORM_MAX_CHARS,
    PRE,
    SETTABLE_RESULTS,
    SKIPPED_KEY,
    UNAUDITED,
    confirm_state,
    failure_reasons,
    reasons_of,
    result_label,
)
from app.services.graduation.start import start_task, task_student_ids

__all__ = [
    "AUDIT_CHUNK",
    "CHUNK",
    "Case",
    "FAILED",
    "FILTER_KEYS",
    "FORM_MAX_CHARS",
    "MAX_TICKED",
    "PRE",
    "PlanCache",
    "SETTABLE_RESULTS",
    "SKIPPED_KEY",
    "UNAUDITED",
    "active_batch",
    "all_in_scope",
    "audit_finished",
    "audit_students",
    "clean_filters",
    "conditions_of",
    "confirm",
    "confirm_state",
    "failure_reasons",
    "count_query",
    "describe",
    "evaluate",
    "filter_clauses",
    "filter_options",
    "filtered_students_query",
    "grade_options",
    "ids_in_scope",
    "load_batches",
    "load_cases",
    "load_student",
    "override",
    "override_message",
    "parse_ids",
    "preview",
    "publish_students",
    "reasons_of",
    "resolve_student_ids",
    "result_label",
    "run_audit",
    "run_publish",
    "run_sync",
    "save_form",
    "start_task",
    "student_detail",
    "student_view",
    "sync_finished",
    "task_student_ids",
]

"""Excel imports (SPEC §6, issue 5): upload → task → validate every row → apply all rows or none.

``start_import`` stores the upload and creates the task; the ``import`` task handler reads the file
(``app.imports.reader``), looks up what the rows refer to in a few set queries, validates every row
(``app.imports.validate``) and then either

* writes the error report as the task's result file and fails the task, having written no data, or
* upserts all records by their natural keys with bulk statements in chunks, inside the job's single
  transaction, and logs one 操作日志 entry with the counts {新增, 更新, 未变}.

Bulk statements skip ORM events, so ``college_id`` of a student is set here from the major (what
``Student``'s before-flush hook would do).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, update

from app import storage
from app.clock import local_today
from app.extensions import db
from app.imports import onboarding as onboarding_rows
from app.imports import reader, validate, workbooks
from app.imports.cells import text
from app.imports.schema import KINDS, Kind
from app.imports.validate import Lookups, MajorRef, RowError, SiteRef
from app.models import Grade, LanguageScore, Major, Organisation, PlanCourse, Student, TeachingPlan
from app.models.account import Account
from app.models.task import Task
from app.services import exception_imports, onboarding, oplog
from app.services.common import chunks
from app.services.errors import DomainError
from app.services.tasks import Progress, create_task, lock_key_for
from app.statuses import OrgKind

SUBMITTED = "导入任务已提交，可在任务中心查看结果"
NEW, UPDATED, SAME = "新增", "更新", "未变"
IN_CHUNK = 500  # ids or keys per IN (...) query
WRITE_CHUNK = 1000  # rows per bulk INSERT / UPDATE
MAX_ROWS = 300_000
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')

STUDENT_FIELDS = ("name", "gender", "id_card", "birth_date", "ethnicity", "political_status", "mobile",
                  "enrol_grade", "study_grade", "level", "major_id", "college_id", "study_mode", "duration_years",
                  "site_id", "status", "enrolled_on")
COURSE_FIELDS = ("course_name", "credits", "nature", "is_degree_course", "suggested_term")
GRADE_FIELDS = ("course_name", "score", "raw_score")
LANGUAGE_FIELDS = ("score", "substitute", "substitute_score", "passed")


def kind_spec(key: str | None) -> Kind:
    kind = KINDS.get(key or "")
    if kind is None:
        raise DomainError("请选择导入的数据类型")
    return kind


# --------------------------------------------------------------------------- template and upload


def template(key: str) -> tuple[bytes, str]:
    """(workbook bytes, download name) of a kind's template; the example names a real 专业 and 教学点."""
    kind = kind_spec(key)
    examples: dict[str, Any] = {}
    major = db.session.scalar(select(Major.name).order_by(Major.id).limit(1))
    site = db.session.scalar(select(Organisation.name).where(Organisation.kind == OrgKind.SITE.value)
                             .order_by(Organisation.id).limit(1))
    if major:
        examples["专业"] = major
    if site:
        examples["教学点"] = site
    if kind.key == "accounts":  # a real 教学点 code, so that the example row imports as is
        code = db.session.scalar(select(Organisation.code).where(Organisation.kind == OrgKind.SITE.value)
                                 .order_by(Organisation.id).limit(1))
        if code:
            examples["所属机构代码"] = code
    return workbooks.template_workbook(kind, examples), kind.template_name


def clean_filename(raw: str | None) -> str:
    """The uploaded file's own name (Chinese kept), without any client path, at most 100 characters."""
    name = str(raw or "").strip()
    name = PureWindowsPath(PurePosixPath(name).name).name  # "C:\\fakepath\\学生.xlsx" → "学生.xlsx"
    name = _UNSAFE_NAME.sub("_", name).strip()
    if len(name) > 100:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 95 - len(suffix)] + dot + suffix) if dot else name[:100]
    return name


def start_import(*, actor, kind: str | None, filename: str | None, data: bytes) -> Task:
    """Check the upload, store it and create the import task (flushed, not committed).

    Raises:
        DomainError: no kind, not an .xlsx name, an empty or too large file.
        Conflict: another import of the actor's organisation is queued or running.
    """
    spec = kind_spec(kind)
    name = clean_filename(filename)
    if not name:
        raise DomainError("请选择要导入的 Excel 文件")
    if not name.lower().endswith(".xlsx"):
        raise DomainError("请上传 .xlsx 格式的 Excel 文件（旧版 .xls 文件请先在 Excel 中另存为 .xlsx）")
    if not data:
        raise DomainError("上传的文件是空的")
    limit = current_app.config.get("IMPORT_MAX_BYTES") or current_app.config["MAX_CONTENT_LENGTH"]
    if len(data) > limit:
        raise DomainError(f"文件过大（不超过 {limit // (1024 * 1024)} MB），请拆分后分批导入")
    task = create_task("import", actor=actor, params={"kind": spec.key, "filename": name},
                       scope_text=f"{spec.label}：{name}", lock_key=lock_key_for("import", actor))
    path = storage.save("imports", data, ".xlsx")
    task.params = {"kind": spec.key, "filename": name, "path": path}
    db.session.flush()
    return task


# --------------------------------------------------------------------------- the job


def run_import(task: Task, progress: Progress) -> dict:
    """Validate every row of the uploaded file, then import all of it or nothing."""
    params = dict(task.params or {})
    spec = kind_spec(params.get("kind"))
    filename = params.get("filename") or "导入文件.xlsx"
    try:
        data = storage.resolve(params.get("path") or "").read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise DomainError("上传的文件已不存在，请重新上传") from None
    try:
        rows = reader.read_rows(data, spec, max_rows=MAX_ROWS)
    except reader.FileRejected as exc:
        raise DomainError(exc.message) from None
    del data
    progress(0, len(rows))
    actor = db.session.get(Account, task.requested_by_id)
    check, write = IMPORTERS[spec.key]
    records, errors = check(rows, actor)
    del rows
    if errors:
        _fail_with_report(task.id, errors, filename)
    counts = write(records, actor)
    summary = {NEW: counts[NEW], UPDATED: counts[UPDATED], SAME: counts[SAME]}
    oplog.record(actor=actor, action="import", record_type="Task", record_id=task.id, task_id=task.id,
                 new="，".join(f"{k} {v}" for k, v in summary.items()), reason=f"{spec.label}导入：{filename}")
    db.session.flush()
    return summary  # runner.run commits the data, the log entry and the task state together


def _fail_with_report(task_id: int, errors: Sequence[RowError], filename: str) -> None:
    """Store the error report as the task's result (the only write), then fail the task."""
    rel = storage.new_name("imports", ".xlsx")
    workbooks.write_error_report(storage.resolve(rel), errors)
    stem = filename[:-5] if filename.lower().endswith(".xlsx") else filename
    db.session.rollback()  # nothing but the task row may be written
    db.session.execute(update(Task).where(Task.id == task_id)
                       .values(result_path=rel, result_name=f"导入错误报告_{stem}.xlsx"[:200]))
    db.session.commit()
    raise DomainError(f"共 {len(errors)} 处错误，未导入任何数据，请下载错误报告")


# --------------------------------------------------------------------------- lookups


def build_lookups(kind: str, rows: Sequence[reader.Row]) -> Lookups:
    """Everything the rows may refer to, in a few set queries (never one per row)."""
    college = Organisation.__table__.alias("college")
    majors = [MajorRef(*r) for r in db.session.execute(
        select(Major.id, Major.code, Major.name, Major.college_id, college.c.name)
        .join(college, college.c.id == Major.college_id))]
    sites = [SiteRef(*r) for r in db.session.execute(
        select(Organisation.id, Organisation.code, Organisation.name)
        .where(Organisation.kind == OrgKind.SITE.value))]
    students: dict[str, int] = {}
    courses: dict[str, str] = {}
    if kind in ("grades", "language"):
        numbers = {text(values.get("学号")) for _n, values in rows} - {""}
        for chunk in chunks(sorted(numbers), IN_CHUNK):
            students.update(db.session.execute(
                select(Student.student_no, Student.id).where(Student.student_no.in_(chunk))).tuples().all())
    if kind == "grades":
        codes = {text(values.get("课程代码")) for _n, values in rows} - {""}
        for chunk in chunks(sorted(codes), IN_CHUNK):
            courses.update(db.session.execute(
                select(PlanCourse.course_code, func.min(PlanCourse.course_name))
                .where(PlanCourse.course_code.in_(chunk)).group_by(PlanCourse.course_code)).tuples().all())
    return Lookups(majors=majors, sites=sites, students=students, courses=courses, today=local_today())


# --------------------------------------------------------------------------- apply (upsert)


def _write(model, inserts: list[dict], updates: list[dict]) -> None:
    """Bulk INSERT the new rows and bulk UPDATE (by primary key) the changed ones, in chunks."""
    for chunk in chunks(inserts, WRITE_CHUNK):
        # Core INSERT: a blank cell stays NULL (the ORM bulk insert would apply column defaults such as 汉族)
        db.session.execute(insert(model.__table__), chunk)
    for chunk in chunks(updates, WRITE_CHUNK):
        db.session.execute(update(model), chunk)


def _diff(records: Iterable[dict], existing: Mapping[Any, Any], key: Callable[[dict], Any],
          fields: Sequence[str]) -> tuple[list[dict], list[dict], int]:
    """Split records into (new, changed with their id, number unchanged) against ``existing[key]``."""
    inserts, updates, same = [], [], 0
    for rec in records:
        old = existing.get(key(rec))
        if old is None:
            inserts.append(rec)
        elif any(getattr(old, f) != rec[f] for f in fields):
            updates.append({"id": old.id, **{f: rec[f] for f in fields}})
        else:
            same += 1
    return inserts, updates, same


def apply_students(records: list[dict]) -> dict[str, int]:
    """Upsert students by 学号; photos and the synced figures are left as they are."""
    existing = {}
    for chunk in chunks([r["student_no"] for r in records], IN_CHUNK):
        for row in db.session.execute(select(Student.id, Student.student_no, *[getattr(Student, f) for f in
                                                                                 STUDENT_FIELDS])
                                      .where(Student.student_no.in_(chunk))):
            existing[row.student_no] = row
    inserts, updates, same = _diff(records, existing, lambda r: r["student_no"], STUDENT_FIELDS)
    _write(Student, inserts, updates)
    return {NEW: len(inserts), UPDATED: len(updates), SAME: same}


def apply_plans(records: list[dict]) -> dict[str, int]:
    """Upsert plans by (专业, 层次, 年级) and their courses by 课程代码.

    A row counts as 更新 when its course or its plan's minimums changed. Courses of a plan that the
    file does not mention are kept (an import adds and corrects, it never deletes).
    """
    heads: dict[tuple, dict] = {}
    for r in records:
        heads.setdefault((r["major_id"], r["level"], r["grade"]), r)
    plans = {(p.major_id, p.level, p.grade): p for p in db.session.execute(
        select(TeachingPlan.id, TeachingPlan.major_id, TeachingPlan.level, TeachingPlan.grade,
               TeachingPlan.min_total_credits, TeachingPlan.min_elective_credits)
        .where(TeachingPlan.major_id.in_(sorted({k[0] for k in heads}))))}
    plan_ids: dict[tuple, int] = {}
    changed_heads: set[tuple] = set()
    for key, r in heads.items():
        old = plans.get(key)
        values = {"min_total_credits": r["min_total_credits"], "min_elective_credits": r["min_elective_credits"]}
        if old is None:
            plan = TeachingPlan(major_id=key[0], level=key[1], grade=key[2], **values)
            db.session.add(plan)
            db.session.flush()
            plan_ids[key] = plan.id
            continue
        plan_ids[key] = old.id
        if (old.min_total_credits, old.min_elective_credits) != (values["min_total_credits"],
                                                                values["min_elective_credits"]):
            db.session.execute(update(TeachingPlan).where(TeachingPlan.id == old.id).values(**values))
            changed_heads.add(key)
    existing = {}
    for chunk in chunks(sorted(plan_ids.values()), IN_CHUNK):
        for row in db.session.execute(select(PlanCourse.id, PlanCourse.plan_id, PlanCourse.course_code,
                                             *[getattr(PlanCourse, f) for f in COURSE_FIELDS])
                                      .where(PlanCourse.plan_id.in_(chunk))):
            existing[(row.plan_id, row.course_code)] = row
    inserts, updates, same, head_only = [], [], 0, 0
    for r in records:
        key = (r["major_id"], r["level"], r["grade"])
        course = {"plan_id": plan_ids[key], "course_code": r["course_code"], **{f: r[f] for f in COURSE_FIELDS}}
        old = existing.get((course["plan_id"], course["course_code"]))
        if old is None:
            inserts.append(course)
        elif any(getattr(old, f) != course[f] for f in COURSE_FIELDS):
            updates.append({"id": old.id, **{f: course[f] for f in COURSE_FIELDS}})
        elif key in changed_heads:
            head_only += 1  # the course is as it was, but this row changed its plan's minimums
        else:
            same += 1
    _write(PlanCourse, inserts, updates)
    return {NEW: len(inserts), UPDATED: len(updates) + head_only, SAME: same}


def apply_grades(records: list[dict]) -> dict[str, int]:
    """Upsert grades by (学号, 课程代码, 学期, 考试性质)."""
    existing = {}
    for chunk in chunks(sorted({r["student_id"] for r in records}), IN_CHUNK):
        for row in db.session.execute(select(Grade.id, Grade.student_id, Grade.course_code, Grade.term,
                                             Grade.exam_kind, *[getattr(Grade, f) for f in GRADE_FIELDS])
                                      .where(Grade.student_id.in_(chunk))):
            existing[(row.student_id, row.course_code, row.term, row.exam_kind)] = row
    inserts, updates, same = _diff(records, existing,
                                   lambda r: (r["student_id"], r["course_code"], r["term"], r["exam_kind"]),
                                   GRADE_FIELDS)
    _write(Grade, inserts, updates)
    return {NEW: len(inserts), UPDATED: len(updates), SAME: same}


def apply_language(records: list[dict]) -> dict[str, int]:
    """Upsert 学位外语成绩 by (学号, 考试日期)."""
    existing = {}
    for chunk in chunks(sorted({r["student_id"] for r in records}), IN_CHUNK):
        for row in db.session.execute(select(LanguageScore.id, LanguageScore.student_id, LanguageScore.exam_date,
                                             *[getattr(LanguageScore, f) for f in LANGUAGE_FIELDS])
                                      .where(LanguageScore.student_id.in_(chunk))):
            existing[(row.student_id, row.exam_date)] = row
    inserts, updates, same = _diff(records, existing, lambda r: (r["student_id"], r["exam_date"]), LANGUAGE_FIELDS)
    _write(LanguageScore, inserts, updates)
    return {NEW: len(inserts), UPDATED: len(updates), SAME: same}


APPLY: dict[str, Callable[[list[dict]], dict[str, int]]] = {
    "students": apply_students,
    "plans": apply_plans,
    "grades": apply_grades,
    "language": apply_language,
}


# kind → (validate the rows as the actor, write the records as the actor): every import kind the same way
Check = Callable[[Sequence[reader.Row], Account | None], tuple[list[dict], list[RowError]]]
Write = Callable[[list[dict], Account | None], dict[str, int]]


def _data_importer(kind: str) -> tuple[Check, Write]:
    """学生学籍, 教学计划, 课程成绩, 学位外语成绩: the schema's validation with the database's lookups."""
    return (lambda rows, _actor: validate.validate(kind, rows, build_lookups(kind, rows)),
            lambda records, _actor: APPLY[kind](records))


def _onboarding_importer(kind: str) -> tuple[Check, Write]:
    """机构与专业, 账号 (issue 17): their own validators and writers (the CE admin's organisation tree)."""
    return (lambda rows, _actor: onboarding_rows.VALIDATORS[kind](rows, onboarding.build_lookups(kind, rows)),
            onboarding.APPLY[kind])


IMPORTERS: dict[str, tuple[Check, Write]] = {
    **{kind: _data_importer(kind) for kind in APPLY},
    **{kind: _onboarding_importer(kind) for kind in onboarding.APPLY},
    # 课程替代与免修 (issue 14): every row through the service's own validation, in the importer's scope
    exception_imports.KIND: (exception_imports.validate_rows, exception_imports.apply_rows),
}

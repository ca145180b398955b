"""毕业生档案 (SPEC §3.9): filter and page of 毕业生档案管理, the archive task and the per-student documents."""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app import storage
from app.audit.exceptions import course_standings
from app.audit.scores import best_scores, course_progress
from app.audit.types import NO_EXCEPTIONS, Plan
from app.clock import local_today
from app.exports import archive
from app.exports.xlsx import number_text
from app.extensions import db
from app.ids import parse_id
from app.models import (
    Grade,
    GraduateForm,
    GraduationAudit,
    Major,
    Organisation,
    Student,
)
from app.security import Scope, student_scope_clause
from app.services import approval_forms, facts, graduation
from app.services.common import chunks, count_rows, posted_ids
from app.services.errors import DomainError, NotFound
from app.services.export_files import file_part, printed_student_fields, school_name
from app.services.export_files import remove as _remove
from app.services.export_files import store_result as _store_result
from app.services.export_files import stored_file as _photo_file
from app.services.exports.common import CHUNK, NO_DOCUMENT, NO_STUDENT, OUT_OF_SCOPE, ROWS_CHUNK, ids_in_scope
from app.services.tasks import Progress, create_task
from app.statuses import (
    CourseState,
    EnrolmentStatus,
    ExamKind,
    ExceptionKind,
    label,
)

DOCUMENTS: dict[str, str] = {"card": "学籍卡", "transcript": "成绩单", "form": "毕业生登记表"}


GRADUATED_ONLY, ALL_STATES = "yes", "all"
GRADUATED_CHOICES = ((GRADUATED_ONLY, "已毕业"), (ALL_STATES, "全部"))
ARCHIVE_FILTER_KEYS = ("enrol_grade", "study_grade", "level", "site_id", "major_id", "q")
_EXAM_ORDER = {ExamKind.REGULAR.value: 0, ExamKind.MAKEUP.value: 1, ExamKind.RETAKE.value: 2}


def clean_archive_filters(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The 毕业生档案管理 filter: the graduation page's keys plus 毕业状态 (已毕业 by default)."""
    raw = raw or {}
    f = graduation.clean_filters({k: raw.get(k) for k in ARCHIVE_FILTER_KEYS})
    f["graduated"] = ALL_STATES if str(raw.get("graduated") or "") == ALL_STATES else GRADUATED_ONLY
    return f


def archive_query(filters: Mapping[str, Any] | None, scope: Scope):
    """``select(Student, GraduationAudit)`` of the archive filter inside the scope, ordered by 学号."""
    f = clean_archive_filters(filters)
    stmt = graduation.filtered_students_query({k: v for k, v in f.items() if k in ARCHIVE_FILTER_KEYS}, scope)
    if f["graduated"] == GRADUATED_ONLY:
        stmt = stmt.where(Student.status == EnrolmentStatus.GRADUATED.value)
    return stmt


def archive_filter_options(scope: Scope) -> dict:
    """Dropdowns of the archive filter bar: only values from the scope's own students."""
    options = graduation.filter_options(scope)
    options.pop("result", None)
    options.pop("confirm_state", None)
    options["graduated"] = list(GRADUATED_CHOICES)
    return options


def clean_documents(values: Iterable[Any] | None) -> list[str]:
    """The chosen documents in a fixed order; refuses an empty choice."""
    chosen = {str(v) for v in (values or ())}
    docs = [key for key in DOCUMENTS if key in chosen]
    if not docs:
        raise DomainError(gettext(NO_DOCUMENT))
    return docs


def _describe_archive(filters: Mapping[str, Any], ids: Sequence[int], docs: Sequence[str]) -> str:
    what = "、".join(DOCUMENTS[d] for d in docs)
    if ids:
        return f"{what}：选中 {len(ids)} 名学生"
    text = graduation.describe({k: v for k, v in filters.items() if k in ARCHIVE_FILTER_KEYS})
    state = dict(GRADUATED_CHOICES)[filters.get("graduated", GRADUATED_ONLY)]
    return f"{what}：{text}，毕业状态 {state}"


def start_archive_export(*, actor, scope: Scope, filters: Mapping[str, Any] | None,
                         student_ids: Iterable[Any] | None, documents: Iterable[Any] | None):
    """Validate an archive export and create its task (flushed, not committed).

    Ticked ids must all be in the scope (NotFound otherwise, nothing created); no ticks means every
    student of the filter.

    Raises:
        DomainError: no document chosen, or nobody in the filter.
        NotFound: a ticked id that does not exist or lies outside the scope.
    """
    docs = clean_documents(documents)
    f = clean_archive_filters(filters)
    ids = posted_ids(student_ids or (), NotFound(gettext(OUT_OF_SCOPE)))
    if ids:
        if len(set(ids_in_scope(ids, scope))) != len(ids):
            raise NotFound(gettext(OUT_OF_SCOPE))
        total = len(ids)
    else:
        total = count_rows(archive_query(f, scope).with_only_columns(Student.id))
    if total == 0:
        raise DomainError(gettext(NO_STUDENT))
    params: dict[str, Any] = {"scope": scope.to_params(), "documents": docs}
    if ids:
        params["student_ids"] = ids
    else:
        params["filters"] = f
    return create_task("archive_export", actor=actor, params=params, scope_text=_describe_archive(f, ids, docs),
                       total=total)


def archive_student_ids(params: Mapping[str, Any], scope: Scope) -> list[int]:
    """The task's students in 学号 order, re-checked against the scope (tampered ids drop out)."""
    if params.get("student_ids"):
        wanted = [n for n in map(parse_id, params["student_ids"]) if n is not None]
        found: list[tuple[str, int]] = []
        for chunk in chunks(wanted, ROWS_CHUNK):
            found.extend(db.session.execute(
                select(Student.student_no, Student.id).where(Student.id.in_(chunk), student_scope_clause(scope))
            ).tuples())
        return [sid for _no, sid in sorted(found)]
    return list(db.session.scalars(archive_query(params.get("filters") or {}, scope).with_only_columns(Student.id)))


@dataclasses.dataclass
class ArchiveRecord:
    """Everything the three documents print about one student."""

    student_no: str
    name: str
    fields: dict[str, Any]
    photo: str | None
    terms: list[tuple[str, list[dict]]] = dataclasses.field(default_factory=list)
    passed_courses: int = 0
    earned_credits: float = 0.0
    form: dict[str, Any] = dataclasses.field(default_factory=dict)
    exceptions: list[dict] = dataclasses.field(default_factory=list)  # 课程替代 / 免修 / 学分认定 lines


def _plans_for(keys: set[tuple[int, str, int]]) -> dict[tuple[int, str, int], Plan]:
    """Rule plans for (专业, 层次, 学习年级) keys, in one query."""
    return {key: plan for key, (_plan_id, plan) in facts.load_plans(keys).items()}


def load_archive_records(student_ids: Sequence[int], scope: Scope, docs: Sequence[str],
                         printed_on: dt.date | None = None) -> list[ArchiveRecord]:
    """The archive contents of a chunk of students in at most five set queries.

    Students with their 专业/教学点/二级学院 names and graduation data (one join); grades and the plan
    courses only for 成绩单; forms only for 毕业生登记表. The scope is applied again here.
    """
    ids = list(student_ids)
    if not ids:
        return []
    site, college = aliased(Organisation), aliased(Organisation)
    rows = db.session.execute(
        select(Student, Major.name, site.name, college.name, GraduationAudit.diploma_no,
               GraduationAudit.graduation_date, GraduationAudit.published_at)
        .join(Major, Major.id == Student.major_id)
        .join(site, site.id == Student.site_id)
        .join(college, college.id == Student.college_id)
        .outerjoin(GraduationAudit, GraduationAudit.student_id == Student.id)
        .where(Student.id.in_(ids), student_scope_clause(scope))
        .order_by(Student.student_no, Student.id)
    ).all()
    attempts: dict[int, list] = {}
    plans: dict[tuple, Plan] = {}
    if "transcript" in docs:
        for g in db.session.execute(
            select(Grade.student_id, Grade.term, Grade.course_code, Grade.course_name, Grade.score,
                   Grade.raw_score, Grade.exam_kind)
            .where(Grade.student_id.in_(ids))
        ):
            attempts.setdefault(g.student_id, []).append(g)
        plans = _plans_for({(r[0].major_id, r[0].level, r[0].study_grade) for r in rows})
        approved = facts.approved_exceptions_for(ids)
    forms: dict[int, Any] = {}
    if "form" in docs:
        forms = {f.student_id: f for f in db.session.execute(
            select(GraduateForm.student_id, GraduateForm.self_assessment, GraduateForm.site_opinion,
                   GraduateForm.college_opinion).where(GraduateForm.student_id.in_(ids))
        )}
    records = []
    for s, major_name, site_name, college_name, diploma_no, graduation_date, published_at in rows:
        fields = printed_student_fields(s, major=major_name, site=site_name, college=college_name,
                                        diploma_no=diploma_no, graduation_date=graduation_date,
                                        published_at=published_at, printed_on=printed_on)
        record = ArchiveRecord(s.student_no, s.name, fields, _photo_file(s.photo_path))
        if "transcript" in docs:
            plan = plans.get((s.major_id, s.level, s.study_grade))
            credits = {c.code: c.credits for c in plan.courses} if plan else {}
            mine = sorted(attempts.get(s.id, []),
                          key=lambda g: (g.term, g.course_code, _EXAM_ORDER.get(g.exam_kind, 9)))
            terms: dict[str, list[dict]] = {}
            for g in mine:
                terms.setdefault(g.term, []).append({
                    "code": g.course_code,
                    "name": g.course_name,
                    "credits": credits.get(g.course_code),
                    "score": g.raw_score,
                    "exam_kind": label(g.exam_kind, ExamKind),
                })
            record.terms = list(terms.items())
            best = best_scores((g.course_code, g.score) for g in mine)
            exceptions = approved.get(s.id, NO_EXCEPTIONS)
            progress = course_progress(plan, best, exceptions)
            if plan is not None and exceptions:
                record.exceptions = [
                    {"code": st.course.code, "name": st.label, "credits": st.credits,
                     "score": label(st.state, CourseState) if st.score is None else number_text(st.score),
                     "exam_kind": label(st.exception.kind, ExceptionKind)}
                    for st in course_standings(plan, best, exceptions) if st.exception is not None]
            record.passed_courses = progress.passed_courses
            record.earned_credits = progress.total_credits
        form = forms.get(s.id)
        record.form = {
            "self_assessment": form.self_assessment if form else "",
            "site_opinion": (form.site_opinion or "") if form else "",
            "college_opinion": (form.college_opinion or "") if form else "",
        }
        records.append(record)
    return records


def archive_files(record: ArchiveRecord, docs: Sequence[str], school: str) -> Iterator[tuple[str, bytes]]:
    """(file name, workbook bytes) for each chosen document of one student: ``学号_姓名_文档.xlsx``."""
    base = f"{file_part(record.student_no)}_{file_part(record.name)}"
    data = {**record.fields, "school": school}
    for doc in docs:
        buf = io.BytesIO()
        if doc == "card":
            archive.write_student_card(buf, data, record.photo)
        elif doc == "transcript":
            archive.write_transcript(buf, {**data, "terms": record.terms, "exceptions": record.exceptions,
                                           "passed_courses": record.passed_courses,
                                           "earned_credits": record.earned_credits})
        else:
            archive.write_graduate_form(buf, {**data, **record.form}, record.photo)
        yield f"{base}_{DOCUMENTS[doc]}.xlsx", buf.getvalue()


def run_archive_export(task, progress: Progress) -> dict:
    """毕业生档案导出: one workbook per student and document, zipped, chunk by chunk."""
    params = task.params or {}
    scope = Scope.from_params(params.get("scope"))
    docs = clean_documents(params.get("documents"))
    ids = archive_student_ids(params, scope)
    total = len(ids)
    progress(0, total)
    today = local_today()
    school = school_name()
    rel = storage.new_name("exports", ".zip")
    files = 0
    done = 0
    try:
        with zipfile.ZipFile(storage.resolve(rel), "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for chunk in chunks(ids, CHUNK):
                for record in load_archive_records(chunk, scope, docs, printed_on=today):
                    for name, content in archive_files(record, docs, school):
                        zf.writestr(name, content)  # non-ASCII names get the UTF-8 flag
                        files += 1
                for name, content in approval_forms.student_forms(chunk, scope, school, today):
                    zf.writestr(name, content)  # the 学士学位申请审批表 of those who applied
                    files += 1
                done += len(chunk)
                progress(done)
    except BaseException:
        _remove(rel)
        raise
    _store_result(task, rel, f"毕业生档案_{today:%Y%m%d}.zip")
    return {"学生": total, "文件": files}

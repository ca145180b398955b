"""Exports (SPEC §3.9, §4.8): 毕业生档案, 学位申请信息汇总表 and the main lists, as background tasks.

The view validates and creates the task; the job rebuilds the requester's scope from plain values
(``params["scope"]``) and re-applies ``student_scope_clause`` to every query, so tampered ids or
filters can never reach students outside it. Rows are gathered a chunk at a time with a fixed
number of set queries per chunk (never one per student), handed to the pure writers in
``app.exports``, and the result file is stored with ``app.storage`` for 任务中心 to serve.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import zipfile
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from flask import current_app
from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import aliased, joinedload

from app import storage
from app.audit.scores import best_scores, course_progress
from app.audit.types import Plan
from app.exports import archive
from app.exports.xlsx import number_text, table_workbook
from app.extensions import db
from app.models import (
    Account,
    DegreeApplication,
    DegreeBatch,
    Grade,
    GraduateForm,
    GraduationAudit,
    Major,
    OperationLog,
    Organisation,
    Student,
)
from app.security import Scope, oplog_scope_clause, student_scope_clause
from app.services import facts, graduation
from app.services.errors import DomainError, NotFound
from app.services.oplog import ACTION_LABELS
from app.services.tasks import Progress, create_task, handler
from app.statuses import (
    DegreeApplicationState,
    DegreeConditionResult,
    EnrolmentStatus,
    ExamKind,
    GraduationResult,
    Level,
    ReviewOpinion,
    StudyMode,
    label,
)

CHUNK = 200  # students per archive chunk (three small workbooks each)
ROWS_CHUNK = 1000  # rows per list/summary chunk
DEFAULT_SCHOOL = archive.DEFAULT_SCHOOL
OUT_OF_SCOPE = "所选学生不存在或不在您的管理范围内"
NO_DOCUMENT = "请至少选择一种导出文档"
NO_STUDENT = "当前筛选条件下没有学生"

DOCUMENTS: dict[str, str] = {"card": "学籍卡", "transcript": "成绩单", "form": "毕业生登记表"}
GRADUATED_ONLY, ALL_STATES = "yes", "all"
GRADUATED_CHOICES = ((GRADUATED_ONLY, "已毕业"), (ALL_STATES, "全部"))
ARCHIVE_FILTER_KEYS = ("enrol_grade", "study_grade", "level", "site_id", "major_id", "q")
_EXAM_ORDER = {ExamKind.REGULAR.value: 0, ExamKind.MAKEUP.value: 1, ExamKind.RETAKE.value: 2}
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


# --------------------------------------------------------------------------- shared helpers


def scope_params(scope: Scope) -> dict:
    """The scope as plain JSON values for the task params (a job has no request to derive it)."""
    return dataclasses.asdict(scope)


def scope_from_params(params: Mapping[str, Any]) -> Scope:
    """Rebuild the requester's scope in the job; anything malformed means no students at all."""
    raw = params.get("scope")
    if not isinstance(raw, Mapping):
        return Scope("none")
    try:
        return Scope(**{k: raw.get(k) for k in ("kind", "org_id", "student_id")})
    except TypeError:
        return Scope("none")


def local_today() -> dt.date:
    """Today in the configured time zone (file names and 打印日期)."""
    return graduation.shanghai_now().date()


def school_name() -> str:
    """The school name printed on archive documents (``SCHOOL_NAME`` in config, if set)."""
    return current_app.config.get("SCHOOL_NAME") or DEFAULT_SCHOOL


def file_part(text: Any) -> str:
    """A piece of a file name inside the zip: no path separators or characters Windows refuses."""
    cleaned = _UNSAFE_NAME.sub("_", str(text or "")).strip().strip(".")
    return cleaned or "_"


def chunks(items: Sequence, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _int_list(values: Iterable[Any]) -> list[int]:
    """Posted ids as distinct ints (order kept); anything non-numeric is refused."""
    out: list[int] = []
    for v in values or ():
        text = str(v).strip()
        if not text:
            continue
        if not text.isdigit():
            raise NotFound(OUT_OF_SCOPE)
        if int(text) not in out:
            out.append(int(text))
    return out


def _ids_in_scope(ids: Sequence[int], scope: Scope) -> list[int]:
    found: list[int] = []
    for chunk in chunks(list(ids), ROWS_CHUNK):
        found.extend(db.session.scalars(select(Student.id).where(Student.id.in_(chunk), student_scope_clause(scope))))
    return found


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def _names(model, ids: Iterable[int | None]) -> dict[int, str]:
    """id → name for a set of organisations or majors (one IN query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(wanted))).all())


def _store_result(task, rel: str, name: str) -> None:
    task.result_path = rel
    task.result_name = name
    db.session.flush()


def _remove(rel: str) -> None:
    try:
        storage.resolve(rel).unlink(missing_ok=True)
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------- 毕业生档案管理: filter and page


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


def archive_page(filters: Mapping[str, Any] | None, scope: Scope, page_no: int, per_page: int = 20):
    """One page of (Student, GraduationAudit | None) and the total, for the 毕业生档案管理 table."""
    stmt = archive_query(filters, scope)
    total = _count(stmt.with_only_columns(Student.id))
    rows = db.session.execute(
        stmt.options(joinedload(Student.major), joinedload(Student.site))
        .limit(per_page).offset(max(0, page_no) * per_page)
    ).unique().all()
    return [(r[0], r[1]) for r in rows], total


def archive_filter_options(scope: Scope) -> dict:
    """Dropdowns of the archive filter bar: only values from the scope's own students."""
    options = graduation.filter_options(scope)
    options.pop("result", None)
    options["graduated"] = list(GRADUATED_CHOICES)
    return options


def clean_documents(values: Iterable[Any] | None) -> list[str]:
    """The chosen documents in a fixed order; refuses an empty choice."""
    chosen = {str(v) for v in (values or ())}
    docs = [key for key in DOCUMENTS if key in chosen]
    if not docs:
        raise DomainError(NO_DOCUMENT)
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
    ids = _int_list(student_ids or ())
    if ids:
        if len(set(_ids_in_scope(ids, scope))) != len(ids):
            raise NotFound(OUT_OF_SCOPE)
        total = len(ids)
    else:
        total = _count(archive_query(f, scope).with_only_columns(Student.id))
    if total == 0:
        raise DomainError(NO_STUDENT)
    params: dict[str, Any] = {"scope": scope_params(scope), "documents": docs}
    if ids:
        params["student_ids"] = ids
    else:
        params["filters"] = f
    return create_task("archive_export", actor=actor, params=params, scope_text=_describe_archive(f, ids, docs),
                       total=total)


def archive_student_ids(params: Mapping[str, Any], scope: Scope) -> list[int]:
    """The task's students in 学号 order, re-checked against the scope (tampered ids drop out)."""
    if params.get("student_ids"):
        wanted = [int(i) for i in params["student_ids"] if str(i).isdigit()]
        found: list[tuple[str, int]] = []
        for chunk in chunks(wanted, ROWS_CHUNK):
            found.extend(db.session.execute(
                select(Student.student_no, Student.id).where(Student.id.in_(chunk), student_scope_clause(scope))
            ).tuples())
        return [sid for _no, sid in sorted(found)]
    return list(db.session.scalars(archive_query(params.get("filters") or {}, scope).with_only_columns(Student.id)))


# --------------------------------------------------------------------------- 毕业生档案: gathering


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


def _photo_file(rel: str | None) -> str | None:
    """Absolute path of a stored photo, or None when it is missing (the card then has an empty box)."""
    if not rel:
        return None
    try:
        path = storage.resolve(rel)
    except FileNotFoundError:
        return None
    return str(path) if path.is_file() else None


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
    forms: dict[int, Any] = {}
    if "form" in docs:
        forms = {f.student_id: f for f in db.session.execute(
            select(GraduateForm.student_id, GraduateForm.self_assessment, GraduateForm.site_opinion,
                   GraduateForm.college_opinion).where(GraduateForm.student_id.in_(ids))
        )}
    records = []
    for s, major_name, site_name, college_name, diploma_no, graduation_date, published_at in rows:
        graduated = s.status == EnrolmentStatus.GRADUATED.value or published_at is not None
        fields = {
            "printed_on": printed_on,
            "graduated": graduated,
            "student_no": s.student_no,
            "name": s.name,
            "gender": s.gender,
            "id_card": s.id_card,
            "birth_date": s.birth_date,
            "ethnicity": s.ethnicity,
            "political_status": s.political_status,
            "mobile": s.mobile,
            "enrol_grade": str(s.enrol_grade),
            "study_grade": str(s.study_grade),
            "level": label(s.level, Level),
            "major": major_name,
            "study_mode": label(s.study_mode, StudyMode),
            "duration": f"{number_text(s.duration_years)}年" if s.duration_years is not None else "",
            "site": site_name,
            "college": college_name,
            "enrolled_on": s.enrolled_on,
            "status": label(s.status, EnrolmentStatus),
            "diploma_no": diploma_no or "",
            "graduation_date": graduation_date,
        }
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
            progress = course_progress(plan, best_scores((g.course_code, g.score) for g in mine))
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
            archive.write_transcript(buf, {**data, "terms": record.terms, "passed_courses": record.passed_courses,
                                           "earned_credits": record.earned_credits})
        else:
            archive.write_graduate_form(buf, {**data, **record.form}, record.photo)
        yield f"{base}_{DOCUMENTS[doc]}.xlsx", buf.getvalue()


@handler("archive_export")
def run_archive_export(task, progress: Progress) -> dict:
    """毕业生档案导出: one workbook per student and document, zipped, chunk by chunk."""
    params = task.params or {}
    scope = scope_from_params(params)
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
                done += len(chunk)
                progress(done)
    except BaseException:
        _remove(rel)
        raise
    _store_result(task, rel, f"毕业生档案_{today:%Y%m%d}.zip")
    return {"学生": total, "文件": files}


# --------------------------------------------------------------------------- 学位申请信息汇总表

DEGREE_SUMMARY_TITLE = "学位申请信息汇总表"
DEGREE_SUMMARY_HEADERS = (
    "学位批次", "学号", "姓名", "性别", "身份证号", "年级", "层次", "专业", "教学点", "二级学院",
    "学位外语成绩", "学位课程成绩", "学位课程平均分", "学位申请条件是否达标", "未达标原因", "是否手工修改",
    "初审意见", "初审说明", "初审人", "初审时间", "终审", "终审时间", "发布状态", "学位证书编号",
)
STAGES = ("any", "pending", "final")


def _degree():
    """The degree workflow module (imported late: it registers its own task handlers)."""
    from app.services import degree

    return degree


def start_degree_summary_export(*, actor, scope: Scope, filters: Mapping[str, Any] | None,
                                application_ids: Iterable[Any] | None = None, stage: str = "any"):
    """Validate a 学位申请信息汇总表 export and create its task (flushed, not committed).

    Raises:
        NotFound: a ticked application outside the scope.
        DomainError: the filter asks for 未申请 students, or matches no application.
    """
    degree = _degree()
    flt = degree.DegreeFilter.from_mapping(filters or {})
    stage = stage if stage in STAGES else "any"
    ids = _int_list(application_ids or ())
    if flt.applied == DegreeApplicationState.NOT_APPLIED.value and not ids:
        raise DomainError("学位申请信息汇总表只包含已申请的学生，请将学生申请状态选为“已申请”后再导出")
    base = degree.applications_select(scope, flt if not ids else None, stage=stage)
    if ids:
        found = 0
        for chunk in chunks(ids, ROWS_CHUNK):
            found += _count(base.where(DegreeApplication.id.in_(chunk)).with_only_columns(DegreeApplication.id))
        if found != len(ids):
            raise NotFound("所选学位申请不存在或不在您的管理范围内")
        total = len(ids)
    else:
        total = _count(base.with_only_columns(DegreeApplication.id))
    if total == 0:
        raise DomainError("当前筛选条件下没有学位申请")
    params: dict[str, Any] = {"scope": scope_params(scope), "filter": flt.to_params(), "stage": stage}
    if ids:
        params["ids"] = ids
    text = f"选中的 {len(ids)} 条学位申请" if ids else flt.describe()
    return create_task("degree_summary_export", actor=actor, params=params, scope_text=text, total=total)


def _person(account) -> str:
    return f"{account.first_name or ''}{account.last_name or ''}" or account.username


def _keyset(after: tuple[str, int] | None):
    """Rows after (学号, application id) — chunked reading that commits in between stays correct."""
    if after is None:
        return true()
    no, app_id = after
    return or_(Student.student_no > no, and_(Student.student_no == no, DegreeApplication.id > app_id))


def degree_summary_rows(scope: Scope, flt, *, stage: str = "any", ids: Sequence[int] | None = None,
                        on_chunk: Callable[[int], None] | None = None) -> Iterator[list]:
    """Yield one row per application, chunk by chunk (flat memory for 100,000 rows).

    Each chunk costs a fixed number of queries: the applications with their students, the degree
    facts (``degree.gather_facts``), organisation, major, batch and reviewer names.
    """
    degree = _degree()
    base = degree.applications_select(scope, flt, stage=stage)
    if ids:
        base = base.where(DegreeApplication.id.in_(list(ids)))
    after = None
    done = 0
    while True:
        page = db.session.execute(
            base.add_columns(Student).where(_keyset(after))
            .order_by(Student.student_no, DegreeApplication.id).limit(ROWS_CHUNK)
        ).all()
        if not page:
            return
        apps = [(a, s) for a, s in page]
        students = [s for _a, s in apps]
        facts = degree.gather_facts(students)
        orgs = _names(Organisation, [s.site_id for s in students] + [s.college_id for s in students])
        majors = _names(Major, [s.major_id for s in students])
        batches = _names(DegreeBatch, [a.batch_id for a, _s in apps])
        people_ids = {a.reviewed_by_id for a, _s in apps} | {a.final_by_id for a, _s in apps}
        people = {p.id: _person(p) for p in db.session.scalars(
            select(Account).where(Account.id.in_({i for i in people_ids if i})))} if any(people_ids) else {}
        for a, s in apps:
            f = facts.get(s.id)
            yield degree_summary_row(a, s, f, orgs=orgs, majors=majors, batches=batches, people=people)
        after = (apps[-1][1].student_no, apps[-1][0].id)
        done += len(apps)
        del page, apps, students, facts
        if on_chunk is not None:
            on_chunk(done)


def degree_course_text(facts) -> str:
    """Each 学位课程 as "课程名 分数" (best attempt), joined with "；"."""
    if facts is None or facts.plan is None:
        return ""
    parts = []
    for c in facts.plan.courses:
        if not c.degree_course:
            continue
        best = facts.best.get(c.code)
        parts.append(f"{c.name} {number_text(best) if best is not None else '无成绩'}")
    return "；".join(parts)


def degree_summary_row(a: DegreeApplication, s: Student, facts, *, orgs: Mapping, majors: Mapping,
                       batches: Mapping, people: Mapping) -> list:
    """The 汇总表 cells of one application (display values)."""
    degree = _degree()
    reasons = [str(r.get("message", "")) for r in (a.computed_reasons or []) if isinstance(r, Mapping)]
    if a.result != DegreeConditionResult.NOT_MET.value:
        reasons = []
    elif a.override_result and a.override_reason:
        reasons = reasons or [a.override_reason]
    return [
        batches.get(a.batch_id, ""),
        s.student_no,
        s.name,
        s.gender,
        s.id_card,
        str(s.enrol_grade),
        label(s.level, Level),
        majors.get(s.major_id, ""),
        orgs.get(s.site_id, ""),
        orgs.get(s.college_id, ""),
        degree.language_text(facts),
        degree_course_text(facts),
        degree.average_text(facts),
        label(a.result, DegreeConditionResult),
        "；".join(reasons),
        "是" if a.override_result is not None else "否",
        label(a.review_opinion, ReviewOpinion) if a.review_opinion else "",
        a.review_comment or "",
        people.get(a.reviewed_by_id, ""),
        degree.fmt_time(a.reviewed_at),
        "已终审" if a.final_at else "未终审",
        degree.fmt_time(a.final_at),
        "已发布" if a.published_at else "未发布",
        a.degree_no or "",
    ]


@handler("degree_summary_export")
def run_degree_summary_export(task, progress: Progress) -> dict:
    """学位申请信息汇总表导出: stream every application of the filter into one workbook."""
    degree = _degree()
    params = task.params or {}
    scope = scope_from_params(params)
    ids = [int(i) for i in params.get("ids") or [] if str(i).isdigit()]
    flt = None if ids else degree.DegreeFilter.from_mapping(params.get("filter") or {})
    stage = params.get("stage") if params.get("stage") in STAGES else "any"
    base = degree.applications_select(scope, flt, stage=stage)
    if ids:
        base = base.where(DegreeApplication.id.in_(ids))
    total = _count(base.with_only_columns(DegreeApplication.id))
    progress(0, total)
    rel = storage.new_name("exports", ".xlsx")
    try:
        written = table_workbook(storage.resolve(rel), DEGREE_SUMMARY_TITLE, DEGREE_SUMMARY_HEADERS,
                                 degree_summary_rows(scope, flt, stage=stage, ids=ids or None, on_chunk=progress))
    except BaseException:
        _remove(rel)
        raise
    _store_result(task, rel, f"{DEGREE_SUMMARY_TITLE}_{local_today():%Y%m%d}.xlsx")
    return {"学位申请": written}


# --------------------------------------------------------------------------- list exports

LIST_TITLES = {"students": "学生学籍", "graduation": "毕业审核管理", "graduates": "毕业生列表", "oplog": "操作日志"}
# The first 17 columns are the 学生学籍 import template (app.imports.schema.STUDENTS): an export imports back.
STUDENT_HEADERS = ("学号", "姓名", "性别", "身份证号", "出生日期", "民族", "政治面貌", "手机号", "学籍年级", "学习年级",
                   "层次", "专业", "学习形式", "学制", "教学点", "学籍状态", "入学日期", "二级学院", "已通过课程数",
                   "已获总学分", "毕业照片")
GRADUATION_HEADERS = ("学号", "姓名", "学籍年级", "学习年级", "层次", "专业", "教学点", "已通过课程数", "已获总学分",
                      "同步时间", "毕业审核结果", "是否手工修改", "核实说明", "不合格原因", "确认状态")
GRADUATE_HEADERS = ("学号", "姓名", "性别", "身份证号", "学籍年级", "学习年级", "层次", "专业", "二级学院", "教学点",
                    "毕业证书编号", "毕业日期", "最终状态")
OPLOG_HEADERS = ("时间", "操作人", "操作", "记录", "记录编号", "学号", "原值", "新值", "原因/说明", "任务")
OPLOG_FILTER_KEYS = ("action", "actor_name", "student_no", "date_from", "date_to")
RECORD_TYPES = {
    "GraduationAudit": "毕业审核", "DegreeApplication": "学位申请", "Student": "学生学籍",
    "GraduateForm": "毕业生登记表", "Signature": "电子签名", "Account": "账号", "Task": "任务",
}


def clean_list_filters(kind: str, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """Plain filter values of a list page (the same keys as the page's filter bar)."""
    raw = raw or {}
    if kind == "oplog":
        out: dict[str, Any] = {}
        action = str(raw.get("action") or "")
        if action in ACTION_LABELS:
            out["action"] = action
        for key in ("actor_name", "student_no"):
            value = str(raw.get(key) or "").strip()[:50]
            if value:
                out[key] = value
        for key in ("date_from", "date_to"):
            try:
                out[key] = dt.date.fromisoformat(str(raw.get(key) or "").strip()).isoformat()
            except ValueError:
                pass
        return out
    f = graduation.clean_filters(raw)
    if kind == "students":
        f.pop("result", None)
        f.pop("confirm_state", None)
        status = str(raw.get("status") or "")
        if status in {m.value for m in EnrolmentStatus}:
            f["status"] = status
    elif kind == "graduation":
        f.pop("confirm_state", None)
    elif kind == "graduates":
        f.pop("result", None)
        f["confirm_state"] = graduation.ConfirmState.PUBLISHED.value
    return f


def _student_list_query(kind: str, filters: Mapping[str, Any], scope: Scope):
    stmt = graduation.filtered_students_query({k: v for k, v in filters.items() if k != "status"}, scope)
    if filters.get("status"):
        stmt = stmt.where(Student.status == filters["status"])
    return stmt


def _utc_bound(day: str, *, end: bool) -> dt.datetime:
    """A local (Asia/Shanghai) calendar day boundary as stored naive UTC."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    local = dt.datetime.combine(dt.date.fromisoformat(day) + dt.timedelta(days=1 if end else 0), dt.time())
    return local.replace(tzinfo=tz).astimezone(dt.timezone.utc).replace(tzinfo=None)


def oplog_query(filters: Mapping[str, Any], scope: Scope, actor_id: int | None):
    stmt = select(OperationLog).where(oplog_scope_clause(scope, actor_id))
    if filters.get("action"):
        stmt = stmt.where(OperationLog.action == filters["action"])
    if filters.get("actor_name"):
        stmt = stmt.where(OperationLog.actor_name.contains(filters["actor_name"], autoescape=True))
    if filters.get("student_no"):
        stmt = stmt.where(OperationLog.student_id.in_(
            select(Student.id).where(Student.student_no == filters["student_no"])))
    if filters.get("date_from"):
        stmt = stmt.where(OperationLog.at >= _utc_bound(filters["date_from"], end=False))
    if filters.get("date_to"):
        stmt = stmt.where(OperationLog.at < _utc_bound(filters["date_to"], end=True))
    return stmt


def list_query_count(kind: str, filters: Mapping[str, Any], scope: Scope, actor_id: int | None) -> int:
    if kind == "oplog":
        return _count(oplog_query(filters, scope, actor_id).with_only_columns(OperationLog.id))
    return _count(_student_list_query(kind, filters, scope).with_only_columns(Student.id))


def start_list_export(*, actor, scope: Scope, kind: str, filters: Mapping[str, Any] | None):
    """Validate a list export and create its task (flushed, not committed)."""
    if kind not in LIST_TITLES:
        raise NotFound("没有这种列表")
    f = clean_list_filters(kind, filters)
    total = list_query_count(kind, f, scope, getattr(actor, "id", None))
    if total == 0:
        raise DomainError("当前筛选条件下没有可导出的记录")
    text = f"{LIST_TITLES[kind]}：" + ("，".join(f"{k}={v}" for k, v in f.items()) or "全部")
    return create_task("list_export", actor=actor, params={"list": kind, "filters": f, "scope": scope_params(scope)},
                       scope_text=text, total=total)


def _student_keyset(after: tuple[str, int] | None):
    if after is None:
        return true()
    no, sid = after
    return or_(Student.student_no > no, and_(Student.student_no == no, Student.id > sid))


def _time(value: dt.datetime | None) -> str:
    """Stored UTC as Asia/Shanghai wall time."""
    if value is None:
        return ""
    return graduation.shanghai_now(value).strftime("%Y-%m-%d %H:%M:%S")


def _student_row(kind: str, s: Student, a: GraduationAudit | None, orgs: Mapping, majors: Mapping) -> list:
    level = label(s.level, Level)
    if kind == "students":
        return [s.student_no, s.name, s.gender, s.id_card, s.birth_date, s.ethnicity, s.political_status, s.mobile,
                str(s.enrol_grade), str(s.study_grade), level, majors.get(s.major_id, ""),
                label(s.study_mode, StudyMode), s.duration_years, orgs.get(s.site_id, ""),
                label(s.status, EnrolmentStatus), s.enrolled_on, orgs.get(s.college_id, ""), s.passed_courses,
                s.earned_credits, "已上传" if s.photo_path else "未上传"]
    if kind == "graduation":
        result = a.result if a is not None else GraduationResult.UNAUDITED.value
        reasons = [str(r.get("message", "")) for r in ((a.computed_reasons if a is not None else None) or [])
                   if isinstance(r, Mapping)] if result == GraduationResult.FAILED.value else []
        return [s.student_no, s.name, str(s.enrol_grade), str(s.study_grade), level, majors.get(s.major_id, ""),
                orgs.get(s.site_id, ""), s.passed_courses, s.earned_credits, _time(s.synced_at),
                label(result, GraduationResult), "是" if a is not None and a.override_result else "否",
                (a.override_reason or "") if a is not None and a.override_result else "", "；".join(reasons),
                graduation.CONFIRM_LABELS[graduation.confirm_state(a)]]
    return [s.student_no, s.name, s.gender, s.id_card, str(s.enrol_grade), str(s.study_grade), level,
            majors.get(s.major_id, ""), orgs.get(s.college_id, ""), orgs.get(s.site_id, ""),
            a.diploma_no if a is not None else "", a.graduation_date if a is not None else None,
            graduation.CONFIRM_LABELS[graduation.confirm_state(a)]]


def student_list_rows(kind: str, filters: Mapping[str, Any], scope: Scope,
                      on_chunk: Callable[[int], None] | None = None) -> Iterator[list]:
    """Rows of 学生学籍 / 毕业审核管理 / 毕业生列表 in 学号 order, read in keyset chunks."""
    base = _student_list_query(kind, filters, scope)
    after = None
    done = 0
    while True:
        page = db.session.execute(base.where(_student_keyset(after)).limit(ROWS_CHUNK)).all()
        if not page:
            return
        orgs = _names(Organisation, [r[0].site_id for r in page] + [r[0].college_id for r in page])
        majors = _names(Major, [r[0].major_id for r in page])
        for s, a in page:
            yield _student_row(kind, s, a, orgs, majors)
        after = (page[-1][0].student_no, page[-1][0].id)
        done += len(page)
        del page
        if on_chunk is not None:
            on_chunk(done)


def oplog_rows(filters: Mapping[str, Any], scope: Scope, actor_id: int | None,
               on_chunk: Callable[[int], None] | None = None) -> Iterator[list]:
    """操作日志 rows, newest first, read in keyset chunks over the id."""
    base = oplog_query(filters, scope, actor_id)
    last = None
    done = 0
    while True:
        stmt = base.order_by(OperationLog.id.desc()).limit(ROWS_CHUNK)
        if last is not None:
            stmt = stmt.where(OperationLog.id < last)
        page = list(db.session.scalars(stmt))
        if not page:
            return
        numbers = dict(db.session.execute(select(Student.id, Student.student_no).where(
            Student.id.in_({e.student_id for e in page if e.student_id}))).all())
        for e in page:
            yield [_time(e.at), e.actor_name, ACTION_LABELS.get(e.action, e.action),
                   RECORD_TYPES.get(e.record_type, e.record_type), e.record_id, numbers.get(e.student_id, ""),
                   e.old_value, e.new_value, e.reason, e.task_id]
        last = page[-1].id
        done += len(page)
        del page
        if on_chunk is not None:
            on_chunk(done)


@handler("list_export")
def run_list_export(task, progress: Progress) -> dict:
    """列表导出: the rows of one main list in the requester's scope, streamed into one workbook."""
    params = task.params or {}
    kind = params.get("list")
    if kind not in LIST_TITLES:
        raise DomainError("没有这种列表")
    scope = scope_from_params(params)
    filters = clean_list_filters(kind, params.get("filters") or {})
    actor_id = task.requested_by_id
    progress(0, list_query_count(kind, filters, scope, actor_id))
    if kind == "oplog":
        headers, rows = OPLOG_HEADERS, oplog_rows(filters, scope, actor_id, on_chunk=progress)
    else:
        headers = {"students": STUDENT_HEADERS, "graduation": GRADUATION_HEADERS,
                   "graduates": GRADUATE_HEADERS}[kind]
        rows = student_list_rows(kind, filters, scope, on_chunk=progress)
    title = LIST_TITLES[kind]
    rel = storage.new_name("exports", ".xlsx")
    try:
        written = table_workbook(storage.resolve(rel), title, headers, rows)
    except BaseException:
        _remove(rel)
        raise
    _store_result(task, rel, f"{title}_{local_today():%Y%m%d}.xlsx")
    return {"记录": written}

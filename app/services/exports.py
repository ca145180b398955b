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
import queue
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, or_, select, true
from sqlalchemy.orm import aliased

from app import storage
from app.audit.exceptions import course_standing, course_standings
from app.audit.scores import best_scores, course_progress
from app.audit.types import NO_EXCEPTIONS, Exceptions, Plan
from app.clock import format_local, local_day_start_utc, local_today
from app.exports import archive
from app.exports.xlsx import number_text, table_workbook
from app.extensions import db
from app.ids import parse_id
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
from app.services import approval_forms, degree_selection, facts, graduation
from app.services.common import chunks, count_rows, posted_ids
from app.services.errors import DomainError, NotFound
from app.services.export_files import file_part, printed_student_fields, school_name
from app.services.export_files import remove as _remove
from app.services.export_files import store_result as _store_result
from app.services.export_files import stored_file as _photo_file
from app.services.oplog import ACTION_LABELS
from app.services.tasks import Progress, create_task
from app.statuses import (
    CourseState,
    DegreeConditionResult,
    EnrolmentStatus,
    ExamKind,
    ExceptionKind,
    GraduationResult,
    Level,
    ReviewOpinion,
    StudyMode,
    label,
)

CHUNK = 200  # students per archive chunk (three small workbooks each)
ROWS_CHUNK = 1000  # rows per list chunk (the 汇总表 reads SUMMARY_CHUNK)
DEFAULT_SCHOOL = archive.DEFAULT_SCHOOL
OUT_OF_SCOPE = "所选学生不存在或不在您的管理范围内"
NO_DOCUMENT = "请至少选择一种导出文档"
NO_STUDENT = "当前筛选条件下没有学生"

DOCUMENTS: dict[str, str] = {"card": "学籍卡", "transcript": "成绩单", "form": "毕业生登记表"}
GRADUATED_ONLY, ALL_STATES = "yes", "all"
GRADUATED_CHOICES = ((GRADUATED_ONLY, "已毕业"), (ALL_STATES, "全部"))
ARCHIVE_FILTER_KEYS = ("enrol_grade", "study_grade", "level", "site_id", "major_id", "q")
_EXAM_ORDER = {ExamKind.REGULAR.value: 0, ExamKind.MAKEUP.value: 1, ExamKind.RETAKE.value: 2}


# --------------------------------------------------------------------------- shared helpers


def _ids_in_scope(ids: Sequence[int], scope: Scope) -> list[int]:
    found: list[int] = []
    for chunk in chunks(list(ids), ROWS_CHUNK):
        found.extend(db.session.scalars(select(Student.id).where(Student.id.in_(chunk), student_scope_clause(scope))))
    return found


def _names(model, ids: Iterable[int | None]) -> dict[int, str]:
    """id → name for a set of organisations or majors (one IN query)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(wanted))).tuples().all())


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
    ids = posted_ids(student_ids or (), NotFound(OUT_OF_SCOPE))
    if ids:
        if len(set(_ids_in_scope(ids, scope))) != len(ids):
            raise NotFound(OUT_OF_SCOPE)
        total = len(ids)
    else:
        total = count_rows(archive_query(f, scope).with_only_columns(Student.id))
    if total == 0:
        raise DomainError(NO_STUDENT)
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


# --------------------------------------------------------------------------- 学位申请信息汇总表

DEGREE_SUMMARY_TITLE = "学位申请信息汇总表"
DEGREE_SUMMARY_HEADERS = (
    "学位批次", "学号", "姓名", "性别", "身份证号", "年级", "层次", "专业", "教学点", "二级学院",
    "学位外语成绩", "学位课程成绩", "学位课程平均分", "学位申请条件是否达标", "未达标原因", "是否手工修改",
    "初审意见", "初审说明", "初审人", "初审时间", "终审", "终审时间", "发布状态", "学位证书编号",
)
STAGES = degree_selection.STAGES


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
    selection, params, total = degree_selection.choose(scope, filters, application_ids, stage,
                                                       title=DEGREE_SUMMARY_TITLE)
    return create_task("degree_summary_export", actor=actor, params=params, scope_text=selection.describe(),
                       total=total)


def _person(account) -> str:
    return f"{account.first_name or ''}{account.last_name or ''}" or account.username


def _keyset(after: tuple[str, int] | None):
    """Rows after (学号, application id) — chunked reading that commits in between stays correct."""
    if after is None:
        return true()
    no, app_id = after
    # ``student_no >= no`` on its own as well: the planner starts the 学号 index scan there instead
    # of filtering every earlier row again in each chunk
    return and_(Student.student_no >= no,
                or_(Student.student_no > no, and_(Student.student_no == no, DegreeApplication.id > app_id)))


SUMMARY_CHUNK = 5000  # applications per chunk of the 汇总表: plain columns, a few MB per chunk

# What a 汇总表 row shows, as plain columns; the last five are a ``degree.Applicant`` (what
# ``degree.gather_figures`` reads). Rows are read as plain tuples, by position.
_SUMMARY_COLUMNS = (
    DegreeApplication.id, DegreeApplication.batch_id, DegreeApplication.result,
    # the reasons only where the table shows them (未达标): no JSON to decode for the other rows
    case((DegreeApplication.result == DegreeConditionResult.NOT_MET.value, DegreeApplication.computed_reasons)),
    DegreeApplication.override_result, DegreeApplication.override_reason,
    DegreeApplication.review_opinion, DegreeApplication.review_comment, DegreeApplication.reviewed_by_id,
    DegreeApplication.reviewed_at, DegreeApplication.final_at, DegreeApplication.published_at,
    DegreeApplication.degree_no,
    Student.student_no, Student.name, Student.gender, Student.id_card, Student.enrol_grade, Student.site_id,
    Student.college_id,
    Student.id, Student.major_id, Student.level, Student.study_grade, Student.status,
)
_BATCH, _REVIEWER, _STUDENT_NO, _SITE, _COLLEGE, _STUDENT, _MAJOR = 1, 8, 13, 18, 19, 20, 21


class _NameCache(dict):
    """id → display name, filled a chunk at a time with the ids not seen yet (one IN query each)."""

    def __init__(self, load: Callable[[set[int]], Iterable[tuple[int, str]]]):
        super().__init__()
        self._load = load

    def add(self, ids: Iterable[int | None]) -> None:
        missing = {i for i in ids if i is not None and i not in self}
        if missing:
            self.update(self._load(missing))


def _name_loader(model) -> Callable[[set[int]], Iterable[tuple[int, str]]]:
    return lambda ids: db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).tuples().all()


def _people_loader(ids: set[int]) -> Iterable[tuple[int, str]]:
    return [(p.id, _person(p)) for p in db.session.execute(
        select(Account.id, Account.first_name, Account.last_name, Account.username).where(Account.id.in_(ids)))]


def _summary_chunks(base, degree) -> Iterator[tuple[list[tuple], dict]]:
    """(rows, ``degree.DegreeFigures`` by student id) of the 汇总表, a chunk at a time in (学号, id)
    order; the plans are loaded once for the whole export."""
    after = None
    plans: dict = {}
    while True:
        page = [tuple(r) for r in db.session.connection().execute(  # Core: no ORM row handling
            base.where(_keyset(after)).order_by(Student.student_no, DegreeApplication.id).limit(SUMMARY_CHUNK))]
        if not page:
            return
        facts = degree.gather_figures([degree.Applicant(*r[-5:]) for r in page], plans)
        db.session.rollback()  # read-only: no transaction stays open between chunks
        after = (page[-1][_STUDENT_NO], page[-1][0])
        yield page, facts


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


_END = object()


def _read_ahead(produce: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    """The items of ``produce()``, made in a thread one item ahead of the caller.

    The thread has its own app context, hence its own session and connection, so the database
    answers the next chunk's queries while this thread formats and writes the current one (about a
    quarter of the 汇总表's time was spent waiting for PostgreSQL). Items must be plain values.
    An error in the thread is raised here; closing this generator stops the thread.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app behind the proxy
    items: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            with app.app_context():
                for item in produce():
                    if not offer(item):
                        return
        except BaseException as exc:  # handed over to the consumer, which raises it
            offer(_Failed(exc))
            return
        offer(_END)

    worker = threading.Thread(target=run, name="summary-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()


def degree_summary_rows(scope: Scope, flt, *, stage: str = "any", ids: Sequence[int] | None = None,
                        on_chunk: Callable[[int], None] | None = None) -> Iterator[list]:
    """Yield one row per application, chunk by chunk (flat memory for 100,000 rows).

    Each chunk costs a fixed number of queries: the applications with their students as plain
    columns, what the table shows of the degree facts (``degree.gather_figures``: language scores,
    the best score of each 学位课程; the plans once) and the names not seen in an earlier chunk.
    The next chunk is read while this one is written (``_read_ahead``).
    """
    degree = _degree()
    base = degree.applications_select(scope, flt, stage=stage).with_only_columns(*_SUMMARY_COLUMNS)
    if ids:
        base = base.where(DegreeApplication.id.in_(list(ids)))
    orgs, majors = _NameCache(_name_loader(Organisation)), _NameCache(_name_loader(Major))
    batches, people = _NameCache(_name_loader(DegreeBatch)), _NameCache(_people_loader)
    texts = _DegreeTexts(degree)
    done = 0
    for page, page_facts in _read_ahead(lambda: _summary_chunks(base, degree)):
        orgs.add([r[_SITE] for r in page] + [r[_COLLEGE] for r in page])
        majors.add(r[_MAJOR] for r in page)
        batches.add(r[_BATCH] for r in page)
        people.add(r[_REVIEWER] for r in page)
        for r in page:
            yield degree_summary_row(r, page_facts.get(r[_STUDENT]), texts, orgs=orgs, majors=majors,
                                     batches=batches, people=people)
        done += len(page)
        del page, page_facts
        if on_chunk is not None:
            on_chunk(done)


def degree_course_text(facts) -> str:
    """Each 学位课程 as "课程名 分数" (best attempt), joined with "；"."""
    if facts is None or facts.plan is None:
        return ""
    return _course_text([c for c in facts.plan.courses if c.degree_course], facts.best,
                        exceptions=facts.exceptions)


def _course_text(degree_courses: Iterable, best: Mapping[str, float],
                 number: Callable[[float], str] = number_text, exceptions: Exceptions = NO_EXCEPTIONS) -> str:
    parts = []
    for c in degree_courses:
        if exceptions and c.code in exceptions:  # the course named with its exception, when one decided
            st = course_standing(c, best, exceptions)
            if st.exception is not None:
                parts.append(f"{st.label} {number(st.score) if st.score is not None else label(st.state, CourseState)}")
                continue
        score = best.get(c.code)
        parts.append(f"{c.name} {number(score) if score is not None else '无成绩'}")
    return "；".join(parts)


class _NumberTexts(dict):
    """score → ``number_text(score)``, each distinct score formatted once (there are few of them)."""

    def __missing__(self, score: float) -> str:
        text = self[score] = number_text(score)
        return text


class _DegreeTexts:
    """学位外语成绩, 学位课程成绩 and 学位课程平均分 of a row, as ``degree.language_text``,
    ``degree_course_text`` and ``degree.average_text`` show them, read through each plan's 学位课程
    only: the same texts, 6 courses to walk instead of 40. Students share their plan objects, so
    each plan is trimmed once (and kept, so that its id cannot be reused by another plan)."""

    def __init__(self, degree):
        self._degree = degree
        self._plans: dict[int, tuple[Plan, Plan]] = {}
        self._number = _NumberTexts().__getitem__

    def _degree_plan(self, plan: Plan) -> Plan:
        hit = self._plans.get(id(plan))
        if hit is None:  # (the plan is kept in the value, so its id cannot be reused meanwhile)
            hit = self._plans[id(plan)] = (plan, dataclasses.replace(
                plan, courses=tuple(c for c in plan.courses if c.degree_course)))
        return hit[1]

    def __call__(self, facts) -> tuple[str, str, str]:
        if facts is None:
            return "", "", ""
        language = self._degree.language_text(facts)
        if facts.plan is None:
            return language, "", ""
        plan = self._degree_plan(facts.plan)
        return (language, _course_text(plan.courses, facts.best, self._number, facts.exceptions),
                self._degree.plan_average_text(plan, facts.best, facts.exceptions))


_LEVEL_LABELS = {m.value: label(m) for m in Level}
_RESULT_LABELS = {m.value: label(m) for m in DegreeConditionResult}
_OPINION_LABELS = {m.value: label(m) for m in ReviewOpinion}
_NOT_MET = DegreeConditionResult.NOT_MET.value


def degree_summary_row(r, facts, texts: Callable[[Any], tuple[str, str, str]], *, orgs: Mapping, majors: Mapping,
                       batches: Mapping, people: Mapping) -> list:
    """The 汇总表 cells of one application (display values); ``r``: the values of ``_SUMMARY_COLUMNS``."""
    (_app_id, batch_id, result, computed_reasons, override_result, override_reason, review_opinion,
     review_comment, reviewed_by_id, reviewed_at, final_at, published_at, degree_no,
     student_no, name, gender, id_card, enrol_grade, site_id, college_id,
     _sid, major_id, level, _study_grade, _status) = r
    reasons = []
    if result == _NOT_MET:
        reasons = [str(x.get("message", "")) for x in (computed_reasons or []) if isinstance(x, Mapping)]
        if override_result and override_reason:
            reasons = reasons or [override_reason]
    language, courses, average = texts(facts)
    return [
        batches.get(batch_id, ""),
        student_no,
        name,
        gender,
        id_card,
        str(enrol_grade),
        _LEVEL_LABELS.get(level) or label(level, Level),
        majors.get(major_id, ""),
        orgs.get(site_id, ""),
        orgs.get(college_id, ""),
        language,
        courses,
        average,
        _RESULT_LABELS.get(result) or label(result, DegreeConditionResult),
        "；".join(reasons),
        "是" if override_result is not None else "否",
        (_OPINION_LABELS.get(review_opinion) or label(review_opinion, ReviewOpinion)) if review_opinion else "",
        review_comment or "",
        people.get(reviewed_by_id, ""),
        _fmt_time(reviewed_at),
        "已终审" if final_at else "未终审",
        _fmt_time(final_at),
        "已发布" if published_at else "未发布",
        degree_no or "",
    ]


def _fmt_time(value: dt.datetime | None) -> str:
    return format_local(value, "%Y-%m-%d %H:%M")


def run_degree_summary_export(task, progress: Progress) -> dict:
    """学位申请信息汇总表导出: stream every application of the filter into one workbook."""
    sel = degree_selection.DegreeSelection.from_params(task.params or {})
    base = sel.select()
    total = count_rows(base.with_only_columns(DegreeApplication.id))
    progress(0, total)
    rel = storage.new_name("exports", ".xlsx")
    try:
        written = table_workbook(storage.resolve(rel), DEGREE_SUMMARY_TITLE, DEGREE_SUMMARY_HEADERS,
                                 degree_summary_rows(sel.scope, sel.flt, stage=sel.stage, ids=sel.ids or None,
                                                     on_chunk=progress))
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
    """A local calendar day's start (or, with ``end``, the next day's) as stored naive UTC."""
    return local_day_start_utc(dt.date.fromisoformat(day) + dt.timedelta(days=1 if end else 0))


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
        return count_rows(oplog_query(filters, scope, actor_id).with_only_columns(OperationLog.id))
    return count_rows(_student_list_query(kind, filters, scope).with_only_columns(Student.id))


_OPLOG_FILTER_LABELS = {"action": "操作类型", "actor_name": "操作人", "student_no": "学号", "date_from": "开始日期",
                        "date_to": "结束日期"}


def describe_list_filters(kind: str, f: Mapping[str, Any]) -> str:
    """A list export's 范围 in the page's own labels (学籍年级 2020，层次 高起本 …; 已勾选 2 名学生)."""
    if kind == "oplog":
        parts = [f"{_OPLOG_FILTER_LABELS[k]} {ACTION_LABELS.get(v, v) if k == 'action' else v}"
                 for k, v in f.items() if k in _OPLOG_FILTER_LABELS]
        return "，".join(parts) or "全部"
    text = graduation.describe({k: v for k, v in f.items() if k not in ("status", "confirm_state")})
    text = text.removeprefix("筛选：")
    if f.get("status"):
        extra = f"学籍状态 {label(f['status'], EnrolmentStatus)}"
        text = extra if text == "全部" else f"{text}，{extra}"
    return text


def start_list_export(*, actor, scope: Scope, kind: str, filters: Mapping[str, Any] | None):
    """Validate a list export and create its task (flushed, not committed)."""
    if kind not in LIST_TITLES:
        raise NotFound("没有这种列表")
    f = clean_list_filters(kind, filters)
    total = list_query_count(kind, f, scope, getattr(actor, "id", None))
    if total == 0:
        raise DomainError("当前筛选条件下没有可导出的记录")
    text = f"{LIST_TITLES[kind]}：" + describe_list_filters(kind, f)
    return create_task("list_export", actor=actor, params={"list": kind, "filters": f, "scope": scope.to_params()},
                       scope_text=text, total=total)


def _student_keyset(after: tuple[str, int] | None):
    if after is None:
        return true()
    no, sid = after
    return or_(Student.student_no > no, and_(Student.student_no == no, Student.id > sid))


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
                orgs.get(s.site_id, ""), s.passed_courses, s.earned_credits, format_local(s.synced_at),
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
            Student.id.in_({e.student_id for e in page if e.student_id}))).tuples().all())
        for e in page:
            yield [format_local(e.at), e.actor_name, ACTION_LABELS.get(e.action, e.action),
                   RECORD_TYPES.get(e.record_type, e.record_type), e.record_id, numbers.get(e.student_id, ""),
                   e.old_value, e.new_value, e.reason, e.task_id]
        last = page[-1].id
        done += len(page)
        del page
        if on_chunk is not None:
            on_chunk(done)


def run_list_export(task, progress: Progress) -> dict:
    """列表导出: the rows of one main list in the requester's scope, streamed into one workbook."""
    params = task.params or {}
    kind = params.get("list")
    if kind not in LIST_TITLES:
        raise DomainError("没有这种列表")
    scope = Scope.from_params(params.get("scope"))
    filters = clean_list_filters(kind, params.get("filters") or {})
    actor_id = task.requested_by_id
    progress(0, list_query_count(kind, filters, scope, actor_id))
    headers: tuple[str, ...]
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

"""学位申请信息汇总表 (SPEC §4.8): 100,000 rows in keyset chunks, read ahead while the workbook is written."""
from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, or_, select, true

from app import storage
from app.audit.exceptions import course_standing
from app.audit.types import NO_EXCEPTIONS, Exceptions, Plan, failure_messages
from app.clock import local_today
from app.exports.xlsx import number_text, table_workbook
from app.extensions import db
from app.models import (
    Account,
    DegreeApplication,
    DegreeBatch,
    Major,
    Organisation,
    Student,
)
from app.security import Scope
from app.services import degree, degree_selection
from app.services.common import count_rows
from app.services.export_files import remove as _remove
from app.services.export_files import store_result as _store_result
from app.services.exports.common import format_time
from app.services.tasks import Progress, create_task
from app.statuses import (
    CourseState,
    DegreeConditionResult,
    Level,
    ReviewOpinion,
    label,
)

DEGREE_SUMMARY_TITLE = "学位申请信息汇总表"
DEGREE_SUMMARY_HEADERS = (
    "学位批次", "学号", "姓名", "性别", "身份证号", "年级", "层次", "专业", "教学点", "二级学院",
    "学位外语成绩", "学位课程成绩", "学位课程平均分", "学位申请条件是否达标", "未达标原因", "是否手工修改",
    "初审意见", "初审说明", "初审人", "初审时间", "终审", "终审时间", "发布状态", "学位证书编号",
)


STAGES = degree_selection.STAGES


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
        reasons = failure_messages(computed_reasons)
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
        format_time(reviewed_at),
        "已终审" if final_at else "未终审",
        format_time(final_at),
        "已发布" if published_at else "未发布",
        degree_no or "",
    ]


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

"""The main lists as xlsx (学生学籍, 毕业审核管理, 毕业生列表, 操作日志): filter, rows and the export task."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask_babel import gettext
from sqlalchemy import and_, or_, select, true

from app import storage
from app.audit.confirmation import CONFIRM_LABELS
from app.audit.types import failure_messages
from app.clock import format_local, local_day_start_utc, local_today
from app.exports.xlsx import table_workbook
from app.extensions import db
from app.models import (
    GraduationAudit,
    Major,
    OperationLog,
    Organisation,
    Student,
)
from app.security import Scope, oplog_scope_clause
from app.services import graduation
from app.services.common import count_rows
from app.services.errors import DomainError, NotFound
from app.services.export_files import remove as _remove
from app.services.export_files import store_result as _store_result
from app.services.exports.common import ROWS_CHUNK, names_of
from app.services.oplog import ACTION_LABELS
from app.services.tasks import Progress, create_task
from app.statuses import (
    ConfirmState,
    EnrolmentStatus,
    GraduationResult,
    Level,
    StudyMode,
    label,
)

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
    elif kind == "graduates":
        f.pop("result", None)
        f["confirm_state"] = ConfirmState.PUBLISHED.value
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
    hidden = ("status", "confirm_state") if kind == "graduates" else ("status",)  # 毕业生列表: always 已毕业
    text = graduation.describe({k: v for k, v in f.items() if k not in hidden})
    text = text.removeprefix("筛选：")
    if f.get("status"):
        extra = f"学籍状态 {label(f['status'], EnrolmentStatus)}"
        text = extra if text == "全部" else f"{text}，{extra}"
    return text


def start_list_export(*, actor, scope: Scope, kind: str, filters: Mapping[str, Any] | None):
    """Validate a list export and create its task (flushed, not committed)."""
    if kind not in LIST_TITLES:
        raise NotFound(gettext("没有这种列表"))
    f = clean_list_filters(kind, filters)
    total = list_query_count(kind, f, scope, getattr(actor, "id", None))
    if total == 0:
        raise DomainError(gettext("当前筛选条件下没有可导出的记录"))
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
        reasons = failure_messages(a.computed_reasons if a is not None else None) \
            if result == GraduationResult.FAILED.value else []
        return [s.student_no, s.name, str(s.enrol_grade), str(s.study_grade), level, majors.get(s.major_id, ""),
                orgs.get(s.site_id, ""), s.passed_courses, s.earned_credits, format_local(s.synced_at),
                label(result, GraduationResult), "是" if a is not None and a.override_result else "否",
                (a.override_reason or "") if a is not None and a.override_result else "", "；".join(reasons),
                CONFIRM_LABELS[graduation.confirm_state(a)]]
    return [s.student_no, s.name, s.gender, s.id_card, str(s.enrol_grade), str(s.study_grade), level,
            majors.get(s.major_id, ""), orgs.get(s.college_id, ""), orgs.get(s.site_id, ""),
            a.diploma_no if a is not None else "", a.graduation_date if a is not None else None,
            CONFIRM_LABELS[graduation.confirm_state(a)]]


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
        orgs = names_of(Organisation, [r[0].site_id for r in page] + [r[0].college_id for r in page])
        majors = names_of(Major, [r[0].major_id for r in page])
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
        raise DomainError(gettext("没有这种列表"))
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

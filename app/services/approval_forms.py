"""学士学位申请审批表 (issue 16): gathering one sheet per 学位申请, exported through 任务中心 and put into
the student's 毕业生档案.

The applications are chosen exactly like the 学位申请信息汇总表 (``degree_selection``: ticked ids or the
filter of 学位申请审核管理 / 学位授予管理, the requester's scope applied again in the job). Each chunk costs
a fixed number of set queries. The sheet prints the signature version the 初审 was signed with
(``DegreeApplication.review_signature_id``), never the reviewer's current one.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app import storage
from app.audit.types import failure_messages
from app.clock import format_local, local_today
from app.exports.approval_form import TITLE, write_approval_form
from app.exports.xlsx import number_text
from app.extensions import db
from app.models import (
    Account,
    DegreeApplication,
    DegreeBatch,
    GraduationAudit,
    Major,
    Organisation,
    Signature,
    Student,
)
from app.security import Scope, student_scope_clause
from app.services import degree, degree_selection
from app.services.common import chunks
from app.services.export_files import file_part, printed_student_fields, remove, school_name, store_result, stored_file
from app.services.tasks import Progress, create_task
from app.statuses import DegreeConditionResult, ReviewOpinion, TaskKind, label

CHUNK = 200  # applications per chunk: one small workbook each


def start_approval_export(*, actor, scope: Scope, filters: Mapping[str, Any] | None,
                          application_ids: Iterable[Any] | None = None, stage: str = "any"):
    """Validate a 学士学位申请审批表 export and create its task (flushed, not committed).

    What the list button posts is what the 学位申请信息汇总表 button posts: the ticked ``ids`` or the
    page's filter fields, and the page's stage ("pending" on 学位申请审核管理, "final" on 学位授予管理).

    Raises:
        NotFound: a ticked application outside the scope.
        DomainError: the filter asks for 未申请 students, or matches no application.
    """
    selection, params, total = degree_selection.choose(scope, filters, application_ids, stage, title=TITLE)
    return create_task(TaskKind.DEGREE_APPROVAL_EXPORT.value, actor=actor, params=params,
                       scope_text=selection.describe(), total=total)


def _person(first: str | None, last: str | None, username: str | None) -> str:
    return f"{first or ''}{last or ''}" or (username or "")


def _date(value) -> str:
    return format_local(value, "%Y-%m-%d")


def _condition(app: DegreeApplication) -> str:
    """学位申请条件 as printed: the result, and why when it is not met."""
    text = label(app.result, DegreeConditionResult)
    if app.result == DegreeConditionResult.NOT_MET.value:
        reasons = failure_messages(app.computed_reasons)
        if app.override_result and app.override_reason:
            reasons = reasons or [app.override_reason]
        if reasons:
            text += "：" + "；".join(r for r in reasons if r)
    return text


def load_approval_forms(application_ids: Sequence[int], scope: Scope, printed_on=None) -> list[dict]:
    """The sheets of a chunk of applications, in 学号 order: the data dict with ``photo`` and ``signature``
    (absolute paths or None). The scope is applied again here; ids outside it drop out."""
    ids = list(application_ids)
    if not ids:
        return []
    site, college = aliased(Organisation), aliased(Organisation)
    reviewer = aliased(Account)
    rows = db.session.execute(
        select(DegreeApplication, Student, Major.name, site.name, college.name, DegreeBatch.name,
               GraduationAudit.diploma_no, GraduationAudit.graduation_date, GraduationAudit.published_at,
               reviewer.first_name, reviewer.last_name, reviewer.username,
               Signature.path, Signature.version, Signature.created_at)
        .join(Student, Student.id == DegreeApplication.student_id)
        .join(DegreeBatch, DegreeBatch.id == DegreeApplication.batch_id)
        .join(Major, Major.id == Student.major_id)
        .join(site, site.id == Student.site_id)
        .join(college, college.id == Student.college_id)
        .outerjoin(GraduationAudit, GraduationAudit.student_id == Student.id)
        .outerjoin(reviewer, reviewer.id == DegreeApplication.reviewed_by_id)
        .outerjoin(Signature, Signature.id == DegreeApplication.review_signature_id)
        .where(DegreeApplication.id.in_(ids), student_scope_clause(scope))
        .order_by(Student.student_no, DegreeApplication.id)
    ).all()
    figures = degree.gather_figures([r[1] for r in rows])
    forms = []
    for (app, s, major, site_name, college_name, batch, diploma_no, graduation_date, published_at,
         first, last, username, sig_path, sig_version, sig_created) in rows:
        facts = figures.get(s.id)
        courses = ""  # as the 汇总表's 学位课程成绩: "课程名 分数；…"
        if facts is not None and facts.plan is not None:
            courses = "；".join(
                f"{c.name} {number_text(facts.best[c.code]) if c.code in facts.best else '无成绩'}"
                for c in facts.plan.courses if c.degree_course)
        data = printed_student_fields(s, major=major, site=site_name, college=college_name, diploma_no=diploma_no,
                                      graduation_date=graduation_date, published_at=published_at,
                                      printed_on=printed_on)
        data.update({
            "batch": batch,
            "language": degree.language_text(facts),
            "average": degree.average_text(facts),
            "courses": courses,
            "condition": _condition(app),
            "opinion": label(app.review_opinion, ReviewOpinion) if app.review_opinion else "",
            "comment": app.review_comment or "",
            "reviewer": _person(first, last, username) if app.reviewed_by_id else "",
            "reviewed_on": _date(app.reviewed_at),
            "signature_note": f"第{sig_version}版（上传于 {_date(sig_created)}）" if sig_version else "",
            "final_on": _date(app.final_at),
            "degree_no": (app.degree_no or "") if app.published_at else "",
            "granted_on": app.granted_on if app.published_at else None,
            "photo": stored_file(s.photo_path),
            "signature": stored_file(sig_path),
            "file_name": f"{file_part(s.student_no)}_{file_part(s.name)}_{file_part(batch)}_{TITLE}.xlsx",
        })
        forms.append(data)
    return forms


def form_bytes(data: dict, school: str) -> bytes:
    buf = io.BytesIO()
    write_approval_form(buf, {**data, "school": school}, data.get("photo"), data.get("signature"))
    return buf.getvalue()


def student_forms(student_ids: Sequence[int], scope: Scope, school: str,
                  printed_on=None) -> Iterator[tuple[str, bytes]]:
    """(file name, workbook) of every 学位申请 of these students: their 毕业生档案 carries the 审批表."""
    if not student_ids:
        return
    app_ids = list(db.session.scalars(
        select(DegreeApplication.id).join(Student, Student.id == DegreeApplication.student_id)
        .where(DegreeApplication.student_id.in_(list(student_ids)), student_scope_clause(scope))))
    for data in load_approval_forms(app_ids, scope, printed_on):
        yield data["file_name"], form_bytes(data, school)


def run_approval_export(task, progress: Progress) -> dict:
    """学士学位申请审批表导出: one workbook per application, zipped, chunk by chunk."""
    sel = degree_selection.DegreeSelection.from_params(task.params or {})
    ids = list(db.session.scalars(sel.select().with_only_columns(DegreeApplication.id)
                                  .order_by(Student.student_no, DegreeApplication.id)))
    progress(0, len(ids))
    today = local_today()
    school = school_name()
    rel = storage.new_name("exports", ".zip")
    files = done = 0
    try:
        with zipfile.ZipFile(storage.resolve(rel), "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for chunk in chunks(ids, CHUNK):
                for data in load_approval_forms(chunk, sel.scope, today):
                    zf.writestr(data["file_name"], form_bytes(data, school))
                    files += 1
                done += len(chunk)
                progress(done)
    except BaseException:
        remove(rel)
        raise
    store_result(task, rel, f"{TITLE}_{today:%Y%m%d}.zip")
    return {"学位申请": len(ids), "文件": files}

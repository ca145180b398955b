"""发布 (CE college): 学位证书编号 and 授予日期 for final applications, as a background job."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from app.clock import local_now
from app.extensions import db
from app.models import Account, DegreeApplication, DegreeBatch, Student
from app.models.base import utcnow
from app.security import scope_of
from app.services import numbering, oplog
from app.services.common import chunks, count_rows
from app.services.degree.audit import _log_row, _task_ids
from app.services.degree.common import CHUNK, _names
from app.services.degree.filters import FINAL, DegreeFilter, _load_selected, applications_select
from app.services.errors import DomainError, NotAllowed
from app.services.numbering import allocate, degree_prefix
from app.services.tasks import Progress, create_task, lock_key_for


def start_publish(actor, *, ids: Sequence[Any] | None = None, flt: DegreeFilter | None = None):
    """Create (flush) a 学位发布 task over final, unpublished applications. CE admin only."""
    scope = scope_of(actor)
    if not scope.is_all:
        raise NotAllowed(gettext("仅继教院管理员可以发布学位"))
    if ids:
        rows = _load_selected(scope, ids)
        not_final = [a for a in rows if a.final_at is None]
        if not_final:
            raise DomainError(gettext("以下学生的学位申请尚未终审，不能发布：%(students)s", students=_names(not_final)))
        targets = [a.id for a in rows if a.published_at is None]
        params: dict = {"ids": targets}
        scope_text = f"选中的 {len(targets)} 条学位申请"
        total = len(targets)
    else:
        flt = (flt or DegreeFilter())
        params = {"filter": {**flt.to_params(), "published": "no"}}
        scope_text = flt.describe()
        total = count_rows(applications_select(scope, DegreeFilter.from_mapping(params["filter"]), stage=FINAL))
    if total == 0:
        raise DomainError(gettext("没有待发布的学位申请（需已终审且尚未发布）"))
    return create_task("degree_publish", actor=actor, params=params, scope_text=scope_text,
                       lock_key=lock_key_for("degree_publish", actor), total=total)


def run_publish(task, progress: Progress) -> dict:
    """学位发布 job: number and date every final, unpublished application; a rerun adds nothing."""
    actor = db.session.get(Account, task.requested_by_id)
    scope = scope_of(actor)
    if not scope.is_all:
        raise NotAllowed(gettext("仅继教院管理员可以发布学位"))
    ids = _task_ids(task, scope, stage=FINAL,
                    order=(DegreeApplication.batch_id, Student.site_id, Student.student_no, DegreeApplication.id))
    progress(0, len(ids))
    school = current_app.config["SCHOOL_CODE"]
    today = local_now().date()
    published = done = 0
    for chunk in chunks(ids, CHUNK):
        order = {app_id: i for i, app_id in enumerate(chunk)}
        apps = sorted(db.session.scalars(
            select(DegreeApplication).join(Student, Student.id == DegreeApplication.student_id)
            .where(DegreeApplication.id.in_(chunk), DegreeApplication.published_at.is_(None),
                   DegreeApplication.final_at.is_not(None))
            .options(contains_eager(DegreeApplication.student))
        ).unique(), key=lambda a: order[a.id])
        by_batch: dict[int, list[DegreeApplication]] = {}
        for app in apps:
            by_batch.setdefault(app.batch_id, []).append(app)
        now = utcnow()
        logs = []
        for batch_id, group in by_batch.items():
            batch = db.session.get_one(DegreeBatch, batch_id)
            prefix = degree_prefix(school, batch.year)
            numbering.lock(prefix)  # then re-read: a publication beside this one may have numbered some
            fresh = set(db.session.scalars(select(DegreeApplication.id).where(
                DegreeApplication.id.in_([a.id for a in group]), DegreeApplication.published_at.is_(None))))
            group = [a for a in group if a.id in fresh]
            published += len(group)
            numbers = allocate(prefix, len(group))
            for app, number in zip(group, numbers, strict=True):
                app.degree_no = number
                app.granted_on = batch.grant_date or today
                app.published_at = now
                app.published_task_id = task.id
                logs.append(_log_row(actor, app, "degree_publish", "未发布", f"已发布 {number}", None, task.id, now))
        db.session.flush()
        oplog.record_many(logs)
        done += len(chunk)
        progress(done)
    return {"已发布": published}



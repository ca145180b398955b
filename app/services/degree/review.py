"""初审 (teaching site, signed) and 批量终审 (college)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, or_, update

from app.extensions import db
from app.i18n import joined
from app.models import DegreeApplication
from app.models.base import utcnow
from app.security import scope_of
from app.services import oplog
from app.services.common import changed_rows
from app.services.degree.audit import _log_row
from app.services.degree.common import MET, _names
from app.services.degree.filters import PENDING, DegreeFilter, _load_selected, _resolve
from app.services.errors import DomainError, NotAllowed
from app.services.reasons import clean_reason
from app.statuses import ReviewOpinion, label


def first_review(ids: Sequence[Any] | None, opinion: str, comment: str, actor, *,
                 flt: DegreeFilter | None = None) -> int:
    """初审 by a teaching-site admin, signed with the admin's current electronic signature.

    Only 已达标 rows can be reviewed; any other row refuses the whole request. Submitting the
    same review twice changes nothing the second time.
    """
    from app.services.signatures import current_signature

    scope = scope_of(actor)
    if scope.kind != "site":
        raise NotAllowed(gettext("仅教学点管理员可以初审"))
    if opinion not in {m.value for m in ReviewOpinion}:
        raise DomainError(gettext("请选择初审意见：同意或不同意"))
    comment = clean_reason(comment, "初审说明", required=False)
    apps = _resolve(scope, ids, flt, stage=PENDING)
    if not apps:
        raise DomainError(gettext("没有可初审的学位申请"))
    final = [a for a in apps if a.final_at is not None]
    if final:
        raise NotAllowed(gettext("以下学生的学位申请已终审，不能再初审：%(students)s", students=_names(final)))
    unmet = [a for a in apps if a.result != MET]
    if unmet:
        raise DomainError(gettext("只能对学位申请条件已达标的学生初审，以下学生未达标或未审核：%(students)s",
                                  students=_names(unmet)))
    signature = current_signature(actor)
    if signature is None:
        raise DomainError(gettext("请先上传电子签名"))
    now = utcnow()
    changed = 0
    t = DegreeApplication
    for app in apps:
        if (app.review_opinion, app.review_comment or "", app.review_signature_id, app.reviewed_by_id) == \
                (opinion, comment, signature.id, actor.id):
            continue
        old = label(app.review_opinion, ReviewOpinion) if app.review_opinion else "未初审"
        # Written only if the row still differs: the same review submitted at the same moment by a
        # second request (double click, two tabs) then changes and logs nothing.
        if not changed_rows(
            update(t).where(t.id == app.id, t.final_at.is_(None), or_(
                t.review_opinion.is_distinct_from(opinion), func.coalesce(t.review_comment, "") != comment,
                t.review_signature_id.is_distinct_from(signature.id), t.reviewed_by_id.is_distinct_from(actor.id)))
            .values(review_opinion=opinion, review_comment=comment, reviewed_by_id=actor.id, reviewed_at=now,
                    review_signature_id=signature.id)
            .execution_options(synchronize_session="fetch")
        ):
            continue
        oplog.record(actor=actor, action="degree_review", record=app, student=app.student, old=old,
                     new=f"{label(opinion, ReviewOpinion)}（签名第{signature.version}版）", reason=comment or None)
        changed += 1
    db.session.flush()
    return changed


# --------------------------------------------------------------------------- 批量终审


def _final_ready(app: DegreeApplication) -> bool:
    return app.result == MET and app.review_opinion == ReviewOpinion.AGREE.value


def final_review(actor, *, ids: Sequence[Any] | None = None, flt: DegreeFilter | None = None) -> dict[str, int]:
    """批量终审 by a college admin: 已达标 rows with 初审 同意 go to the CE college.

    Ticked rows that are not ready refuse the request (with names); by filter they are skipped and
    counted. Rows already 终审 are left as they are.

    Returns:
        {"终审": rows finalised now, "跳过": rows of the filter skipped}.
    """
    scope = scope_of(actor)
    if scope.kind != "college":
        raise NotAllowed(gettext("仅学院管理员可以终审"))
    if ids:
        apps = [a for a in _load_selected(scope, ids) if a.final_at is None]
        not_ready = [a for a in apps if not _final_ready(a)]
        if not_ready:
            raise DomainError(gettext("只能终审学位申请条件已达标且初审同意的学生，以下学生不符合：%(students)s",
                                      students=_names(not_ready)))
        skipped = 0
    else:
        if flt is None:
            raise DomainError(gettext("请勾选学位申请，或先设置筛选条件"))
        candidates = _resolve(scope, None, flt, stage=PENDING)
        apps = [a for a in candidates if _final_ready(a)]
        skipped = len(candidates) - len(apps)
    if not apps:
        raise DomainError(gettext("没有可终审的学位申请（需学位申请条件已达标且初审同意）"))
    now = utcnow()
    logs = []
    for app in apps:
        app.final_at = now
        app.final_by_id = actor.id
        logs.append(_log_row(actor, app, "degree_final", "未终审", "已终审", None, None, now))
    db.session.flush()
    oplog.record_many(logs)
    return {"终审": len(apps), "跳过": skipped}




def first_review_message(n: int) -> str:
    """What the page and the API say after ``first_review`` (in the request's language)."""
    return gettext("初审完成：%(n)s 名学生的初审意见已签名保存", n=n) if n else gettext("初审意见未变化")


def final_review_message(out: Mapping[str, int]) -> str:
    """What the page and the API say after ``final_review`` (its counts), in the request's language."""
    message = gettext("批量终审完成：%(n)s 名学生的学位申请已提交继教院", n=out["终审"])
    if out["跳过"]:
        message = joined((message, gettext("%(n)s 名学生未达标或未经初审同意，未提交", n=out["跳过"])))
    return message

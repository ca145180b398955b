"""修改授予结论: a result set by hand, with a reason, kept across later audits."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import gettext

from app.extensions import db
from app.models.base import utcnow
from app.services import oplog
from app.services.degree.common import MET, NOT_MET, _admin_scope, _names
from app.services.degree.filters import PENDING, DegreeFilter, _resolve
from app.services.errors import DomainError, NotAllowed
from app.services.reasons import clean_reason
from app.statuses import DegreeConditionResult, label


def override(ids: Sequence[Any] | None, result: str, reason: str, actor, *, flt: DegreeFilter | None = None) -> int:
    """修改授予结论: set 已达标/未达标 by hand with a reason; kept across later audits.

    Sites and colleges cannot change an application after 终审; the CE admin can. Posting the same
    override again changes and logs nothing. Returns the number of changed applications.
    """
    scope = _admin_scope(actor)
    if result not in (MET, NOT_MET):
        raise DomainError(gettext("请选择授予结论：已达标或未达标"))
    reason = clean_reason(reason, "修改授予结论的核实说明")
    apps = _resolve(scope, ids, flt, stage=PENDING)
    if not apps:
        raise DomainError(gettext("没有可修改的学位申请"))
    if not scope.is_all:
        locked = [a for a in apps if a.final_at is not None]
        if locked:
            raise NotAllowed(gettext("以下学生的学位申请已终审，不能修改授予结论：%(students)s",
                                     students=_names(locked)))
    now = utcnow()
    changed = 0
    for app in apps:
        if (app.override_result == result and app.override_reason == reason
                and app.override_by_id == actor.id and app.result == result):
            continue  # the same override posted again: nothing changes, nothing is logged
        changed += 1
        old = app.result
        app.override_result = result
        app.override_reason = reason
        app.override_by_id = actor.id
        app.override_at = now
        app.result = result
        oplog.record(actor=actor, action="degree_override", record=app, student=app.student,
                     old=label(old, DegreeConditionResult), new=label(result, DegreeConditionResult), reason=reason)
    db.session.flush()
    return changed



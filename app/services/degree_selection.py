"""Which 学位申请 an export covers: the ticked ids or the filter of 学位申请审核管理 / 学位授予管理.

Shared by the 学位申请信息汇总表 and the 学士学位申请审批表 exports, so both accept the same posts, refuse
the same things with the same words, and their jobs re-apply the requester's scope the same way.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext

from app.i18n import word
from app.ids import parse_id
from app.models import DegreeApplication
from app.security import Scope
from app.services import degree
from app.services.common import chunks, count_rows, posted_ids
from app.services.errors import DomainError, NotFound
from app.statuses import DegreeApplicationState

STAGES = ("any", "pending", "final")
ID_CHUNK = 1000
OUT_OF_SCOPE = "所选学位申请不存在或不在您的管理范围内"
NOTHING = "当前筛选条件下没有学位申请"


@dataclass(frozen=True)
class DegreeSelection:
    """The requester's scope with either ticked application ids or a filter, and the page's stage."""

    scope: Scope
    flt: Any  # degree.DegreeFilter, or None when ids were ticked
    stage: str = "any"
    ids: tuple[int, ...] = field(default_factory=tuple)

    def select(self):
        """The applications (joined to their students), the scope applied again."""
        base = degree.applications_select(self.scope, self.flt, stage=self.stage)
        if self.ids:
            base = base.where(DegreeApplication.id.in_(list(self.ids)))
        return base

    def to_params(self, flt_params: Mapping[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {"scope": self.scope.to_params(), "filter": dict(flt_params), "stage": self.stage}
        if self.ids:
            params["ids"] = list(self.ids)
        return params

    def describe(self) -> str:
        return f"选中的 {len(self.ids)} 条学位申请" if self.ids else self.flt.describe()

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DegreeSelection:
        """A task's selection from its plain params (tampered ids drop out through the scope)."""
        ids = tuple(n for n in map(parse_id, params.get("ids") or []) if n is not None)
        flt = None if ids else degree.DegreeFilter.from_mapping(params.get("filter") or {})
        stage = str(params["stage"]) if params.get("stage") in STAGES else "any"
        return cls(Scope.from_params(params.get("scope")), flt, stage, ids)


def choose(scope: Scope, filters: Mapping[str, Any] | None, application_ids: Iterable[Any] | None,
           stage: str, *, title: str) -> tuple[DegreeSelection, dict[str, Any], int]:
    """Check what an export of ``title`` was asked for: (selection, task params, how many applications).

    Raises:
        NotFound: a ticked application outside the scope (or not an id).
        DomainError: the filter asks for 未申请 students, or matches no application.
    """
    flt = degree.DegreeFilter.from_mapping(filters or {})
    stage = stage if stage in STAGES else "any"
    ids = posted_ids(application_ids or (), NotFound(gettext(OUT_OF_SCOPE)))
    if flt.applied == DegreeApplicationState.NOT_APPLIED.value and not ids:
        raise DomainError(gettext("%(title)s只包含已申请的学生，请将学生申请状态选为“已申请”后再导出",
                                  title=word(title)))
    selection = DegreeSelection(scope, None if ids else flt, stage, tuple(ids))
    base = degree.applications_select(scope, selection.flt, stage=stage)
    if ids:
        found = 0
        for chunk in chunks(ids, ID_CHUNK):
            found += count_rows(base.where(DegreeApplication.id.in_(chunk)).with_only_columns(DegreeApplication.id))
        if found != len(ids):
            raise NotFound(gettext(OUT_OF_SCOPE))
        total = len(ids)
    else:
        total = count_rows(base.with_only_columns(DegreeApplication.id))
    if total == 0:
        raise DomainError(gettext(NOTHING))
    return selection, selection.to_params(flt.to_params()), total

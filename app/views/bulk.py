"""The one bulk-action rule of every list (issue 13), built once into ``ScopedModelView``.

- ticked rows → exactly those rows, resolved in ONE scoped query; an id outside the scope (or
  malformed) → 404 and nothing changes;
- nothing ticked → the list's current FAB filter, but only after a confirmation page that states
  the count computed here, on the server, for the filter and the scope ("将对当前筛选的 83 名学生
  执行毕业审核，确定吗？"); the confirmation posts the count back and a changed count asks again;
- "选择全部 N 条符合筛选条件的学生" (offered after 全选 ticks a page, ``_select_all.html``) posts
  ``select_all=N``: the ticked rows are set aside and it is the nothing-ticked path with N as the confirmed
  count — the server recounts, and a different count asks again on the confirmation page;
- actions that change results by hand (``needs_ticks``) refuse nothing-ticked with a message;
- nothing to do (empty filter) → back to the same filtered list with a message, never elsewhere;
- a role without the action's permission gets 403 and nothing changes.

Bulk actions are FAB ``@action``s (each its own permission) declared with ``bulk_action``; they
receive a ``Selection``. Plain FAB actions (e.g. 登记表 审核通过) get the same rule and receive the
list of rows, as FAB gives them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_babel import gettext

from app.services.common import posted_ids
from app.services.errors import NotFound

SELECT_ALL = "select_all"  # form field of "选择全部 N 条符合筛选条件的学生": the count the person saw
MAX_TICKED = 1000  # a list page shows at most PAGE_SIZE_MAX rows; more ticked ids is not a page's post
LIST_ARG = re.compile(r"^(_flt_\d_|_oc_|_od_|psize_|page_)")
_FILTER_ARG = re.compile(r"^_flt_(\d)_(.+)$")


@dataclass(frozen=True)
class BulkSpec:
    """How a bulk action reads in the confirmation and whether it needs ticked rows."""

    verb: str
    needs_ticks: bool = False


@dataclass(frozen=True)
class Selection:
    """What a bulk action acts on: the ticked ids, or (none ticked) the confirmed filter."""

    ids: list[int]
    filters: dict[str, Any] = field(default_factory=dict)
    count: int = 0

    @property
    def ticked(self) -> bool:
        return bool(self.ids)

    def as_filters(self) -> dict[str, Any]:
        """The filter a service or job takes: the ticked ids replace the filter (never narrow it)."""
        return {"student_ids": list(self.ids)} if self.ids else dict(self.filters)


def bulk_action(name: str, text: str, *, verb: str | None = None, needs_ticks: bool = False,
                icon: str = "fa-check"):
    """A FAB ``@action`` on multi-selected rows that receives a ``Selection`` (see module doc)."""

    def wrap(func):
        func = action(name, text, "", icon, multiple=True, single=False)(func)
        func._bulk = BulkSpec(verb=verb or text, needs_ticks=needs_ticks)
        return func

    return wrap


def read_filter_args(filters, args) -> None:
    """FAB's ``get_filter_args`` without its 500s: unknown columns and filter indexes are ignored."""
    filters.clear_filters()
    for arg in sorted(args):
        match = _FILTER_ARG.match(arg)
        if not match:
            continue
        index, column = int(match.group(1)), match.group(2)
        choices = filters._all_filters.get(column) if column in filters.get_search_filters() else None
        if not choices or index >= len(choices):
            continue
        filters.add_filter_index(column, index, args.getlist(arg))


def list_args(args) -> dict[str, str]:
    """The list page's own arguments (filters, sort, page size, page) to return to after an action."""
    return {k: v for k, v in args.items() if LIST_ARG.match(k)}


def filter_args(args) -> dict[str, str]:
    """Only the filter arguments: what an action's URL carries so it acts on what the page shows."""
    return {k: v for k, v in args.items() if k.startswith("_flt_")}


def ticked_ids(values) -> list[int]:
    """Ticked ids of a list's form, each through ``parse_id``; malformed → 404."""
    raw = [v for v in values if str(v).strip()]
    if len(raw) > MAX_TICKED:
        abort(400)
    try:
        return posted_ids(raw, NotFound("所选记录不存在或不在您的管理范围内"))
    except NotFound:
        abort(404)


def whole_filter_sentence(count: int, verb: str, noun: str = "名学生") -> str:
    return gettext("将对当前筛选的 %(count)s %(noun)s%(verb)s，确定吗？", count=count, noun=gettext(noun),
                   verb=gettext(verb))


class BulkActionsMixin:
    """``action_post`` with the one rule; mix into a ModelView before ``ModelView``."""

    bulk_noun = "名学生"
    bulk_items = "记录"  # "当前筛选条件下没有记录" when the filter is empty
    bulk_confirm_template = "bulk_confirm.html"

    # ------------------------------------------------------------------ reading the request

    def bulk_filters(self) -> dict[str, Any]:
        """The active filter as the service's filter dict (``service_key`` of each filter class)."""
        out: dict[str, Any] = {}
        for flt, value in self._filters.get_filters_values():
            key = getattr(flt, "service_key", None)
            if key is None:
                continue
            value = value[-1] if isinstance(value, list) and value else value
            if value not in (None, ""):
                out[key] = value
        return out

    def list_url(self, **extra) -> str:
        """The same list page (filter, sort, page) the action was started from."""
        args = {**list_args(self.list_request_args()), **extra}
        return url_for(f"{self.endpoint}.list") + ("?" + urlencode(args) if args else "")

    def action_url(self) -> str:
        """Where the list's action form posts: ``action_post`` with the page's filter."""
        args = filter_args(self.list_request_args())
        return url_for(f"{self.endpoint}.action_post") + ("?" + urlencode(args) if args else "")

    def permitted_actions(self) -> dict:
        """The actions the user holds the permission of (FAB's template filter misses mapped names)."""
        sm = self.appbuilder.sm
        return {name: act for name, act in self.actions.items()
                if sm.has_access(self.get_action_permission_name(name), self.class_permission_name)}

    def _ticked(self) -> list:
        """The ticked rows, in ONE query through the base filters (the scope); 404 if any is missing."""
        ids = ticked_ids(request.form.getlist("rowid"))
        if not ids:
            return []
        model = self.datamodel.obj
        pk = getattr(model, self.datamodel.get_pk_name())
        query = self._base_filters.apply_all(self.datamodel.session.query(model).filter(pk.in_(ids)))
        rows = query.all()
        if len(rows) != len(ids):
            abort(404)
        order = {n: i for i, n in enumerate(ids)}
        return sorted(rows, key=lambda r: order[getattr(r, self.datamodel.get_pk_name())])

    def _filtered_query(self):
        joined = self._filters.get_joined_filters(self._base_filters)
        return joined.apply_all(self.datamodel.session.query(self.datamodel.obj))

    def filter_count(self) -> int:
        """Rows of the current filter in the scope (the number the confirmation states)."""
        return self._filtered_query().order_by(None).count()

    def confirm_message(self, spec: BulkSpec, count: int) -> str:
        return whole_filter_sentence(count, spec.verb, self.bulk_noun)

    def confirm_messages(self, count: int) -> dict[str, str]:
        """Per permitted action, the confirmation a list page shows (app.js) when nothing is ticked.

        ``count`` is the list's own count of the current filter and scope, computed on the server.
        """
        out = {}
        for name, act in self.permitted_actions().items():
            spec = getattr(act.func, "_bulk", None) or BulkSpec(verb=str(act.text))
            if not spec.needs_ticks:
                out[name] = self.confirm_message(spec, count)
        return out

    # ------------------------------------------------------------------ the rule

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        name = request.form.get("action")
        if name not in self.actions:
            abort(404)
        if not self.appbuilder.sm.has_access(self.get_action_permission_name(name), self.class_permission_name):
            abort(403)
        read_filter_args(self._filters, self.list_request_args())
        act = self.actions[name]
        spec: BulkSpec = getattr(act.func, "_bulk", None) or BulkSpec(verb=str(act.text))
        whole = request.form.get(SELECT_ALL, "").strip()  # every page of the filter: ticks set aside
        rows = [] if whole else self._ticked()
        if rows:
            return self._run(act, spec, rows, len(rows))
        if spec.needs_ticks:
            flash(gettext("请先勾选要%(verb)s的学生（%(verb)s不能对整个筛选结果执行）", verb=gettext(spec.verb)),
                  "warning")
            return redirect(self.list_url())
        count = self.filter_count()
        if count == 0:
            flash(gettext("当前筛选条件下没有%(items)s，未%(verb)s", items=gettext(self.bulk_items),
                          verb=gettext(spec.verb)), "info")
            return redirect(self.list_url())
        if str(count) not in (request.form.get("confirmed"), whole):
            return self._confirm_page(act, spec, count)
        return self._run(act, spec, None, count)

    def _run(self, act, spec: BulkSpec, rows: list | None, count: int):
        if getattr(act.func, "_bulk", None) is None:
            # a plain FAB action gets its rows, as from FAB (the filter's rows when none was ticked)
            return act.func(rows if rows is not None else self._filtered_query().all())
        pk = self.datamodel.get_pk_name()
        ids = [getattr(r, pk) for r in rows] if rows else []
        return act.func(Selection(ids=ids, filters=self.bulk_filters(), count=count))

    def _confirm_page(self, act, spec: BulkSpec, count: int):
        """The confirmation step: the server's count for this filter and scope, then the same post again."""
        fields = [(k, v) for k, vs in request.form.lists() for v in vs if k not in ("csrf_token", "confirmed")]
        return self.render_template(
            self.bulk_confirm_template,
            title=str(act.text),
            message=self.confirm_message(spec, count),
            count=count,
            fields=fields,
            post_url=request.full_path.rstrip("?"),
            cancel_url=self.list_url(),
        )

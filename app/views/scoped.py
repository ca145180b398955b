"""The scope as FAB sees it: a base filter for ModelViews and scoped loading for actions.

FAB's ``base_filters`` cover list/show/edit/delete but not actions (they load rows by bare id), so
``ScopedModelView`` overrides the action loader too. Use it for every view over student data.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from flask import abort, current_app, has_app_context, request
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_appbuilder.widgets import ListWidget
from sqlalchemy import false, select

from app.ids import parse_id
from app.security import current_scope, student_scope_clause
from app.services import list_order
from app.views.bulk import BulkActionsMixin, read_filter_args

PAGE_SIZE_MAX = 100
PAGE_SIZES = (20, 50, 100, 200)  # the workflow lists' page-size choice (issue 16); they clamp at its largest


class StudentScopeFilter(BaseFilter):
    """Restrict a query over Student, or over a model with a ``student`` relationship, to the scope."""

    name = "scope"
    arg_name = "scope"

    def apply(self, query, value):
        from app.models.student import Student

        scope = current_scope()
        model = self.model
        if model is Student:
            return query.filter(student_scope_clause(scope))
        if scope.is_all:
            return query
        if hasattr(model, "student_id"):
            sub = Student.__table__.select().with_only_columns(Student.id).where(student_scope_clause(scope))
            return query.filter(model.student_id.in_(sub))
        return query.filter(false())


class ScopedSiteFilter(BaseFilter):
    """Dropdown filter over Organisation: the teaching sites that hold students in the scope.

    Search dropdowns list whole tables otherwise, leaking other organisations' names (FAB-NOTES).
    """

    name = "scoped sites"
    arg_name = "scoped_sites"

    def apply(self, query, value):
        from app.models.org import Organisation
        from app.models.student import Student
        from app.statuses import OrgKind

        scope = current_scope()
        query = query.filter(Organisation.kind == OrgKind.SITE.value)
        if scope.is_all:
            return query
        if scope.kind == "site":
            return query.filter(Organisation.id == scope.org_id)
        return query.filter(Organisation.id.in_(select(Student.site_id).where(student_scope_clause(scope))))


class ScopedMajorFilter(BaseFilter):
    """Dropdown filter over Major: a college's own majors, or the majors of the scope's students."""

    name = "scoped majors"
    arg_name = "scoped_majors"

    def apply(self, query, value):
        from app.models.org import Major
        from app.models.student import Student

        scope = current_scope()
        if scope.is_all:
            return query
        if scope.kind == "college":
            return query.filter(Major.college_id == scope.org_id)
        return query.filter(Major.id.in_(select(Student.major_id).where(student_scope_clause(scope))))


def clamp_page_size(page_size: int | None, limit: int | None = None) -> int | None:
    """Keep ``?psize_<View>=`` between 1 and PAGE_SIZE_MAX (or a list's own ``limit``); 0 or negative (SQL 'no
    limit') means default."""
    if page_size is None or page_size < 1:
        return None
    if limit is None:
        limit = current_app.config.get("PAGE_SIZE_MAX", PAGE_SIZE_MAX) if has_app_context() else PAGE_SIZE_MAX
    return min(page_size, limit)


class PostDeleteMixin:
    """Deletion by POST only (with its CSRF token); FAB also routes GET, which it merely refuses."""

    @expose("/delete/<pk>", methods=["POST"])
    @has_access
    def delete(self, pk):
        return ModelView.delete.__wrapped__(self, pk)


class WorkflowListWidget(ListWidget):
    """A workflow list's widget: its template offers the page-size choice PAGE_SIZES (lists/_page_size.html)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("page_sizes", PAGE_SIZES)
        super().__init__(**kwargs)


class SortedPage(NamedTuple):
    """One page of a sorted workflow list: page number, page size, total count, the page's rows."""

    page: int
    page_size: int
    count: int
    rows: list


class SafeListMixin:
    """FAB's list with safe arguments and a clamped page size (FAB 500s on unknown filters/sorts)."""

    page_size_limit: int | None = None  # a workflow list offering PAGE_SIZES allows its largest
    orders: Any = None  # a sorted workflow list's ``list_order`` mapping (order column → what it sorts by)

    def list_query(self):
        """The query a sorted list pages over (a list may join what its rows show)."""
        return self.datamodel.session.query(self.datamodel.obj)

    def sorted_list(self, filters, order_column: str, order_direction: str, page, page_size) -> SortedPage:
        """What every sorted workflow list's widget starts from: the page size clamped to the list's limit, the
        list's default order when none is asked, the count and the page (``sorted_page``)."""
        page_size = clamp_page_size(page_size, self.page_size_limit) or self.page_size
        if not order_column:
            order_column, order_direction = self.base_order
        page = page or 0
        count, rows = sorted_page(self.list_query(), filters.get_joined_filters(self._base_filters), self.orders,
                                  self.datamodel.obj, order_column, order_direction, page, page_size)
        return SortedPage(page, page_size, count, rows)

    def list_request_args(self):
        """The arguments the list's filters are read from (a list may add defaults or former names)."""
        return request.args

    def _list(self, **kwargs):
        """FAB's list logic with safe arguments: unknown filters and sort columns are ignored."""
        order_column, order_direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if order_column not in self.order_columns or order_direction not in ("asc", "desc"):
            order_column, order_direction = "", ""
        read_filter_args(self._filters, self.list_request_args())
        widgets = self._get_list_widget(
            filters=self._filters,
            order_column=order_column,
            order_direction=order_direction,
            page=get_page_args().get(self.__class__.__name__),
            page_size=get_page_size_args().get(self.__class__.__name__),
            **kwargs,
        )
        form = self.search_form.refresh()
        self.update_redirect()
        return self._get_search_widget(form=form, widgets=widgets)


class ClampedModelView(SafeListMixin, PostDeleteMixin, ModelView):
    """A ModelView for data without student scope: POST-only delete, page size clamped."""

    page_size = 20

    def _get_list_widget(self, *args, **kwargs):
        kwargs["page_size"] = clamp_page_size(kwargs.get("page_size"))
        return super()._get_list_widget(*args, **kwargs)


class ScopedModelView(BulkActionsMixin, SafeListMixin, PostDeleteMixin, ModelView):
    """A ModelView whose every row access, actions included, goes through the student scope.

    Actions follow the one bulk-action rule of ``app.views.bulk`` (ticked rows in one scoped query,
    nothing ticked = the confirmed filter); list arguments FAB would 500 on are ignored.
    """

    base_filters = [["id", StudentScopeFilter, lambda: None]]
    page_size = 20

    def _get_list_widget(self, *args, **kwargs):
        # clamp ?psize_<View>= so nobody renders 3,000 rows (or all of them with psize=-1)
        kwargs["page_size"] = clamp_page_size(kwargs.get("page_size"), self.page_size_limit)
        return super()._get_list_widget(*args, **kwargs)

    def get_scoped(self, pk):
        """Load one row by primary key through the base filters, or None (also for a malformed id)."""
        number = parse_id(pk)
        if number is None:
            return None
        return self.datamodel.get(number, self._base_filters)

    # Re-exposed: a method overridden without @expose loses its route in FAB.
    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        """Single-row action from the show page: the row must be in scope (404 otherwise)."""
        if name not in self.actions:
            abort(404)
        if request.method == "POST" and self.get_scoped(pk) is None:
            abort(404)
        return super().action(name, pk)


def sorted_page(query, joined, orders, model, order_column: str, order_direction: str, page: int, page_size: int):
    """A list's count and page: ``query`` narrowed by the view's joined filters, counted, then sorted by what
    ``order_column`` shows (``app.services.list_order``; ties by id) and cut to the page."""
    query = joined.apply_all(query)
    count = query.order_by(None).count()
    if list_order.order_of(orders, model, order_column).per_row:
        list_order.without_jit(query.session)
    joins, clauses = list_order.ordering(orders, model, order_column, order_direction)
    for table, on in joins:  # at most one row each (a primary key or a unique column): no row repeats
        query = query.outerjoin(table, on)
    return count, query.order_by(*clauses).offset(page * page_size).limit(page_size).all()


class StudentNoFilter(BaseFilter):
    """Search a table that has ``student_id`` by the student's 学号 (exact)."""

    name = "学号等于"
    arg_name = "student_no_eq"

    def apply(self, query, value):
        from app.models.student import Student

        value = (value or "").strip() if isinstance(value, str) else value
        if not value:
            return query
        return query.filter(self.model.student_id.in_(select(Student.id).where(Student.student_no == str(value))))


def install_filters(view: ModelView, column: str, filter_classes: list[type[BaseFilter]]) -> None:
    """Replace the search filters FAB derived for ``column`` (FAB views take no custom search filters)."""
    filters = [cls(column, view.datamodel) for cls in filter_classes]
    view._filters._search_filters[column] = filters
    view._filters._all_filters[column] = filters


def remove_filters(view: ModelView, column: str) -> None:
    """Drop the search filters FAB derived for ``column`` (a list whose only filters are its bar's)."""
    view._filters._search_filters.pop(column, None)
    view._filters._all_filters.pop(column, None)


def _view_by_endpoint(name: str):
    from flask import current_app

    for view in current_app.appbuilder.baseviews:
        if getattr(view, "endpoint", None) == name:
            return view
    return None


def refuse_unsafe_routes():
    """before_request: close the generic routes FAB adds to every ModelView that we never use.

    Found by the route matrix (tests/reliability): FAB's ``action_post`` answers 500 to an unknown action
    (even anonymous), its ``download/<filename>`` serves UPLOAD_FOLDER unscoped (and 500s when unset),
    ``UserStatsChartView`` 500s, a non-numeric ``?page_<View>=`` 500s, and the security views'
    ``delete/<pk>`` is routed for GET (FAB refuses it with a flash; we answer 405 like our own views).
    """
    from flask_appbuilder.baseviews import BaseCRUDView

    endpoint = request.endpoint or ""
    view_name, _, method = endpoint.rpartition(".")
    if not view_name:
        return None
    for key, value in request.args.items():
        # FAB's list pages int() these without a check: ?page_StudentView=x was a 500, and a negative
        # page becomes a negative OFFSET, which PostgreSQL refuses (another 500)
        if key.startswith(("page_", "psize_")) and parse_id(value) is None:
            abort(400)  # also "²" (isdigit, not int) and numbers no OFFSET can take
    pk = (request.view_args or {}).get("pk")
    if pk is not None and parse_id(pk) is None and not request.path.startswith("/api/"):
        # FAB routes <pk> as a string: "x", "-1" or a number past INTEGER names no row (the API says so itself)
        abort(404)
    if method == "delete" and request.method == "GET":
        abort(405)
    if view_name == "UserStatsChartView":
        abort(404)
    if method in ("download", "action", "action_post"):
        view = _view_by_endpoint(view_name)
        if not isinstance(view, BaseCRUDView):
            return None
        if method == "download":
            if "filename" in (request.view_args or {}):
                abort(404)  # FAB's own download/<filename>; a view's own download route (任务中心) stays
            return None
        name = (request.view_args or {}).get("name") if method == "action" else request.form.get("action")
        if name not in view.actions:
            abort(404)
    return None

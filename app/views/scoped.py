"""The scope as FAB sees it: a base filter for ModelViews and scoped loading for actions.

FAB's ``base_filters`` cover list/show/edit/delete but not actions (they load rows by bare id), so
``ScopedModelView`` overrides the action loader too. Use it for every view over student data.
"""
from __future__ import annotations

from flask import abort, g, redirect, request
from flask_appbuilder import ModelView
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import false

from app.security import current_scope, student_scope_clause


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


class ScopedModelView(ModelView):
    """A ModelView whose every row access, actions included, goes through the student scope."""

    base_filters = [["id", StudentScopeFilter, lambda: None]]
    page_size = 20

    def _get_list_widget(self, *args, **kwargs):
        # clamp ?psize_<View>= so nobody renders 3,000 rows
        if kwargs.get("page_size") and kwargs["page_size"] > 100:
            kwargs["page_size"] = 100
        return super()._get_list_widget(*args, **kwargs)

    def get_scoped(self, pk):
        """Load one row by primary key through the base filters, or None."""
        return self.datamodel.get(pk, self._base_filters)

    def action(self, name, pk):  # single-row action from the show page
        if self.get_scoped(pk) is None:
            abort(404)
        return super().action(name, pk)

    def action_post(self):
        """Refuse the whole request if any posted id is outside the scope (nothing is changed)."""
        pks = request.form.getlist("rowid")
        for pk in pks:
            if self.get_scoped(pk) is None:
                abort(404)
        return super().action_post()

"""首页: the dashboard for admins; students go straight to 学生空间."""
from __future__ import annotations

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

from app.security import RoleName, current_scope, role_of


class HomeView(IndexView):
    route_base = ""
    default_view = "index"
    index_template = "home.html"

    @expose("/")
    def index(self):
        user = g.get("user")
        if user is None or not user.is_authenticated:
            return redirect(url_for("LoginView.login"))
        if role_of(user) == RoleName.STUDENT.value:
            return redirect(url_for("StudentSpaceView.index"))
        dashboard = None
        try:
            from app.services.dashboard import dashboard_for
        except ImportError:
            dashboard_for = None
        if dashboard_for is not None:
            dashboard = dashboard_for(current_scope())
        return self.render_template(self.index_template, dashboard=dashboard)


def register(appbuilder) -> None:
    """HomeView is FAB's index view (FAB_INDEX_VIEW); nothing to add to the menu."""

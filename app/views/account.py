"""修改密码 (forced at first login) and, for the CE admin, 账号管理."""
from __future__ import annotations

from flask import flash, g, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.extensions import db
from app.services.accounts import change_password
from app.services.errors import DomainError


class PasswordView(BaseView):
    route_base = "/account"
    default_view = "change"

    @expose("/password", methods=["GET", "POST"])
    @has_access
    def change(self):
        error = None
        if request.method == "POST":
            try:
                change_password(
                    g.user,
                    old=request.form.get("old_password", ""),
                    new=request.form.get("new_password", ""),
                    confirm=request.form.get("confirm_password", ""),
                    keep_session=session.get("sid"),
                )
                db.session.commit()
                flash("密码已修改", "success")
                return redirect(url_for("HomeView.index"))
            except DomainError as exc:
                db.session.rollback()
                error = exc.message
        return self.render_template("account/password.html", error=error, forced=g.user.must_change_password)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(PasswordView())

"""修改密码 (forced at first login, and from the user menu) and one's own 联系方式 from 用户信息."""
from __future__ import annotations

from flask import flash, g, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from app.extensions import db
from app.i18n import joined, word
from app.services.accounts import change_password, update_contact
from app.services.errors import DomainError, NotAllowed


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
                flash(gettext("密码已修改"), "success")
                return redirect(url_for("HomeView.index"))
            except DomainError as exc:
                db.session.rollback()
                error = exc.message
        return self.render_template("account/password.html", error=error, forced=g.user.must_change_password)

    @expose("/contact", methods=["POST"])
    @has_access
    def contact(self):
        """One's own 电子邮箱 and 手机号, from 用户信息 (staff only; logged)."""
        try:
            changed = update_contact(g.user, email=request.form.get("email", ""),
                                     mobile=request.form.get("mobile", ""), actor=g.user)
        except NotAllowed as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for("HomeView.index"))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(gettext("已保存：%(fields)s", fields=joined((word(c) for c in changed), "、")) if changed
                  else gettext("联系方式没有变化"), "success" if changed else "info")
        return redirect(url_for("UserDBModelView.userinfo"))


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(PasswordView())

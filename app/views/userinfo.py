"""用户信息 (/users/userinfo/, FAB's page kept at its address): roles and organisation in Chinese, the
placeholder e-mail hidden, and the form for one's own 电子邮箱 and 手机号 (saved by ``PasswordView.contact``,
logged). FAB's own 编辑用户信息 form is not offered: it would change an account without the operation log.

The class keeps FAB's name, so the roles' permissions on ``UserDBModelView`` apply unchanged.
"""
from __future__ import annotations

from flask import g
from flask_appbuilder import expose, has_access
from flask_appbuilder.security.views import UserDBModelView as FabUserDBModelView

from app.services.accounts import profile


class UserDBModelView(FabUserDBModelView):
    @expose("/userinfo/")
    @has_access
    def userinfo(self):
        self.update_redirect()
        return self.render_template("account/userinfo.html", info=profile(g.user),
                                    is_staff=g.user.student_id is None)

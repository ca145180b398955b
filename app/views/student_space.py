"""学生空间: a student's own graduation status, photo, 毕业生登记表 and degree application.

The view only ever loads ``g.user.student``; there is no student id in any URL here.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access

from app.extensions import db
from app.services.errors import DomainError


class StudentSpaceView(BaseView):
    route_base = "/space"
    default_view = "index"

    def _me(self):
        student = getattr(g.user, "student", None)
        if student is None:
            abort(403)
        return student

    @expose("/")
    @has_access
    def index(self):
        student = self._me()
        sections = {}
        try:
            from app.services import graduation

            sections["graduation"] = graduation.student_view(student)
        except (ImportError, AttributeError):
            sections["graduation"] = None
        try:
            from app.services import degree

            sections["degree"] = degree.student_view(student)
        except (ImportError, AttributeError):
            sections["degree"] = None
        return self.render_template("student_space/index.html", student=student, **sections)

    @expose("/photo", methods=["POST"])
    @has_access
    def upload_photo(self):
        from app.services.photos import upload_photo

        student = self._me()
        file = request.files.get("photo")
        try:
            upload_photo(student, file.read() if file else b"", actor=g.user)
            db.session.commit()
            flash("毕业照片已上传", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for(".index"))

    @expose("/photo/view")
    @has_access
    def photo(self):
        from app.services.photos import send_photo

        return send_photo(self._me())

    @expose("/form", methods=["POST"])
    @has_access
    def submit_form(self):
        from app.services import graduation

        student = self._me()
        try:
            graduation.save_form(student, request.form.get("self_assessment", ""),
                                 submit=request.form.get("submit") == "1", actor=g.user)
            db.session.commit()
            flash("毕业生登记表已保存" if request.form.get("submit") != "1" else "毕业生登记表已提交", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for(".index"))

    @expose("/degree/apply", methods=["POST"])
    @has_access
    def apply_degree(self):
        from app.services import degree

        student = self._me()
        try:
            degree.apply(student, actor=g.user)
            db.session.commit()
            flash("学位申请已提交", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for(".index"))


def register(appbuilder) -> None:
    appbuilder.add_view(StudentSpaceView(), "学生空间", icon="fa-user", label="学生空间")

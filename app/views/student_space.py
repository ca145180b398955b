"""学生空间: a student's own graduation status, photo, 毕业生登记表 and degree application.

The view only ever loads ``g.user.student``; there is no student id in any URL here.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from app.extensions import db
from app.services import degree, graduation, photos
from app.services.errors import DomainError, NotFound
from app.views.files import send_private
from app.views.worksheet import worksheet_page


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
        mine = graduation.student_view(student)
        return self.render_template("student_space/index.html", student=student,
                                    graduation=mine, degree=degree.student_view(student))

    @expose("/progress")
    @has_access
    def progress(self):
        """毕业进度: the live worksheet of the student's own plan; what-if rows come as ?course=…&score=…
        (a read: nothing is written, so a plain GET)."""
        return worksheet_page(self, self._me(), "student_space/progress.html", form_action=url_for(".progress"))

    @expose("/photo", methods=["POST"])
    @has_access
    def upload_photo(self):
        student = self._me()
        file = request.files.get("photo")
        try:
            photos.upload_photo(student, file.read() if file else b"", actor=g.user)
            db.session.commit()
            flash(gettext("毕业照片已上传"), "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for(".index"))

    @expose("/photo/view")
    @has_access
    def photo(self):
        try:
            return send_private(*photos.photo_file(self._me()))
        except NotFound:
            abort(404)

    @expose("/form", methods=["POST"])
    @has_access
    def submit_form(self):
        student = self._me()
        try:
            graduation.save_form(student, request.form.get("self_assessment", ""),
                                 submit=request.form.get("submit") == "1", actor=g.user)
            db.session.commit()
            flash(gettext("毕业生登记表已保存") if request.form.get("submit") != "1" else gettext("毕业生登记表已提交"),
                  "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for(".index"))

    @expose("/degree/apply", methods=["POST"])
    @has_access
    def apply_degree(self):
        student = self._me()
        try:
            degree.apply(student, actor=g.user)
            db.session.commit()
            flash(gettext("学位申请已提交"), "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        return redirect(url_for(".index"))


def register(appbuilder) -> None:
    appbuilder.add_view(StudentSpaceView(), "学生空间", icon="fa-user", label="学生空间")
    appbuilder.add_link("毕业进度", href="StudentSpaceView.progress", icon="fa-tasks", label="毕业进度")

"""学籍管理: 学生学籍, 教学计划, 成绩, 学位外语成绩, 毕业生登记表.

Everything over student data is a ``ScopedModelView``: list, show, edit, delete, actions, the photo and
its upload all load rows through the scope. Only the CE admin adds, edits or deletes (FAB_ROLES);
site and college admins read. Search and form dropdowns are limited so that no other organisation's
names are listed.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect, select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired

from app.audit.scores import parse_score
from app.clock import format_local
from app.extensions import db
from app.models.account import Account
from app.models.degree import DegreeApplication
from app.models.grade import Grade, LanguageScore
from app.models.graduation import GraduateForm, GraduationAudit
from app.models.plan import PlanCourse, TeachingPlan
from app.models.student import Student
from app.security import current_scope, student_scope_clause
from app.services import oplog, photos, records
from app.services.errors import DomainError, NotFound
from app.statuses import (
    CourseNature,
    EnrolmentStatus,
    ExamKind,
    FormState,
    Level,
    StudyMode,
    SubstituteExam,
    choices,
    label,
)
from app.views.files import send_private
from app.views.options import options
from app.views.scoped import (
    ClampedModelView,
    ScopedMajorFilter,
    ScopedModelView,
    ScopedSiteFilter,
    StudentNoFilter,
    install_filters,
)

CATEGORY = "学籍管理"
CRUD_ROUTES = {"list", "show", "add", "edit", "delete"}


def _select(text: str, pairs: list[tuple[str, str]], blank: bool = False, required: bool = True) -> SelectField:
    """A select box of (code, Chinese label) pairs; ``blank`` adds an empty choice for search forms."""
    return SelectField(
        text,
        choices=options(pairs, blank="" if blank else None),
        validators=[DataRequired()] if required and not blank else [],
        widget=Select2Widget(),
    )


def _short(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:80] + "…"


def _changes(item) -> tuple[str, str]:
    """Old and new values of the columns changed on ``item``, as short text for the log."""
    state = inspect(item)
    old, new = [], []
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if hist.has_changes():
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if before != after:
                old.append(f"{attr.key}={_short(before)}")
                new.append(f"{attr.key}={_short(after)}")
    return "; ".join(old), "; ".join(new)


def _columns(item) -> str:
    """Every column of ``item`` as short text: what was added or deleted."""
    return "; ".join(f"{a.key}={_short(getattr(item, a.key))}" for a in inspect(item).mapper.column_attrs)


class LoggedEditsMixin:
    """CE corrections of records go to the operation log (add, edit, delete)."""

    def _log(self, item, old, new, reason):
        oplog.record(actor=g.user, action="record_update", record=item, old=old or None, new=new or None,
                     reason=reason)

    def post_add(self, item):
        self._log(item, None, _columns(item), "新增")
        db.session.commit()

    def pre_update(self, item):
        try:
            self.check(item)
        except Exception:
            db.session.rollback()  # the form already changed the row: drop it
            raise
        old, new = _changes(item)
        if new:
            self._log(item, old, new, "修改")

    def pre_add(self, item):
        self.check(item)

    def pre_delete(self, item):
        self._log(item, _columns(item), None, "删除")

    def check(self, item) -> None:
        """Raise DomainError (shown, nothing saved) when the row is not acceptable."""


class StudentView(LoggedEditsMixin, ScopedModelView):
    """学生学籍: the record, its grades and plan progress, the graduation photo."""

    datamodel = SQLAInterface(Student)
    route_base = "/students"
    include_route_methods = CRUD_ROUTES | {"photo", "upload_photo"}
    show_template = "records/student_show.html"
    list_template = "exports/students_list.html"
    list_title = show_title = "学生学籍"
    add_title = "新增学生"
    edit_title = "修改学籍"
    base_order = ("student_no", "asc")

    label_columns = {
        "student_no": _l("学号"),
        "name": _l("姓名"),
        "gender": _l("性别"),
        "id_card": _l("身份证号"),
        "birth_date": _l("出生日期"),
        "ethnicity": _l("民族"),
        "political_status": _l("政治面貌"),
        "mobile": _l("手机号"),
        "enrol_grade": _l("学籍年级"),
        "study_grade": _l("学习年级"),
        "level": _l("层次"),
        "level_label": _l("层次"),
        "major": _l("专业"),
        "college": _l("二级学院"),
        "study_mode": _l("学习形式"),
        "study_mode_label": _l("学习形式"),
        "duration_years": _l("学制（年）"),
        "site": _l("教学点"),
        "status": _l("学籍状态"),
        "status_label": _l("学籍状态"),
        "enrolled_on": _l("入学日期"),
        "passed_courses": _l("已通过课程数"),
        "earned_credits": _l("已获总学分"),
        "synced_at": _l("同步时间"),
        "has_photo": _l("毕业照片"),
        "photo_path": _l("毕业照片"),
    }
    list_columns = ["student_no", "name", "enrol_grade", "study_grade", "level_label", "site", "major",
                    "status_label", "passed_courses", "earned_credits", "has_photo"]
    show_columns = ["student_no", "name", "gender", "id_card", "birth_date", "ethnicity", "political_status",
                    "mobile", "enrol_grade", "study_grade", "level_label", "major", "college", "study_mode_label",
                    "duration_years", "site", "status_label", "enrolled_on", "passed_courses", "earned_credits",
                    "synced_at", "has_photo"]
    add_columns = edit_columns = ["student_no", "name", "gender", "id_card", "birth_date", "ethnicity",
                                  "political_status", "mobile", "enrol_grade", "study_grade", "level", "major",
                                  "study_mode", "duration_years", "site", "status", "enrolled_on"]
    search_columns = ["enrol_grade", "study_grade", "level", "site", "major", "status", "name", "student_no"]
    search_form_extra_fields = {
        "level": _select("层次", choices(Level), blank=True),
        "status": _select("学籍状态", choices(EnrolmentStatus), blank=True),
    }
    search_form_query_rel_fields = {
        "site": [["id", ScopedSiteFilter, None]],
        "major": [["id", ScopedMajorFilter, None]],
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "site": [["id", ScopedSiteFilter, None]],
        "major": [["id", ScopedMajorFilter, None]],
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "gender": _select("性别", [("男", "男"), ("女", "女")]),
        "level": _select("层次", choices(Level)),
        "study_mode": _select("学习形式", choices(StudyMode)),
        "status": _select("学籍状态", choices(EnrolmentStatus)),
    }
    formatters_columns = {
        "synced_at": format_local,
        "has_photo": lambda v: "已上传" if v else "未上传",
    }

    def check(self, item: Student) -> None:
        records.check_student_orgs(item)

    def pre_delete(self, item: Student) -> None:
        """A student with an account, audit or degree records is set to 退学, not deleted."""
        blockers = [
            db.session.scalar(select(Account.id).where(Account.student_id == item.id)),
            db.session.scalar(select(GraduationAudit.id).where(GraduationAudit.student_id == item.id)),
            db.session.scalar(select(DegreeApplication.id).where(DegreeApplication.student_id == item.id)),
        ]
        if any(b is not None for b in blockers):
            raise DomainError("该学生已有账号或审核记录，不能删除；如需注销请将学籍状态改为退学")
        for form in db.session.scalars(select(GraduateForm).where(GraduateForm.student_id == item.id)):
            db.session.delete(form)
        super().pre_delete(item)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The record with grades by 学期, plan progress and the photo."""
        pk = self._deserialize_pk_if_composite(pk)
        widgets = self._show(pk)  # 404 outside the scope
        student = self.get_scoped(pk)
        sm = self.appbuilder.sm
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=widgets,
            related_views=self._related_views,
            student=student,
            detail=records.student_detail(student),
            can_photo=sm.has_access("can_photo", self.class_permission_name),
            can_upload=sm.has_access("can_upload_photo", self.class_permission_name),
        )

    @expose("/photo/<int:pk>", methods=["GET"])
    @has_access
    def photo(self, pk):
        """The graduation photo, only for a student in scope."""
        student = self.get_scoped(pk)
        if student is None:
            abort(404)
        try:
            return send_private(*photos.photo_file(student))
        except NotFound:
            abort(404)

    @expose("/upload_photo/<int:pk>", methods=["POST"])
    @has_access
    def upload_photo(self, pk):
        """Upload (replace) the graduation photo of a student in scope."""
        student = self.get_scoped(pk)
        if student is None:
            abort(404)
        file = request.files.get("photo")
        photos.upload_photo(student, file.read() if file else b"", actor=g.user)  # DomainError: flashed, rolled back
        db.session.commit()
        flash(gettext("毕业照片已上传"), "success")
        return redirect(url_for(".show", pk=pk))


class PlanCourseView(LoggedEditsMixin, ClampedModelView):
    """教学计划课程. Plans are not student data: everyone with the permission reads all of them."""

    datamodel = SQLAInterface(PlanCourse)
    route_base = "/plan_courses"
    include_route_methods = CRUD_ROUTES
    list_title = show_title = "教学计划课程"
    page_size = 50
    label_columns = {
        "plan": _l("教学计划"),
        "course_code": _l("课程代码"),
        "course_name": _l("课程名称"),
        "credits": _l("学分"),
        "nature": _l("课程性质"),
        "nature_label": _l("课程性质"),
        "is_degree_course": _l("学位课程"),
        "suggested_term": _l("建议学期"),
    }
    list_columns = ["plan", "course_code", "course_name", "credits", "nature_label", "is_degree_course",
                    "suggested_term"]
    show_columns = list_columns
    add_columns = edit_columns = ["plan", "course_code", "course_name", "credits", "nature", "is_degree_course",
                                  "suggested_term"]
    search_columns = ["course_code", "course_name", "nature", "is_degree_course"]
    search_form_extra_fields = {"nature": _select("课程性质", choices(CourseNature), blank=True)}
    add_form_extra_fields = edit_form_extra_fields = {"nature": _select("课程性质", choices(CourseNature))}
    formatters_columns = {"is_degree_course": lambda v: "是" if v else "否"}

    def check(self, item: PlanCourse) -> None:
        if item.credits is None or item.credits <= 0:
            raise DomainError("学分必须大于 0")


class TeachingPlanView(LoggedEditsMixin, ClampedModelView):
    """教学计划 per (专业, 层次, 年级), with its courses as a related list."""

    datamodel = SQLAInterface(TeachingPlan)
    route_base = "/plans"
    include_route_methods = CRUD_ROUTES
    related_views = [PlanCourseView]
    list_title = show_title = "教学计划"
    base_order = ("grade", "desc")
    label_columns = {
        "major": _l("专业"),
        "level": _l("层次"),
        "level_label": _l("层次"),
        "grade": _l("年级"),
        "min_total_credits": _l("毕业最低总学分"),
        "min_elective_credits": _l("选修最低学分"),
    }
    list_columns = ["grade", "major", "level_label", "min_total_credits", "min_elective_credits"]
    show_columns = list_columns
    add_columns = edit_columns = ["major", "level", "grade", "min_total_credits", "min_elective_credits"]
    search_columns = ["grade", "major", "level"]
    search_form_extra_fields = {"level": _select("层次", choices(Level), blank=True)}
    add_form_extra_fields = edit_form_extra_fields = {"level": _select("层次", choices(Level))}

    def check(self, item: TeachingPlan) -> None:
        if (item.min_total_credits or 0) < 0 or (item.min_elective_credits or 0) < 0:
            raise DomainError("学分不能为负数")


def _student_by_no(student_no: str) -> Student:
    """The in-scope student with this 学号, for add forms (a dropdown of all students would be huge)."""
    student = db.session.scalar(
        select(Student).where(Student.student_no == (student_no or "").strip(),
                              student_scope_clause(current_scope()))
    )
    if student is None:
        raise DomainError(f"学号 {student_no} 不存在")
    return student


_STUDENT_NO_FIELD = StringField("学号", validators=[InputRequired()], widget=BS3TextFieldWidget())


class GradeView(LoggedEditsMixin, ScopedModelView):
    """成绩: every attempt; a course is passed when any attempt is passed."""

    datamodel = SQLAInterface(Grade)
    route_base = "/grades"
    include_route_methods = CRUD_ROUTES
    list_title = show_title = "成绩"
    base_order = ("id", "desc")
    label_columns = {
        "student": _l("学生"),
        "student_id": _l("学号"),
        "student_no": _l("学号"),
        "course_code": _l("课程代码"),
        "course_name": _l("课程名称"),
        "term": _l("学期"),
        "score": _l("成绩（折算）"),
        "raw_score": _l("成绩"),
        "exam_kind": _l("考试性质"),
        "exam_kind_label": _l("考试性质"),
    }
    list_columns = ["student", "course_code", "course_name", "term", "raw_score", "score", "exam_kind_label"]
    show_columns = list_columns
    add_columns = ["student_no", "course_code", "course_name", "term", "raw_score", "exam_kind"]
    edit_columns = ["course_code", "course_name", "term", "raw_score", "exam_kind"]
    search_columns = ["student_id", "course_code", "course_name", "term", "exam_kind"]
    search_form_extra_fields = {
        "student_id": StringField("学号", widget=BS3TextFieldWidget()),
        "exam_kind": _select("考试性质", choices(ExamKind), blank=True),
    }
    add_form_extra_fields = {"student_no": _STUDENT_NO_FIELD,
                             "exam_kind": _select("考试性质", choices(ExamKind))}
    edit_form_extra_fields = {"exam_kind": _select("考试性质", choices(ExamKind))}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        install_filters(self, "student_id", [StudentNoFilter])

    def check(self, item: Grade) -> None:
        if item.student_id is None:
            item.student = _student_by_no(getattr(item, "student_no", ""))
            item.student_id = item.student.id
        try:
            item.score = parse_score(item.raw_score)
        except ValueError as exc:
            raise DomainError(str(exc)) from None
        if item.score is None:
            raise DomainError("请填写成绩")


class LanguageScoreView(LoggedEditsMixin, ScopedModelView):
    """学位外语成绩, or an accepted substitute recorded as a pass."""

    datamodel = SQLAInterface(LanguageScore)
    route_base = "/language_scores"
    include_route_methods = CRUD_ROUTES
    list_title = show_title = "学位外语成绩"
    base_order = ("exam_date", "desc")
    label_columns = {
        "student": _l("学生"),
        "student_id": _l("学号"),
        "student_no": _l("学号"),
        "exam_date": _l("考试日期"),
        "score": _l("成绩"),
        "substitute": _l("替代考试"),
        "substitute_score": _l("替代考试成绩"),
        "passed": _l("是否合格"),
    }
    list_columns = ["student", "exam_date", "score", "substitute", "substitute_score", "passed"]
    show_columns = list_columns
    add_columns = ["student_no", "exam_date", "score", "substitute", "substitute_score"]
    edit_columns = ["exam_date", "score", "substitute", "substitute_score"]
    search_columns = ["student_id", "exam_date", "passed"]
    search_form_extra_fields = {"student_id": StringField("学号", widget=BS3TextFieldWidget())}
    add_form_extra_fields = {
        "student_no": _STUDENT_NO_FIELD,
        "substitute": _select("替代考试", [("", "无")] + choices(SubstituteExam), required=False),
    }
    edit_form_extra_fields = {"substitute": _select("替代考试", [("", "无")] + choices(SubstituteExam), required=False)}
    formatters_columns = {
        "substitute": lambda v: label(v, SubstituteExam) if v else "",
        "passed": lambda v: "合格" if v else "不合格",
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        install_filters(self, "student_id", [StudentNoFilter])

    def check(self, item: LanguageScore) -> None:
        if item.student_id is None:
            item.student = _student_by_no(getattr(item, "student_no", ""))
            item.student_id = item.student.id
        records.check_language_score(item)


class GraduateFormView(LoggedEditsMixin, ScopedModelView):
    """毕业生登记表: the student's 自我鉴定 and the opinions; admins review submitted forms."""

    datamodel = SQLAInterface(GraduateForm)
    route_base = "/graduate_forms"
    include_route_methods = CRUD_ROUTES | {"action", "action_post"}
    list_title = show_title = "毕业生登记表"
    base_order = ("id", "desc")
    label_columns = {
        "student": _l("学生"),
        "student_id": _l("学号"),
        "self_assessment": _l("自我鉴定"),
        "site_opinion": _l("教学点意见"),
        "college_opinion": _l("学院意见"),
        "state": _l("状态"),
        "state_label": _l("状态"),
        "submitted_at": _l("提交时间"),
    }
    list_columns = ["student", "state_label", "submitted_at"]
    show_columns = ["student", "state_label", "submitted_at", "self_assessment", "site_opinion", "college_opinion"]
    edit_columns = ["self_assessment", "site_opinion", "college_opinion", "state"]
    add_columns = ["student_no", "self_assessment", "site_opinion", "college_opinion", "state"]
    search_columns = ["student_id", "state"]
    search_form_extra_fields = {
        "student_id": StringField("学号", widget=BS3TextFieldWidget()),
        "state": _select("状态", choices(FormState), blank=True),
    }
    add_form_extra_fields = {"student_no": _STUDENT_NO_FIELD, "state": _select("状态", choices(FormState))}
    edit_form_extra_fields = {"state": _select("状态", choices(FormState))}
    formatters_columns = {"submitted_at": format_local}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        install_filters(self, "student_id", [StudentNoFilter])

    def check(self, item: GraduateForm) -> None:
        if item.student_id is None:
            student = _student_by_no(getattr(item, "student_no", ""))
            if db.session.scalar(select(GraduateForm.id).where(GraduateForm.student_id == student.id)):
                raise DomainError(f"学号 {student.student_no} 已有毕业生登记表")
            item.student = student
            item.student_id = student.id

    @action("review_form", "审核通过", "将所选“已提交”的毕业生登记表标记为“已审核”？", "fa-check")
    def review_form(self, items):
        """Mark submitted forms 已审核 (rows were loaded through the scope by ScopedModelView)."""
        items = items if isinstance(items, list) else [items]
        done = records.review_forms(items, actor=g.user)
        db.session.commit()
        flash(gettext("已审核 %(n)s 份毕业生登记表", n=done), "success")
        return redirect(self.list_url())  # the same filtered list, also when nothing was ticked


def register(appbuilder) -> None:
    appbuilder.add_view(StudentView(), "学生学籍", label="学生学籍", icon="fa-id-card",
                        category=CATEGORY, category_label=CATEGORY, category_icon="fa-users")
    appbuilder.add_view(TeachingPlanView(), "教学计划", label="教学计划", icon="fa-book", category=CATEGORY)
    appbuilder.add_view_no_menu(PlanCourseView())
    appbuilder.add_view(GradeView(), "成绩", label="成绩", icon="fa-list-ol", category=CATEGORY)
    appbuilder.add_view(LanguageScoreView(), "学位外语成绩", label="学位外语成绩", icon="fa-language",
                        category=CATEGORY)
    appbuilder.add_view(GraduateFormView(), "毕业生登记表", label="毕业生登记表", icon="fa-file-text-o",
                        category=CATEGORY)

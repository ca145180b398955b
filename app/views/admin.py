"""基础数据 (机构, 专业), 系统管理 (账号管理) and 操作日志.

基础数据 and 账号管理 are the CE admin's (FAB_ROLES). 操作日志 is read-only for everyone, CE admin
included, and scoped: a site or college admin reads the entries about its students and its own.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from app.clock import format_local
from app.extensions import db
from app.ids import parse_id
from app.models.account import Account
from app.models.oplog import OperationLog
from app.models.org import Major, Organisation
from app.security import current_scope, oplog_scope_clause
from app.services import accounts
from app.services.errors import DomainError
from app.services.oplog import ACTION_LABELS
from app.statuses import OrgKind, RoleName, choices, label
from app.views.options import options
from app.views.scoped import ClampedModelView, StudentNoFilter, install_filters

BASE_CATEGORY = "基础数据"
SYSTEM_CATEGORY = "系统管理"

RECORD_TYPES = {
    "Student": "学生",
    "Account": "账号",
    "GraduationAudit": "毕业审核",
    "GraduateForm": "毕业生登记表",
    "DegreeApplication": "学位申请",
    "Signature": "电子签名",
    "Grade": "成绩",
    "LanguageScore": "学位外语成绩",
    "TeachingPlan": "教学计划",
    "PlanCourse": "教学计划课程",
    "Organisation": "机构",
    "Major": "专业",
    "Task": "任务",
}


# --------------------------------------------------------------------------- 基础数据


class OrganisationView(ClampedModelView):
    """机构: 继续教育学院 at the root, 二级学院 and 教学点 below it."""

    datamodel = SQLAInterface(Organisation)
    route_base = "/organisations"
    include_route_methods = {"list", "show", "add", "edit", "delete"}
    list_title = show_title = "机构"
    base_order = ("code", "asc")
    label_columns = {"code": _l("机构代码"), "name": _l("机构名称"), "kind": _l("机构类型"),
                     "kind_label": _l("机构类型"), "parent": _l("上级机构"), "contact_name": _l("联系人"),
                     "contact_phone": _l("联系电话")}
    list_columns = show_columns = ["code", "name", "kind_label", "parent", "contact_name", "contact_phone"]
    add_columns = edit_columns = ["code", "name", "kind", "parent", "contact_name", "contact_phone"]
    search_columns = ["code", "name", "kind"]
    search_form_extra_fields = {
        "kind": SelectField("机构类型", choices=options(choices(OrgKind), blank=""), widget=Select2Widget()),
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField("机构类型", choices=options(choices(OrgKind)), validators=[DataRequired()],
                            widget=Select2Widget()),
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {"parent": [["kind", FilterEqual, OrgKind.CE.value]]}

    def pre_add(self, item: Organisation) -> None:
        self._check(item)

    def pre_update(self, item: Organisation) -> None:
        try:
            self._check(item)
        except DomainError:
            db.session.rollback()
            raise

    @staticmethod
    def _check(item: Organisation) -> None:
        """The tree has one level: colleges and sites hang under a 继续教育学院."""
        parent = item.parent
        if item.kind == OrgKind.CE.value:
            if parent is not None:
                raise DomainError("继续教育学院不能有上级机构")
        elif parent is None or parent.kind != OrgKind.CE.value:
            raise DomainError("二级学院和教学点的上级机构必须是继续教育学院")


class MajorView(ClampedModelView):
    """专业, each owned by one 二级学院."""

    datamodel = SQLAInterface(Major)
    route_base = "/majors"
    include_route_methods = {"list", "show", "add", "edit", "delete"}
    list_title = show_title = "专业"
    base_order = ("code", "asc")
    label_columns = {"code": _l("专业代码"), "name": _l("专业名称"), "college": _l("二级学院"),
                     "levels_label": _l("层次")}
    list_columns = show_columns = ["code", "name", "college", "levels_label"]
    add_columns = edit_columns = ["code", "name", "college"]
    search_columns = ["code", "name", "college"]
    college_only = {"college": [["kind", FilterEqual, OrgKind.COLLEGE.value]]}
    add_form_query_rel_fields = edit_form_query_rel_fields = search_form_query_rel_fields = college_only

    def pre_add(self, item: Major) -> None:
        self._check(item)

    def pre_update(self, item: Major) -> None:
        try:
            self._check(item)
        except DomainError:
            db.session.rollback()
            raise

    @staticmethod
    def _check(item: Major) -> None:
        if item.college is None or item.college.kind != OrgKind.COLLEGE.value:
            raise DomainError("专业必须属于一个二级学院")


# --------------------------------------------------------------------------- 账号管理


def _org_choices() -> list[SelectChoice]:
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.code)).all()
    return options(((str(o.id), f"{o.name}（{o.kind_label}）") for o in orgs), blank="（学生账号不选）")


class AccountAddForm(DynamicForm):
    username = StringField("账号（工号/学号）", validators=[DataRequired(), Length(max=64),
                           Regexp(r"^[A-Za-z0-9_.-]+$", message="账号只能包含字母、数字和 _ . -")],
                           widget=BS3TextFieldWidget())
    name = StringField("姓名", validators=[DataRequired(), Length(max=64)], widget=BS3TextFieldWidget())
    role = SelectField("角色", choices=options(choices(RoleName)), validators=[DataRequired()],
                       widget=Select2Widget())
    org = SelectField("所属机构", choices=[], validators=[Optional()], widget=Select2Widget(),
                      description="学院管理员选二级学院，教学点管理员选教学点，继教院管理员选继续教育学院")
    student_no = StringField("学生学号", validators=[Optional(), Length(max=20)], widget=BS3TextFieldWidget(),
                             description="仅学生账号；不填则以账号为学号")
    mobile = StringField("手机号", validators=[DataRequired(), Regexp(r"^1\d{10}$", message="请填写 11 位手机号")],
                         widget=BS3TextFieldWidget(), description="初始密码为 edu@手机号，首次登录须修改")


class AccountEditForm(DynamicForm):
    active = BooleanField("是否启用")
    unlock = BooleanField("解除锁定（清除锁定时间和失败次数）")
    reset_password = BooleanField("重置为初始密码 edu@手机号（下次登录须修改）")


def _roles_text(roles) -> str:
    return "，".join(label(RoleName(r.name)) if r.name in {m.value for m in RoleName} else r.name for r in roles or [])


class AccountView(ClampedModelView):
    """账号管理: list, create with the initial password, enable/disable, unlock, reset password."""

    datamodel = SQLAInterface(Account)
    route_base = "/accounts"
    include_route_methods = {"list", "show", "add", "edit"}
    list_title = show_title = "账号管理"
    base_order = ("username", "asc")
    label_columns = {
        "username": _l("账号（工号/学号）"),
        "first_name": _l("姓名"),
        "roles": _l("角色"),
        "org": _l("所属机构"),
        "student": _l("学生"),
        "mobile": _l("手机号"),
        "active": _l("是否启用"),
        "must_change_password": _l("首次登录需改密"),
        "locked_until": _l("锁定至"),
        "fail_login_count": _l("连续失败次数"),
        "last_login": _l("最近登录"),
    }
    list_columns = ["username", "first_name", "roles", "org", "student", "mobile", "active",
                    "must_change_password", "locked_until"]
    show_columns = list_columns + ["fail_login_count", "last_login"]
    search_columns = ["username", "first_name", "org", "active"]
    formatters_columns = {
        "roles": _roles_text,
        "active": lambda v: "是" if v else "否",
        "must_change_password": lambda v: "是" if v else "否",
        "locked_until": format_local,
        "last_login": format_local,
    }

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        """新建账号 through the accounts service (initial password, forced change, logged)."""
        form = AccountAddForm()
        form.org.choices = _org_choices()
        if request.method == "POST" and form.validate():
            try:
                account = accounts.register_account(
                    username=form.username.data, name=form.name.data, role=RoleName(form.role.data),
                    mobile=form.mobile.data, org_id=int(form.org.data) if form.org.data else None,
                    student_no=form.student_no.data, actor=g.user,
                )
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
            else:
                flash(f"账号 {account.username} 已创建，初始密码为 edu@手机号", "success")
                return redirect(url_for(".list"))
        return self.render_template("admin/account_form.html", title="新建账号", form=form, account=None)

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        """启用/停用, 解除锁定, 重置密码; each change is logged."""
        number = parse_id(pk)
        account = db.session.get(Account, number) if number is not None else None
        if account is None:
            abort(404)
        form = AccountEditForm(data={"active": account.active} if request.method == "GET" else None)
        if request.method == "POST" and form.validate():
            changes = accounts.update_account(account, active=form.active.data, unlock=form.unlock.data,
                                              reset_password=form.reset_password.data, actor=g.user)
            db.session.commit()  # a DomainError above is flashed and rolled back by the error handler
            flash("已保存：" + "，".join(changes) if changes else "没有修改", "success" if changes else "info")
            return redirect(url_for(".show", pk=account.id))
        return self.render_template("admin/account_form.html", title=f"修改账号 {account.username}", form=form,
                                    account=account)


# --------------------------------------------------------------------------- 操作日志


class OperationLogScopeFilter(BaseFilter):
    """CE admin: everything; site/college admin: entries about its students, or its own actions."""

    name = "scope"
    arg_name = "oplog_scope"

    def apply(self, query, value):
        return query.filter(oplog_scope_clause(current_scope(), getattr(g.get("user"), "id", None)))


class OperationLogView(ClampedModelView):
    """操作日志: append-only; nobody may add, edit or delete an entry."""

    datamodel = SQLAInterface(OperationLog)
    route_base = "/oplog"
    include_route_methods = {"list", "show"}
    base_permissions = ["can_list", "can_show"]
    list_template = "exports/oplog_list.html"
    base_filters = [["id", OperationLogScopeFilter, lambda: None]]
    base_order = ("at", "desc")
    list_title = show_title = "操作日志"
    label_columns = {
        "at": _l("时间"),
        "actor_name": _l("操作人"),
        "action": _l("操作"),
        "record_type": _l("记录"),
        "record_id": _l("记录编号"),
        "student_id": _l("学号"),
        "old_value": _l("原值"),
        "new_value": _l("新值"),
        "reason": _l("原因/说明"),
        "task_id": _l("任务"),
    }
    list_columns = ["at", "actor_name", "action", "record_type", "record_id", "old_value", "new_value", "reason",
                    "task_id"]
    show_columns = list_columns
    search_columns = ["at", "actor_name", "action", "student_id"]
    search_form_extra_fields = {
        "action": SelectField("操作", choices=options(ACTION_LABELS.items(), blank=""), widget=Select2Widget()),
        "student_id": StringField("学号", widget=BS3TextFieldWidget()),
    }
    formatters_columns = {
        "at": format_local,
        "action": lambda v: ACTION_LABELS.get(v, v),
        "record_type": lambda v: RECORD_TYPES.get(v, v),
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        install_filters(self, "student_id", [StudentNoFilter])
        # 操作 is searched by its code, chosen from the Chinese labels
        install_filters(self, "action", [FilterEqual])


def _hide_fab_security_menu(appbuilder) -> None:
    """FAB's own List Users/Roles menus duplicate 账号管理; they stay reachable by URL for the CE admin only."""
    appbuilder.menu.menu[:] = [item for item in appbuilder.menu.menu if item.name != "Security"]


def register(appbuilder) -> None:
    appbuilder.add_view(OrganisationView(), "机构", label="机构", icon="fa-sitemap", category=BASE_CATEGORY,
                        category_label=BASE_CATEGORY, category_icon="fa-database")
    appbuilder.add_view(MajorView(), "专业", label="专业", icon="fa-graduation-cap", category=BASE_CATEGORY)
    appbuilder.add_view(AccountView(), "账号管理", label="账号管理", icon="fa-user-circle",
                        category=SYSTEM_CATEGORY, category_label=SYSTEM_CATEGORY, category_icon="fa-cogs")
    appbuilder.add_view(OperationLogView(), "操作日志", label="操作日志", icon="fa-history")
    _hide_fab_security_menu(appbuilder)

"""The one bulk-action rule (app/views/bulk.py), checked for every action of every list and every role.

The lists and their actions are enumerated from the app's registered views (a list added later is
covered without editing this file). Each action is replaced by a spy for the machinery checks, so
what is checked is what the action *receives*: ticked → exactly those rows; nothing ticked → first a
confirmation stating the server's count of the current filter, then the filter; hand-change actions
refuse nothing ticked; a role without the action's permission gets 403 and the action never runs.
The effects of real actions (ticked 导出 / 毕业审核) are checked at the end.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import g, redirect
from flask_appbuilder.actions import ActionItem
from sqlalchemy import func, select

from app.extensions import db
from app.models import DegreeApplication, GraduationAudit, Student, Task
from app.models.account import Account
from app.models.exception import CourseException
from app.security import scope_of, student_scope_clause
from app.statuses import EnrolmentStatus, ExceptionKind
from app.views.bulk import BulkActionsMixin, Selection
from app.views.scoped import StudentScopeFilter
from tests import factories
from tests.clients import bulk_post

ROLES = {"site": "jxd001", "college": "xy001", "ce": "jjy001", "student": "2020010001"}


def bulk_views(app) -> list:
    return [v for v in app.appbuilder.baseviews if isinstance(v, BulkActionsMixin) and v.actions]


def all_actions(app) -> list[tuple[str, str]]:
    return [(v.__class__.__name__, name) for v in bulk_views(app) for name in sorted(v.actions)]


def view_named(app, name: str):
    return next(v for v in bulk_views(app) if v.__class__.__name__ == name)


def base_of(view) -> str:
    return view.route_base.rstrip("/") + "/"


@pytest.fixture()
def cohort(world):
    """Two more of site 1's students, one of them 2019级 (so the 学籍年级 filter matters), and forms for all."""
    factories.student(world.site1, world.major1, no="2020010005", name="王五")
    factories.student(world.site1, world.major1, no="2019010001", name="赵六", grade=2019)
    db.session.commit()
    return world


@pytest.fixture()
def spy(app, monkeypatch):
    """spy(view, name) -> list of what the action received (its result: back to the list)."""

    def install(view, name):
        calls: list = []
        original = view.actions[name]

        def fake(arg):
            calls.append(arg)
            return redirect(view.list_url())

        if hasattr(original.func, "_bulk"):
            fake._bulk = original.func._bulk
        fake.__name__ = original.func.__name__  # FAB maps the permission by the function's name
        monkeypatch.setitem(view.actions, name, ActionItem(original.name, original.text, original.confirmation,
                                                           original.icon, original.multiple, original.single, fake))
        return calls

    return install


def account(username: str) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def may(app, username: str, view, name: str) -> bool:
    """Whether the role table (data, app/security.py ROLE_PERMISSIONS) grants the action's permission."""
    perm = view.get_action_permission_name(name)
    sm = app.appbuilder.sm
    return any(sm._has_access_builtin_roles(r, perm, view.class_permission_name) for r in account(username).roles)


def rows_in_scope(view, username: str, **filters) -> list[int]:
    """Primary keys of the view's rows the account may see: the scope computed here from its definition,
    plus the list's own fixed restriction (e.g. 毕业生列表: published graduates only)."""
    model = view.datamodel.obj
    scope = scope_of(account(username))
    clause = student_scope_clause(scope)
    query = db.session.query(model.id)
    if model is not Student:
        query = query.join(Student, Student.id == model.student_id)
    query = query.filter(clause, *[getattr(Student, k) == v for k, v in filters.items()])
    g._scope = scope  # a list's restriction may depend on the role (学位授予管理: sites see published ones only)
    try:
        for flt, value in view._base_filters.get_filters_values():
            if not isinstance(flt, StudentScopeFilter):
                query = flt.apply(query, value)
        return sorted(i for (i,) in query)
    finally:
        g.pop("_scope", None)


def received_ids(view, arg) -> list[int]:
    if isinstance(arg, Selection):
        return sorted(arg.ids)
    return sorted(getattr(r, view.datamodel.get_pk_name()) for r in arg)


def filter_of(view) -> dict:
    """The 学籍年级 filter where the list has one (so the confirmed count is the filter's, not the scope's)."""
    return {"enrol_grade": 2020} if "enrol_grade" in view._filters.get_search_filters() else {}


def test_the_lists_are_enumerated(app):
    """The enumeration sees 毕业审核管理's actions and 登记表 审核通过 (guards against an empty loop)."""
    names = set(all_actions(app))
    assert {("GraduationAuditView", a) for a in ("sync", "audit", "override", "confirm", "export", "publish")} <= names
    assert ("GraduateFormView", "review_form") in names and ("GraduateListView", "export") in names
    assert ("GraduateArchiveView", "export") in names
    assert {("DegreeAuditView", a) for a in ("audit", "override", "review", "final", "export", "approval_forms")} \
        <= names
    assert {("DegreeGrantView", a) for a in ("publish", "export", "approval_forms")} <= names
    assert ("DegreeUnappliedView", "register") in names


@pytest.fixture()
def graduates(cohort):
    """Published graduates on both sites (毕业生列表 and 毕业生档案管理 list only those by default)."""
    for no in ("2020010001", "2020010005", "2020020001"):
        student = db.session.scalar(select(Student).where(Student.student_no == no))
        factories.graduation_result(student, published=True)
        student.status = EnrolmentStatus.GRADUATED.value  # as 发布 does (毕业生档案管理 lists them by default)
    # the degree lists: on site 1 a published degree (学位授予管理), a pending application (学位申请审核管理) and a
    # student who has not applied (未申请); on site 2 a pending application
    batch = factories.degree_batch()
    factories.student(cohort.site1, cohort.major1, no="2020010006", name="钱七")
    for no, final in (("2020010001", True), ("2020010005", False), ("2020020001", False)):
        student = db.session.scalar(select(Student).where(Student.student_no == no))
        now = dt.datetime(2025, 6, 1)
        db.session.add(DegreeApplication(batch_id=batch.id, student_id=student.id, result="met",
                                         final_at=now if final else None, published_at=now if final else None,
                                         degree_no=f"103044202500{no[-4:]}" if final else None))
    # 课程替代与免修: pending 免修 entries, two on site 1 and one on site 2
    for no in ("2020010001", "2020010005", "2020020001"):
        student = db.session.scalar(select(Student).where(Student.student_no == no))
        db.session.add(CourseException(student_id=student.id, course_code="C001", course_name="大学英语",
                                       kind=ExceptionKind.WAIVER.value, reason="已修同名课程"))
    db.session.commit()
    return cohort


@pytest.mark.parametrize("role", list(ROLES))
def test_every_action_follows_the_rule_for_every_role(app, graduates, login, spy, role):
    username = ROLES[role]
    client = login(username, "student" if role == "student" else None)
    for view_name, name in all_actions(app):
        view = view_named(app, view_name)
        calls = spy(view, name)
        base = base_of(view)
        where = f"{view_name}.{name} as {username}"
        visible = rows_in_scope(view, username)
        if not may(app, username, view, name):
            for ids in (visible[:1], []):
                resp = bulk_post(client, name, ids=ids, base=base, confirm=False, form={"confirmed": "1"})
                assert resp.status_code == 403, where
            assert calls == [], where
            continue
        spec = getattr(view.actions[name].func, "_bulk", None)

        # ticked → exactly those rows (two of them when the scope has two)
        ticked = visible[:2]
        assert ticked, where
        resp = bulk_post(client, name, ids=ticked, base=base)
        assert resp.status_code == 302 and calls and received_ids(view, calls[-1]) == ticked, where
        n_calls = len(calls)

        # a ticked row outside the scope → 404, the action never runs
        outside = sorted(set(rows_in_scope(view, "jjy001")) - set(visible))
        if outside:
            assert bulk_post(client, name, ids=[ticked[0], outside[0]], base=base).status_code == 404, where
            assert len(calls) == n_calls, where

        # nothing ticked
        flt = filter_of(view)
        expected = rows_in_scope(view, username, **flt)
        resp = bulk_post(client, name, filters=flt, base=base, confirm=False, follow_redirects=True)
        page = resp.get_data(as_text=True)
        if spec is not None and spec.needs_ticks:
            assert "请先勾选" in page and len(calls) == n_calls, where
            continue
        assert resp.status_code == 200 and len(calls) == n_calls, where  # only asked, nothing done
        assert f"将对当前筛选的 {len(expected)} " in page and "确定吗？" in page, (where, page[-2000:])
        assert f'name="confirmed" value="{len(expected)}"' in page, where
        listing = client.get(base + "?" + "&".join(f"_flt_0_{k}={v}" for k, v in flt.items())).get_data(as_text=True)
        if f'value="{name}"' in listing:  # the page's own button carries the same sentence for app.js
            assert f'data-bulk-confirm="将对当前筛选的 {len(expected)} ' in listing, where
        stale = bulk_post(client, name, filters=flt, base=base, confirm=False,
                          form={"confirmed": str(len(expected) + 1)})
        assert stale.status_code == 200 and len(calls) == n_calls, where  # a changed count asks again
        resp = bulk_post(client, name, filters=flt, base=base)
        assert resp.status_code == 302 and len(calls) == n_calls + 1, where
        got = calls[-1]
        if isinstance(got, Selection):
            assert got.ids == [] and got.count == len(expected), where
            assert {k: str(v) for k, v in got.filters.items()} == {k: str(v) for k, v in flt.items()}, where
        else:
            assert received_ids(view, got) == expected, where


def test_nothing_to_do_stays_on_the_list(app, cohort, site_client, login):
    """An empty filter, and 登记表 审核通过 with nothing submitted: back on the same list with the message."""
    resp = bulk_post(site_client, "audit", filters={"enrol_grade": "1999"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/graduation/audit/?_flt_0_enrol_grade=1999")
    assert "当前筛选条件下没有学生" in site_client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = bulk_post(site_client, "review_form", base="/graduate_forms/", filters={"state": "draft"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/graduate_forms/list/"), resp.headers
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


# A filter of each list that matches nobody (a list with actions added later must say how to empty it)
NOBODY = {"GraduationAuditView": {"q": "不存在的人"}, "GraduateListView": {"q": "不存在的人"},
          "GraduateArchiveView": {"q": "不存在的人"}, "GraduateFormView": {"student_id": "1999999999"},
          "DegreeAuditView": {"q": "不存在的人"}, "DegreeGrantView": {"q": "不存在的人"},
          "DegreeUnappliedView": {"q": "不存在的人"}, "CourseExceptionView": {"student_id": "1999999999"}}


def test_every_action_with_nothing_to_do_stays_on_its_list(app, cohort, login):
    """Every list action, nothing ticked: back on the same filtered list (never the home page) with the message —
    "请先勾选…" for hand changes, "当前筛选条件下没有…" for an empty filter — and nothing ran."""
    clients: dict = {}
    for view_name, name in all_actions(app):
        view = view_named(app, view_name)
        where = f"{view_name}.{name}"
        assert view_name in NOBODY, f"{where}: add the list to NOBODY"
        # the CE admin where the role table lets it, else the first staff role that may (初审: a site, 终审: a college)
        username = next(u for u in ("jjy001", "xy001", "jxd001") if may(app, u, view, name))
        if username not in clients:
            clients[username] = login(username)
        client = clients[username]
        list_path = url_path(app, view)
        resp = bulk_post(client, name, filters=NOBODY[view_name], base=base_of(view), confirm=False)
        assert resp.status_code == 302, where
        location = resp.headers["Location"]
        assert location.startswith(list_path) and "_flt_0_" in location, (where, location)
        page = client.get(location).get_data(as_text=True)
        spec = getattr(view.actions[name].func, "_bulk", None)
        expected = "请先勾选" if spec is not None and spec.needs_ticks else "当前筛选条件下没有"
        assert expected in page, (where, page[-1500:])
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def url_path(app, view) -> str:
    from flask import url_for

    with app.test_request_context():
        return url_for(f"{view.endpoint}.list")


def test_select_all_of_the_filter_runs_on_every_page(app, cohort, site_client, spy):
    """After 全选, "选择全部 N 条符合筛选条件的学生" posts select_all=N with the page's ticks: the ticks are set aside
    and the action gets the filter, once the server's own count is N; another N asks on the confirmation page."""
    view = view_named(app, "GraduationAuditView")
    expected = rows_in_scope(view, "jxd001", enrol_grade=2020)
    assert len(expected) >= 2
    page = site_client.get("/graduation/audit/?_flt_0_enrol_grade=2020&psize_GraduationAuditView=1"
                           ).get_data(as_text=True)
    assert "data-select-all-bar" in page
    assert f"选择全部 {len(expected)} 条符合筛选条件的学生" in page
    assert f'name="select_all" value="{len(expected)}" disabled' in page
    calls = spy(view, "audit")
    page_ticks = expected[:1]
    resp = bulk_post(site_client, "audit", filters={"enrol_grade": 2020}, ids=page_ticks,
                     form={"select_all": str(len(expected) + 1)})
    assert resp.status_code == 200 and calls == []  # a count the server does not find: asked again
    assert f"将对当前筛选的 {len(expected)} 名学生" in resp.get_data(as_text=True)
    resp = bulk_post(site_client, "audit", filters={"enrol_grade": 2020}, ids=page_ticks,
                     form={"select_all": str(len(expected))})
    assert resp.status_code == 302 and len(calls) == 1
    got = calls[0]
    assert isinstance(got, Selection) and got.ids == [] and got.count == len(expected)
    assert got.filters == {"enrol_grade": "2020"} or got.filters == {"enrol_grade": 2020}
    # hand changes need ticks: select_all does not stretch 修改毕业审核结果 over the filter
    calls = spy(view, "override")
    resp = bulk_post(site_client, "override", filters={"enrol_grade": 2020}, ids=page_ticks,
                     form={"select_all": str(len(expected)), "override_result": "failed", "reason": "核实"},
                     follow_redirects=True)
    assert "请先勾选" in resp.get_data(as_text=True) and calls == []


def test_select_all_offer_only_when_the_filter_is_longer_than_the_page(app, cohort, site_client):
    """A filter that fits on the page needs no "选择全部" (全选 already covers it)."""
    page = site_client.get("/graduation/audit/?_flt_0_enrol_grade=2020").get_data(as_text=True)
    assert "data-select-all-bar" not in page


def test_ticked_export_exports_exactly_those(app, cohort, site_client):
    """导出 with two ticked → a task over those two (it used to export the whole filter)."""
    ids = rows_in_scope(view_named(app, "GraduationAuditView"), "jxd001")[:2]
    resp = bulk_post(site_client, "export", ids=ids, filters={"enrol_grade": "2020"})
    assert resp.status_code == 302
    task = db.session.scalars(select(Task).order_by(Task.id.desc())).first()
    assert task.kind == "list_export" and task.total == 2 and task.params["filters"] == {"student_ids": ids}
    assert task.scope_text.endswith("已勾选 2 名学生"), task.scope_text


def test_ticked_audit_audits_exactly_those(app, cohort, site_client):
    """毕业审核 with one ticked audits that student only; the task says so in Chinese."""
    factories.graduation_batch()
    db.session.commit()
    visible = rows_in_scope(view_named(app, "GraduationAuditView"), "jxd001")
    resp = bulk_post(site_client, "audit", ids=[visible[0]])
    assert resp.status_code == 302
    audited = set(db.session.scalars(select(GraduationAudit.student_id)))
    assert audited <= {visible[0]}
    task = db.session.scalars(select(Task)).one()
    assert task.scope_text == "已勾选 1 名学生" and task.total == 1


def test_filter_task_reads_in_chinese_labels(app, cohort, site_client):
    """A filter-wide task's 范围 uses the filter bar's labels, not its keys."""
    bulk_post(site_client, "sync", filters={"enrol_grade": "2020", "study_grade": "2020", "level": "gqb"})
    task = db.session.scalars(select(Task)).one()
    assert task.scope_text == "筛选：学籍年级 2020，学习年级 2020，层次 高起本", task.scope_text


def test_list_export_task_reads_in_chinese_labels(cohort, site_client):
    """学生学籍's 导出 of a filter: 范围 says 学籍年级 2020，学习年级 2020，层次 高起本 (it said enrol_grade=2020…)."""
    site_client.post("/exports/list", data={"list": "students", "_flt_0_enrol_grade": "2020",
                                            "_flt_0_study_grade": "2020", "_flt_0_level": "gqb"})
    task = db.session.scalars(select(Task)).one()
    assert task.scope_text == "学生学籍：学籍年级 2020，学习年级 2020，层次 高起本", task.scope_text


def test_unknown_sort_and_filter_arguments_are_ignored(cohort, site_client):
    """An unknown sort column is a Chinese 400 (app/views/input_guard.py); a filter index FAB has not, an unknown
    filter column, a huge page or page size: a page, never a 500."""
    resp = site_client.get("/graduation/audit/?_oc_GraduationAuditView=password&_od_GraduationAuditView=asc")
    assert resp.status_code == 400 and "排序条件无效" in resp.get_data(as_text=True)
    for url in ["/graduation/audit/?_flt_7_enrol_grade=2020", "/graduation/audit/?_flt_0_nosuch=1",
                "/graduation/audit/?page_GraduationAuditView=2000000000",
                "/graduation/audit/?psize_GraduationAuditView=100000"]:
        resp = site_client.get(url)
        assert resp.status_code == 200, url
    page = site_client.get("/graduation/audit/?psize_GraduationAuditView=100000").get_data(as_text=True)
    assert "共 3 条" in page


def test_sorting_and_page_size_are_fabs(cohort, site_client):
    """FAB's own sort and page-size arguments work on 毕业审核管理."""
    page = site_client.get("/graduation/audit/?_oc_GraduationAuditView=student_no&_od_GraduationAuditView=desc"
                           "&psize_GraduationAuditView=2").get_data(as_text=True)
    numbers = re.findall(r">(20\d{8})</a>", page)
    assert numbers == ["2020010005", "2020010001"], numbers
    assert "共 3 条，第 1 / 2 页" in page


def test_select_all_on_the_degree_lists(app, graduates, login, spy):
    """学位申请审核管理 offers "选择全部 N 条符合筛选条件的学位申请" too, and the action then gets the whole filter."""
    client = login("jjy001")
    view = view_named(app, "DegreeAuditView")
    expected = rows_in_scope(view, "jjy001")
    assert len(expected) >= 2
    page = client.get("/degree/audit/?psize_DegreeAuditView=1").get_data(as_text=True)
    assert f"选择全部 {len(expected)} 条符合筛选条件的学位申请" in page
    assert f'name="select_all" value="{len(expected)}" disabled' in page
    calls = spy(view, "audit")
    resp = bulk_post(client, "audit", ids=expected[:1], base=base_of(view), form={"select_all": str(len(expected))})
    assert resp.status_code == 302 and len(calls) == 1
    got = calls[0]
    assert isinstance(got, Selection) and got.ids == [] and got.count == len(expected)  # the filter, not the tick

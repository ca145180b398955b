"""The one bulk-action rule (app/views/bulk.py), checked for every action of every list and every role.

The lists and their actions are enumerated from the app's registered views (a list added later is
covered without editing this file). Each action is replaced by a spy for the machinery checks, so
what is checked is what the action *receives*: ticked → exactly those rows; nothing ticked → first a
confirmation stating the server's count of the current filter, then the filter; hand-change actions
refuse nothing ticked; a role without the action's permission gets 403 and the action never runs.
The effects of real actions (ticked 导出 / 毕业审核) are checked at the end.
"""
from __future__ import annotations

import re

import pytest
from flask import redirect
from flask_appbuilder.actions import ActionItem
from sqlalchemy import func, select

from app.extensions import db
from app.models import CourseException, GraduationAudit, Student, Task
from app.models.account import Account
from app.security import scope_of, student_scope_clause
from app.statuses import EnrolmentStatus
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
    clause = student_scope_clause(scope_of(account(username)))
    query = db.session.query(model.id)
    if model is not Student:
        query = query.join(Student, Student.id == model.student_id)
    query = query.filter(clause, *[getattr(Student, k) == v for k, v in filters.items()])
    for flt, value in view._base_filters.get_filters_values():
        if not isinstance(flt, StudentScopeFilter):
            query = flt.apply(query, value)
    return sorted(i for (i,) in query)


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


@pytest.fixture()
def graduates(cohort):
    """Published graduates on both sites (毕业生列表 and 毕业生档案管理 list only those by default)."""
    for no in ("2020010001", "2020010005", "2020020001"):
        student = db.session.scalar(select(Student).where(Student.student_no == no))
        factories.graduation_result(student, published=True)
        student.status = EnrolmentStatus.GRADUATED.value  # as 发布 does (毕业生档案管理 lists them by default)
        # a pending 免修 each, for 课程替代与免修's actions
        db.session.add(CourseException(student_id=student.id, course_code="E01", course_name="选修一", kind="waiver",
                                       reason="测试", status="pending"))
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

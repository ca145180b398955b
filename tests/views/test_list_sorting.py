"""Sortable columns of the workflow lists (issue 16, "Lists"): every column a header offers sorts the real rows
by what the page shows — 专业 and 教学点 by their names, 毕业审核结果 / 确认状态 / 层次 / 任务类型 / 状态 in their
fixed order, empty cells last — both ways, ties by id, on SQLite and on PostgreSQL (TEST_DATABASE_URL).

The data is built so that id order is not name order: the sites and majors are created in the reverse of their
names' order, and the results, dates and numbers are handed out against the ids.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.extensions import db
from app.models import DegreeApplication, GraduationAudit, Major, Organisation, Student, Task
from app.services import list_order
from app.statuses import (
    ConfirmState,
    DegreeConditionResult,
    EnrolmentStatus,
    GraduationResult,
    Level,
    OrgKind,
    ReviewOpinion,
    TaskKind,
    TaskState,
)
from tests import factories

CHECKED = re.compile(r'<input type="checkbox" name="rowid" value="(\d+)"')
RESULTS = [r.value for r in GraduationResult]
CONFIRM = [c.value for c in ConfirmState]
LEVELS = [v.value for v in Level]


def view_named(app, name: str):
    return next(v for v in app.appbuilder.baseviews if type(v).__name__ == name)


def ids_on(client, url: str) -> list[int]:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return [int(n) for n in CHECKED.findall(resp.get_data(as_text=True))]


def expected(rows: dict[int, object], direction: str) -> list[int]:
    """Row ids by their shown key then id; descending reverses both; empty keys (None) last both ways."""
    filled = sorted((key, pk) for pk, key in rows.items() if key is not None)
    empty = sorted(pk for pk, key in rows.items() if key is None)
    if direction == "desc":
        filled, empty = filled[::-1], empty[::-1]
    return [pk for _, pk in filled] + empty


def sorted_url(base: str, view: str, column: str, direction: str, size: int = 200) -> str:
    return f"{base}?_oc_{view}={column}&_od_{view}={direction}&psize_{view}={size}"


@pytest.fixture()
def people(world):
    """Three more sites and majors whose names run against their ids (丁桥 < 七星 < 下城 < 南通 < 如皋, created
    南通, 如皋, 下城, 七星, 丁桥), and nine students spread over them against the id order."""
    sites = [world.site1, world.site2] + [factories.org(n, OrgKind.SITE, world.ce)
                                          for n in ("下城教学点", "七星教学点", "丁桥教学点")]
    majors = [world.major1, world.major2] + [factories.major(n, world.college1)
                                             for n in ("会计学", "人力资源管理", "中文")]
    levels = [Level.JUNIOR_TO_BACHELOR, Level.HIGH_TO_BACHELOR, Level.HIGH_TO_JUNIOR]
    students = [world.student1, world.student2]
    for i in range(7):
        students.append(factories.student(sites[(4 - i) % 5], majors[(i * 2 + 4) % 5], no=f"20200300{i:02d}",
                                          name=f"学生{9 - i}", level=levels[i % 3],
                                          status=EnrolmentStatus.GRADUATED if i % 2 else EnrolmentStatus.ENROLLED))
    for n, s in enumerate(students):  # 同步时间 against the ids; never synced (empty) for every third
        s.synced_at = None if n % 3 == 0 else dt.datetime(2025, 1, 1, 10 - n)
    db.session.commit()
    return students


@pytest.fixture()
def cohort(people):
    """``people`` with graduation results, confirmations, diplomas handed out against the id order."""
    batch = factories.graduation_batch()
    results = [None, "failed", "pre_graduate", "unaudited", None, "pre_graduate", "failed", "pre_graduate", None]
    students = people
    for n, (student, result) in enumerate(zip(students, results, strict=True)):
        if result is None:
            continue
        row = GraduationAudit(student_id=student.id, batch_id=batch.id, result=result, computed_result=result)
        if n == 5:  # a hand-set 预毕业 over a computed 不合格: the list shows (and sorts by) the effective result
            row.computed_result, row.override_result, row.override_reason = "failed", "pre_graduate", "核实"
        if n in (2, 7):
            row.confirmed_at = dt.datetime(2024, 12, 1)
        if n in (5, 7, 1):  # published, with diplomas and dates running against the ids
            row.confirmed_at = dt.datetime(2024, 12, 1)
            row.published_at = dt.datetime(2024, 12, 20)
            row.diploma_no = {5: "104001202500003", 7: "104001202500001", 1: "104001202500002"}[n]
            row.graduation_date = {5: dt.date(2025, 1, 10), 7: dt.date(2025, 1, 12), 1: dt.date(2025, 1, 11)}[n]
        db.session.add(row)
    db.session.commit()
    return students


def names() -> tuple[dict[int, str], dict[int, str]]:
    majors = dict(db.session.query(Major.id, Major.name).all())
    sites = dict(db.session.query(Organisation.id, Organisation.name).all())
    return majors, sites


def student_keys(students, shown) -> dict[str, dict[int, object]]:
    """What the 毕业相关 lists show of each student, per order column."""
    majors, sites = names()
    audits = {a.student_id: a for a in db.session.query(GraduationAudit).all()}
    keys: dict[str, dict[int, object]] = {k: {} for k in
                                          ("major", "site", "level", "result", "confirm_state", "override",
                                           "diploma_no", "graduation_date", "status", "synced_at")}
    for s in students:
        if s.id not in shown:
            continue
        a = audits.get(s.id)
        keys["major"][s.id] = majors[s.major_id]
        keys["site"][s.id] = sites[s.site_id]
        keys["level"][s.id] = LEVELS.index(s.level)
        keys["status"][s.id] = [e.value for e in EnrolmentStatus].index(s.status)
        keys["result"][s.id] = RESULTS.index(a.result if a else "unaudited")
        state = "published" if a and a.published_at else "confirmed" if a and a.confirmed_at else "unconfirmed"
        keys["confirm_state"][s.id] = CONFIRM.index(state)
        keys["override"][s.id] = int(bool(a and a.override_result))
        keys["diploma_no"][s.id] = a.diploma_no if a else None
        keys["graduation_date"][s.id] = a.graduation_date if a else None
        keys["synced_at"][s.id] = s.synced_at
    return keys


def check_columns(client, base: str, view: str, keys: dict, columns) -> None:
    for column in columns:
        for direction in ("asc", "desc"):
            want = expected(keys[column], direction)
            got = ids_on(client, sorted_url(base, view, column, direction))
            assert got == want, f"{view} sorted by {column} {direction}: {got} != {want}"


def test_audit_list_sorts_by_names_results_and_states(cohort, ce_client):
    """毕业审核管理: 专业/教学点 by the names shown, 层次 and 毕业审核结果 (no row = 未审核; a hand-set result counts as
    shown) and 确认状态 in their fixed order, 是否手工修改 否 before 是 — ascending and descending."""
    shown = {s.id for s in cohort}
    keys = student_keys(cohort, shown)
    assert list(keys["major"].values()) != sorted(keys["major"].values())  # id order is not name order
    check_columns(ce_client, "/graduation/audit/", "GraduationAuditView", keys,
                  ["major", "site", "level", "result", "confirm_state", "override", "synced_at"])


def test_audit_list_result_order_is_the_enum_order(cohort, ce_client):
    """审核结果 ascending reads 未审核 … 预毕业 … 不合格 (the enum's order), not the codes' alphabet."""
    page = ce_client.get(sorted_url("/graduation/audit/", "GraduationAuditView", "result", "asc")).get_data(
        as_text=True)
    cells = re.findall(r'<td class="result-(\w+)">', page)
    assert cells == sorted(cells, key=RESULTS.index) and cells[0] == "unaudited" and cells[-1] == "failed", cells


def test_graduate_list_sorts_by_diploma_date_and_names(cohort, ce_client):
    """毕业生列表: 毕业证书编号, 毕业日期, 专业, 教学点 both ways (the published graduates only)."""
    shown = set(ids_on(ce_client, "/graduation/graduates/?psize_GraduateListView=200"))
    assert len(shown) == 3
    keys = student_keys(cohort, shown)
    check_columns(ce_client, "/graduation/graduates/", "GraduateListView", keys,
                  ["diploma_no", "graduation_date", "major", "site", "level"])


def test_archive_sorts_with_empty_diplomas_last(cohort, ce_client):
    """毕业生档案管理 (全部): 专业, 教学点, 层次, 学籍状态 and 毕业证书编号, the students without one last both ways."""
    base = "/graduation/archive/"
    url = base + "?_flt_0_graduated=all&psize_GraduateArchiveView=200"
    shown = set(ids_on(ce_client, url))
    assert shown == {s.id for s in cohort}
    keys = student_keys(cohort, shown)
    for column in ("major", "site", "level", "status", "diploma_no"):
        for direction in ("asc", "desc"):
            got = ids_on(ce_client, sorted_url(base, "GraduateArchiveView", column, direction)
                         + "&_flt_0_graduated=all")
            assert got == expected(keys[column], direction), (column, direction)


def test_every_sortable_header_is_a_sort_link(cohort, ce_client):
    """Each order column of the 毕业相关 lists is a clickable header: first ascending, clicked again descending."""
    for base, view in (("/graduation/audit/", "GraduationAuditView"), ("/graduation/graduates/", "GraduateListView"),
                       ("/graduation/archive/", "GraduateArchiveView")):
        page = ce_client.get(base).get_data(as_text=True)
        columns = set(re.findall(r'data-sort="([\w.]+)"', page))
        assert columns == set(view_named(ce_client.app, view).order_columns), (view, columns)
        page = ce_client.get(f"{base}?_oc_{view}=major&_od_{view}=asc").get_data(as_text=True)
        link = re.search(rf'href="([^"]*_oc_{view}=major[^"]*)" data-sort="major"', page).group(1)
        assert f"_od_{view}=desc" in link


def test_unknown_sort_column_is_still_refused(cohort, ce_client):
    """A column outside the list's order columns is the Chinese 400 (input_guard), never reaching the query."""
    resp = ce_client.get("/graduation/graduates/?_oc_GraduateListView=major_id&_od_GraduateListView=asc")
    assert resp.status_code == 400 and "排序条件无效" in resp.get_data(as_text=True)
    resp = ce_client.get("/tasks/?_oc_TaskView=params&_od_TaskView=asc")
    assert resp.status_code == 400


SORTED_LISTS = ("GraduationAuditView", "GraduateListView", "GraduateArchiveView", "DegreeAuditView",
                "DegreeUnappliedView", "DegreeGrantView", "TaskView")


def test_every_order_column_has_an_expression(app):
    """No order column of a workflow list falls through to a column its model does not have."""
    with app.app_context():
        for name in SORTED_LISTS:
            view = view_named(app, name)
            for column in view.order_columns:
                assert list_order.order_of(view.orders, view.datamodel.obj, column).expr is not None, (name, column)


# ---------------------------------------------------------------- degree lists


@pytest.fixture()
def applications(people):
    """Applications of the 本科 students (a batch of their grade), half of them past 终审 (学位授予管理)."""
    bachelors = [s for s in people if s.level in ("gqb", "zsb")]
    ids = factories.degree_applications(bachelors)
    rows = db.session.query(DegreeApplication).filter(DegreeApplication.id.in_(ids.values())).all()
    for n, row in enumerate(sorted(rows, key=lambda r: r.id)):
        row.result = ("not_met", "met", "unaudited")[n % 3]  # against the ids and the codes' alphabet
        row.review_opinion = (None, "disagree", "agree")[n % 3]
        if n % 2:
            row.final_at = dt.datetime(2025, 5, 10 - n)
            row.published_at = dt.datetime(2025, 6, 1) if n % 4 == 1 else None
            row.degree_no = f"1040042025{9 - n:06d}" if row.published_at else None
            row.granted_on = dt.date(2025, 7, 10 - n) if row.published_at else None
    db.session.commit()
    return rows


def application_keys(rows) -> dict[str, dict[int, object]]:
    majors, sites = names()
    students = {s.id: s for s in db.session.query(Student).all()}
    return {
        "student.major_id": {a.id: majors[students[a.student_id].major_id] for a in rows},
        "student.site_id": {a.id: sites[students[a.student_id].site_id] for a in rows},
        "student.level": {a.id: LEVELS.index(students[a.student_id].level) for a in rows},
    }


def test_degree_audit_list_sorts_major_and_site_by_name(applications, ce_client):
    """学位申请审核管理: 专业 and 教学点 sort by the names shown (they sorted by the ids); 层次, 学位申请条件是否达标
    (未审核, 已达标, 未达标) and 初审意见 (none last) in their fixed order."""
    shown = set(ids_on(ce_client, "/degree/audit/?psize_DegreeAuditView=200"))
    rows = [a for a in applications if a.id in shown]
    assert len(rows) >= 4
    keys = application_keys(rows)
    keys["result"] = {a.id: [r.value for r in DegreeConditionResult].index(a.result) for a in rows}
    keys["review_opinion"] = {a.id: None if a.review_opinion is None else
                              [o.value for o in ReviewOpinion].index(a.review_opinion) for a in rows}
    check_columns(ce_client, "/degree/audit/", "DegreeAuditView", keys,
                  ["student.major_id", "student.site_id", "student.level", "result", "review_opinion"])


def test_degree_grant_list_sorts_major_site_and_empty_numbers_last(applications, ce_client):
    """学位授予管理: 专业/教学点 by name; 终审, 授予日期 and 学位证书编号 with the unpublished (empty) last."""
    shown = set(ids_on(ce_client, "/degree/grants/?psize_DegreeGrantView=200"))
    rows = [a for a in applications if a.id in shown]
    assert len(rows) >= 2
    keys = application_keys(rows)
    keys["degree_no"] = {a.id: a.degree_no for a in rows}
    keys["granted_on"] = {a.id: a.granted_on for a in rows}
    keys["final_at"] = {a.id: a.final_at for a in rows}
    assert None in keys["degree_no"].values()
    check_columns(ce_client, "/degree/grants/", "DegreeGrantView", keys,
                  ["student.major_id", "student.site_id", "degree_no", "granted_on", "final_at"])


def test_degree_unapplied_list_sorts_major_and_site_by_name(people, ce_client):
    """学位申请审核管理 · 未申请 (students): 专业 and 教学点 by name."""
    factories.degree_batch()
    db.session.commit()
    base = "/degree/audit/unapplied/"
    shown = set(ids_on(ce_client, base + "?psize_DegreeUnappliedView=200"))
    assert len(shown) >= 4
    majors, sites = names()
    students = [s for s in people if s.id in shown]
    keys = {"major_id": {s.id: majors[s.major_id] for s in students},
            "site_id": {s.id: sites[s.site_id] for s in students}}
    check_columns(ce_client, base, "DegreeUnappliedView", keys, ["major_id", "site_id"])


# ---------------------------------------------------------------- 任务中心


def test_task_center_sorts_every_column(world, ce_client):
    """任务中心: 任务类型 and 状态 in their fixed order, 提交人 by name, empty 开始时间 last, ties by 编号; each header
    is a sort link."""
    from tests.factories import account_named

    people = [account_named("jxd002"), account_named("jjy001"), account_named("xy001")]
    kinds = [TaskKind.IMPORT, TaskKind.GRADUATION_SYNC, TaskKind.LIST_EXPORT, TaskKind.GRADUATION_SYNC]
    states = [TaskState.FAILED, TaskState.QUEUED, TaskState.SUCCEEDED, TaskState.RUNNING]
    tasks = []
    for n in range(6):
        task = Task(kind=kinds[n % 4].value, params={}, scope_text=f"范围{5 - n}", requested_by_id=people[n % 3].id,
                    org_id=None, state=states[n % 4].value, created_at=dt.datetime(2025, 1, 1, 8, n),
                    started_at=None if n % 3 == 0 else dt.datetime(2025, 1, 2, 8, 10 - n),
                    finished_at=None if n % 2 == 0 else dt.datetime(2025, 1, 3, 8, 10 - n))
        db.session.add(task)
        tasks.append(task)
    db.session.commit()
    usernames = {p.id: p.username for p in people}
    keys = {
        "kind": {t.id: [k.value for k in TaskKind].index(t.kind) for t in tasks},
        "state": {t.id: [s.value for s in TaskState].index(t.state) for t in tasks},
        "requested_by": {t.id: usernames[t.requested_by_id] for t in tasks},
        "started_at": {t.id: t.started_at for t in tasks},
        "finished_at": {t.id: t.finished_at for t in tasks},
        "scope_text": {t.id: t.scope_text for t in tasks},
    }
    page = ce_client.get("/tasks/").get_data(as_text=True)
    view = view_named(ce_client.app, "TaskView")
    assert set(re.findall(r'data-sort="(\w+)"', page)) == set(view.order_columns)
    for column, by in keys.items():
        for direction in ("asc", "desc"):
            page = ce_client.get(sorted_url("/tasks/", "TaskView", column, direction)).get_data(as_text=True)
            got = [int(n) for n in re.findall(r'data-task-id="(\d+)"', page)]
            assert got == expected(by, direction), (column, direction, got)

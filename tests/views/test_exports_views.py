"""毕业生档案管理 and the export routes through the role clients: scope, permissions, tasks created."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
from sqlalchemy import func, select

from app import storage
from app.extensions import db
from app.models import DegreeApplication, DegreeBatch, Task
from app.statuses import EnrolmentStatus, TaskState
from tests.clients import press

SUBMITTED = "导出任务已提交，可在任务中心查看和下载"


def tasks_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Task))


def last_task() -> Task:
    return db.session.scalar(select(Task).order_by(Task.id.desc()).limit(1))


def flashes(client) -> str:
    return client.get("/graduation/archive/?_flt_0_graduated=all").get_data(as_text=True)


def test_archive_page_has_filters_documents_and_only_own_students(world, site_client):
    """jxd001's page: the manual's filters, the three documents, only site 1's students and options."""
    page = site_client.get("/graduation/archive/?_flt_0_graduated=all").get_data(as_text=True)
    for text in ["学籍年级", "学习年级", "层次", "教学点", "专业", "毕业状态", "已毕业", "姓名/学号", "查询",
                 "学籍卡", "成绩单", "毕业生登记表", "导出", "学籍状态", "毕业证书编号", 'name="csrf_token"',
                 'name="rowid"', "毕业生档案管理"]:
        assert text in page, text
    assert "2020010001" in page and "2020020001" not in page
    assert "南通教学点" in page and "如皋教学点" not in page and "数学与应用数学" not in page


def test_archive_page_defaults_to_graduates(world, site_client):
    """Without a 毕业状态 choice the page lists graduates only (the manual's 毕业生档案)."""
    assert "2020010001" not in site_client.get("/graduation/archive/").get_data(as_text=True)
    world.student1.status = EnrolmentStatus.GRADUATED.value
    db.session.commit()
    assert "2020010001" in site_client.get("/graduation/archive/").get_data(as_text=True)


def test_archive_export_creates_a_task_with_a_downloadable_zip(world, site_client):
    """导出 with ticked ids runs the task; 任务中心 serves the zip under its Chinese name."""
    r = press(site_client, "/graduation/archive/export", data={"graduated": "all", "ids": [str(world.student1.id)],
                                                             "documents": ["card", "form"]})
    assert r.status_code == 302 and "/graduation/archive/" in r.headers["Location"]
    task = last_task()
    assert task.kind == "archive_export" and task.state == TaskState.SUCCEEDED.value, task.error
    assert task.result_name.startswith("毕业生档案_") and task.result_name.endswith(".zip")
    assert task.params["scope"] == {"kind": "site", "org_id": world.site1.id, "student_id": None}
    assert SUBMITTED in flashes(site_client)
    dl = site_client.get(f"/tasks/download/{task.id}")
    assert dl.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(dl.data)).namelist()
    assert sorted(names) == ["2020010001_张三_学籍卡.xlsx", "2020010001_张三_毕业生登记表.xlsx"]


def test_archive_export_without_ticks_covers_the_filter(world, ce_client):
    """No ticked student: every student of the filter (in scope) is exported."""
    press(ce_client, "/graduation/archive/export", data={"graduated": "all", "documents": ["card"]})
    task = last_task()
    assert task.state == TaskState.SUCCEEDED.value, task.error
    names = zipfile.ZipFile(storage.resolve(task.result_path)).namelist()
    assert sorted(names) == ["2020010001_张三_学籍卡.xlsx", "2020020001_李四_学籍卡.xlsx"]


def test_archive_export_of_another_sites_students_is_404(world, site_client):
    """jxd001 posting jxd002's student ids gets 404 and no task is created."""
    r = press(site_client, "/graduation/archive/export", data={"graduated": "all", "ids": [str(world.student2.id)],
                                                             "documents": ["card"]})
    assert r.status_code == 404
    r = press(site_client, "/graduation/archive/export", data={
        "graduated": "all", "ids": [str(world.student1.id), str(world.student2.id)], "documents": ["card"]})
    assert r.status_code == 404
    assert tasks_count() == 0


def test_archive_export_needs_a_document_and_a_student(world, site_client):
    """No document ticked, or an empty filter: the user reads why and no task is created."""
    press(site_client, "/graduation/archive/export", data={"graduated": "all", "ids": [str(world.student1.id)]})
    assert "请至少选择一种导出文档" in flashes(site_client)
    press(site_client, "/graduation/archive/export", data={"graduated": "yes", "documents": ["card"]})
    assert "当前筛选条件下没有学生" in flashes(site_client)
    assert tasks_count() == 0


def test_archive_export_requires_csrf(world, site_client):
    """A forged POST without the CSRF token is refused."""
    r = press(site_client, "/graduation/archive/export", csrf=False,
                         data={"graduated": "all", "documents": ["card"]})
    assert r.status_code == 400
    assert tasks_count() == 0


def test_students_get_403(world, student_client):
    """A student can open neither the archive page nor any export route."""
    assert student_client.get("/graduation/archive/").status_code == 403
    assert press(student_client, "/graduation/archive/export", data={"documents": ["card"]}).status_code == 403
    assert press(student_client, "/exports/degree-summary", data={}).status_code == 403
    assert student_client.post("/exports/list", data={"list": "students"}).status_code == 403
    assert tasks_count() == 0


def test_menu_shows_archive_item_to_admins(world, college_client):
    """毕业生档案管理 sits in the 毕业相关 menu of college (and site) admins."""
    page = college_client.get("/").get_data(as_text=True)
    assert "毕业相关" in page and "毕业生档案管理" in page


def test_degree_summary_action_creates_the_export(world, college_client):
    """学位申请审核管理's 导出 (the former /exports/degree-summary) with the batch filter exports the college's
    applications."""
    batch = DegreeBatch(name="2020级学位批次", enrol_grade=2020, apply_start=dt.datetime(2025, 3, 1),
                        apply_end=dt.datetime(2025, 3, 15), year=2025)
    db.session.add(batch)
    db.session.flush()
    db.session.add_all([DegreeApplication(batch_id=batch.id, student_id=world.student1.id),
                        DegreeApplication(batch_id=batch.id, student_id=world.student2.id)])
    db.session.commit()
    r = press(college_client, "/exports/degree-summary", data={"batch_id": str(batch.id), "applied": "applied"},
                            headers={"Referer": "http://localhost/degree/audit/"})
    assert r.status_code == 302
    task = last_task()
    assert task.kind == "degree_summary_export" and task.state == TaskState.SUCCEEDED.value, task.error
    assert task.result_name.startswith("学位申请信息汇总表_") and task.result_name.endswith(".xlsx")
    ws = openpyxl.load_workbook(storage.resolve(task.result_path)).active
    assert [row[1] for row in ws.iter_rows(min_row=2, values_only=True)] == ["2020010001"]


def test_degree_summary_of_foreign_application_ids_is_404(world, site_client):
    """Ticked applications of another site are refused with 404."""
    batch = DegreeBatch(name="b", enrol_grade=2020, apply_start=dt.datetime(2025, 3, 1),
                        apply_end=dt.datetime(2025, 3, 15), year=2025)
    db.session.add(batch)
    db.session.flush()
    app = DegreeApplication(batch_id=batch.id, student_id=world.student2.id)
    db.session.add(app)
    db.session.commit()
    assert press(site_client, "/exports/degree-summary", data={"ids": [str(app.id)]}).status_code == 404
    assert tasks_count() == 0


def test_list_export_route_exports_students_in_scope(world, site2_client):
    """POST /exports/list list=students gives jxd002 an xlsx of its own students only."""
    r = site2_client.post("/exports/list", data={"list": "students"})
    assert r.status_code == 302
    task = last_task()
    assert task.kind == "list_export" and task.state == TaskState.SUCCEEDED.value, task.error
    assert task.result_name.startswith("学生学籍_")
    ws = openpyxl.load_workbook(storage.resolve(task.result_path)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:2] == ("学号", "姓名") and [r[0] for r in rows[1:]] == ["2020020001"]


def test_list_export_of_unknown_list_is_404(world, ce_client):
    """Only the four main lists exist."""
    assert ce_client.post("/exports/list", data={"list": "accounts"}).status_code == 404
    assert tasks_count() == 0

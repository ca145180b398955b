"""The pages offer the exports and figures their users expect, wired to the right routes."""
from __future__ import annotations

from app.extensions import db
from app.models import DegreeApplication, Task
from tests import factories
from tests.clients import DEGREE_AUDIT, bulk_post, flt


def _last_task():
    db.session.expire_all()
    return db.session.query(Task).order_by(Task.id.desc()).first()


def test_degree_page_offers_the_summary_export(world, site_client):
    """学位申请审核管理 has 导出学位申请信息汇总表, which starts the summary export for the filter."""
    batch = factories.degree_batch()
    factories.graduation_result(world.student1)
    db.session.add(DegreeApplication(batch_id=batch.id, student_id=world.student1.id))
    db.session.commit()
    page = site_client.get(f"/degree/audit/?batch_id={batch.id}&applied=applied").get_data(as_text=True)
    assert "导出学位申请信息汇总表" in page and 'name="action" value="export"' in page
    resp = bulk_post(site_client, "export", base=DEGREE_AUDIT, filters={"batch_id": batch.id})
    assert resp.status_code == 302
    task = _last_task()
    assert task.kind == "degree_summary_export" and task.state == "succeeded"
    assert task.result_name.startswith("学位申请信息汇总表")


def test_graduation_lists_offer_an_export_of_the_current_filter(world, site_client):
    """毕业审核管理 and 毕业生列表 both have 导出, which exports the filtered list."""
    page = site_client.get(flt(enrol_grade=2020)).get_data(as_text=True)
    assert 'name="action" value="export"' in page  # 导出 is a FAB action of the list (app/views/bulk.py)
    bulk_post(site_client, "export", filters={"enrol_grade": "2020"})
    assert _last_task().kind == "list_export"
    page = site_client.get("/graduation/graduates/").get_data(as_text=True)
    assert 'name="action" value="export"' in page


def test_dashboard_shows_degree_figures(world, site_client):
    """The admin home page shows the degree counts beside the graduation counts."""
    batch = factories.degree_batch()
    db.session.add(DegreeApplication(batch_id=batch.id, student_id=world.student1.id))
    db.session.commit()
    page = site_client.get("/").get_data(as_text=True)
    assert "已申请" in page and "已授予" in page


def test_student_space_menu_only_for_students(world, ce_client, student_client):
    """学生空间 appears in the student's menu and not in an admin's."""
    assert "学生空间" in student_client.get("/space/").get_data(as_text=True)
    assert "学生空间" not in ce_client.get("/").get_data(as_text=True)


def test_student_and_oplog_lists_export_their_current_search(world, site_client):
    """学生学籍 and 操作日志 have 导出; the FAB search of the page becomes the export's filter."""
    page = site_client.get("/students/list/?_flt_0_enrol_grade=2020").get_data(as_text=True)
    assert 'name="list" value="students"' in page and 'name="_flt_0_enrol_grade" value="2020"' in page
    site_client.post("/exports/list", data={"list": "students", "_flt_0_enrol_grade": "2020"})
    task = _last_task()
    assert task.kind == "list_export" and task.params["filters"].get("enrol_grade") in (2020, "2020")
    assert task.state == "succeeded"
    page = site_client.get("/oplog/list/").get_data(as_text=True)
    assert 'name="list" value="oplog"' in page

"""毕业相关 pages through the role clients: scope, permissions, buttons and their effects."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import GraduationAudit, GraduationBatch, OperationLog, Student, Task
from app.models.account import Account
from app.services import tasks
from app.statuses import GraduationResult
from tests import factories
from tests.clients import bulk_post, flt

PRE = GraduationResult.PRE_GRADUATE.value
FAILED = GraduationResult.FAILED.value
PAGES = ["/graduation/audit/", "/graduation/graduates/"]
POSTS = ["sync", "audit", "override", "confirm", "export", "publish"]


@pytest.fixture()
def ready(world):
    """An open 2020 高起本 batch; student1 (site 1) passes everything, student2 (site 2) too."""
    factories.graduation_batch()
    factories.grades(world.student1, factories.ALL_PASS)
    factories.grades(world.student2, factories.ALL_PASS)
    db.session.commit()
    return world


def audit_of(student_id: int) -> GraduationAudit | None:
    return db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == student_id))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_students_get_403_everywhere(ready, student_client):
    """A student may open none of the graduation pages or actions."""
    for url in PAGES + ["/graduation/batches/list/", f"/graduation/audit/student/{ready.student1.id}",
                        f"/graduation/audit/student/{ready.student1.id}/preview"]:
        assert student_client.get(url).status_code == 403, url
    for action in POSTS:
        assert bulk_post(student_client, action).status_code == 403, action
    assert count(Task) == 0


def test_site_sees_filter_bar_buttons_and_own_students(ready, site_client):
    """jxd001's page has the manual's filters and buttons and lists only site 1's students and options."""
    page = site_client.get(flt(enrol_grade=2020, study_grade=2020, level="gqb")).get_data(as_text=True)
    for text in ["学籍年级", "学习年级", "层次", "教学点", "专业", "毕业审核结果", "姓名/学号", "查询",
                 "同步课程数据", "毕业审核", "修改毕业审核结果", "一键确认毕业", "导出",
                 "不勾选时对当前筛选的全部学生生效", "已通过课程数", "已获总学分", "同步时间", "是否手工修改",
                 "确认状态", 'name="csrf_token"']:
        assert text in page, text
    assert "2020010001" in page and "2020020001" not in page
    assert "南通教学点" in page and "如皋教学点" not in page and "数学与应用数学" not in page
    assert 'value="publish"' not in page  # site admins do not see 发布
    assert "毕业相关" in page and "毕业生列表" in page and "毕业批次" not in page


def test_ce_sees_publish_button(ready, ce_client):
    """The CE admin sees every student and the 发布 button."""
    page = ce_client.get("/graduation/audit/").get_data(as_text=True)
    assert "2020010001" in page and "2020020001" in page and 'value="publish"' in page
    assert "毕业批次" in page


def test_college_admin_sees_only_own_college(ready, college_client):
    """xy001 (管理学院) sees only students whose major belongs to the college."""
    page = college_client.get("/graduation/audit/").get_data(as_text=True)
    assert "2020010001" in page and "2020020001" not in page
    r = college_client.get(f"/graduation/audit/student/{ready.student2.id}")
    assert r.status_code == 404


def test_detail_page_is_scoped_and_shows_plan_and_preview(ready, site_client):
    """The detail page shows plan progress and the live 审核预览; another site's student is 404."""
    page = site_client.get(f"/graduation/audit/student/{ready.student1.id}").get_data(as_text=True)
    for text in ["高等数学", "管理学原理", "审核预览", "预毕业", "审核历史", "尚未审核"]:
        assert text in page, text
    assert site_client.get(f"/graduation/audit/student/{ready.student2.id}").status_code == 404
    assert site_client.get(f"/graduation/audit/student/{ready.student2.id}/preview").status_code == 404
    preview = site_client.get(f"/graduation/audit/student/{ready.student1.id}/preview").get_json()
    assert preview["result_label"] == "预毕业" and preview["reasons"] == []
    assert count(GraduationAudit) == 0


@pytest.mark.parametrize("action", ["sync", "audit", "override", "confirm"])
def test_actions_with_other_sites_ids_are_404(ready, site_client, action):
    """jxd001 posting site 2's student id to any action gets 404 and nothing changes."""
    before_logs = count(OperationLog)
    r = bulk_post(site_client, action, ids=[ready.student1.id, ready.student2.id],
                  form={"override_result": PRE, "reason": "x"})
    assert r.status_code == 404
    assert count(Task) == 0 and count(GraduationAudit) == 0 and count(OperationLog) == before_logs
    assert db.session.get(Student, ready.student2.id).synced_at is None


def test_site_cannot_publish(ready, site_client):
    """发布 is the CE admin's: a site admin gets 403."""
    assert bulk_post(site_client, "publish").status_code == 403


def test_batch_admin_is_ce_only(ready, ce_client, site_client, college_client):
    """毕业批次 is managed by the CE admin only."""
    assert ce_client.get("/graduation/batches/list/").status_code == 200
    assert "2020级高起本毕业批次" in ce_client.get("/graduation/batches/list/").get_data(as_text=True)
    assert site_client.get("/graduation/batches/list/").status_code == 403
    assert college_client.get("/graduation/batches/list/").status_code == 403


def test_ce_adds_batch_with_window_check(ready, ce_client):
    """Adding a batch whose window ends before it starts is refused; a good one is stored."""
    form = {"name": "2021级专升本毕业批次", "enrol_grade": "2021", "study_grade": "2021", "level": "zsb",
            "require_plan_courses": "y", "require_form": "y", "require_photo": "y",
            "confirm_start": "2026-12-06 00:00:00", "confirm_end": "2026-11-25 00:00:00", "diploma_year": "2027",
            "graduation_date": "2027-01-10"}
    r = ce_client.post("/graduation/batches/add", data=form, follow_redirects=True)
    assert "确认毕业结束时间必须晚于开始时间" in r.get_data(as_text=True)
    assert count(GraduationBatch, GraduationBatch.name == "2021级专升本毕业批次") == 0
    form["confirm_start"], form["confirm_end"] = "2026-11-25 00:00:00", "2026-12-06 00:00:00"
    ce_client.post("/graduation/batches/add", data=form)
    assert count(GraduationBatch, GraduationBatch.name == "2021级专升本毕业批次") == 1


def test_audit_button_runs_job_and_returns_to_filter(ready, site_client):
    """毕业审核 submits a task, flashes the task-center message and goes back to the same filter."""
    r = bulk_post(site_client, "audit", filters={"enrol_grade": "2020", "level": "gqb"})
    assert r.status_code == 302
    assert "/graduation/audit/?" in r.headers["Location"] and "_flt_0_enrol_grade=2020" in r.headers["Location"]
    page = site_client.get(r.headers["Location"]).get_data(as_text=True)
    assert "任务已提交，可在任务中心查看进度" in page
    assert audit_of(ready.student1.id).result == PRE and audit_of(ready.student2.id) is None
    task = db.session.scalars(select(Task)).one()
    assert task.kind == "graduation_audit" and task.state == "succeeded" and task.org_id == ready.site1.id


def test_audit_of_empty_filter_gives_message(ready, site_client):
    """An audit of a filter that matches nobody says so and creates no task."""
    r = bulk_post(site_client, "audit", filters={"enrol_grade": "1999"}, follow_redirects=True)
    assert "当前筛选条件下没有学生" in r.get_data(as_text=True)
    assert count(Task) == 0


def test_second_audit_refused_while_first_open(ready, site_client):
    """While an audit task of the site holds the lock, a second 毕业审核 is refused with a message."""
    jxd = db.session.scalar(select(Account).where(Account.username == "jxd001"))
    db.session.add(Task(kind="graduation_audit", params={}, requested_by_id=jxd.id, org_id=jxd.org_id,
                        lock_key=tasks.lock_key_for("graduation_audit", jxd)))
    db.session.commit()
    r = bulk_post(site_client, "audit", follow_redirects=True)
    assert "已有同一范围的毕业审核任务在排队或执行中" in r.get_data(as_text=True)
    assert count(Task) == 1 and count(GraduationAudit) == 0


def test_override_needs_selection_and_reason(ready, site_client):
    """修改毕业审核结果 without ticked rows or without 核实说明 changes nothing and says why."""
    bulk_post(site_client, "audit")
    r = bulk_post(site_client, "override", form={"override_result": FAILED, "reason": "x"}, follow_redirects=True)
    assert "请先勾选要修改毕业审核结果的学生" in r.get_data(as_text=True)
    r = bulk_post(site_client, "override", ids=ready.student1.id, form={"override_result": FAILED, "reason": ""},
                  follow_redirects=True)
    assert "请填写核实说明" in r.get_data(as_text=True)
    assert audit_of(ready.student1.id).result == PRE


def test_site_cannot_change_confirmed_row_via_page(ready, site_client, ce_client):
    """After 一键确认毕业 the site's override is refused; the CE admin's correction with a reason works."""
    bulk_post(site_client, "audit")
    bulk_post(site_client, "confirm")
    assert audit_of(ready.student1.id).confirmed_at is not None
    r = bulk_post(site_client, "override", ids=ready.student1.id,
                  form={"override_result": FAILED, "reason": "重新核实"}, follow_redirects=True)
    assert "已锁定" in r.get_data(as_text=True)
    assert audit_of(ready.student1.id).result == PRE
    bulk_post(ce_client, "override", ids=ready.student1.id, form={"override_result": FAILED, "reason": "照片不合规"})
    assert audit_of(ready.student1.id).result == FAILED


def test_failed_result_opens_reasons(ready, site_client):
    """A 不合格 row links to its reasons, listed precisely in the page."""
    db.session.get(Student, ready.student1.id).photo_path = None
    db.session.commit()
    bulk_post(site_client, "audit")
    page = site_client.get(flt(result="failed")).get_data(as_text=True)
    assert f'data-target="#reasons-{ready.student1.id}"' in page and "未上传毕业照片" in page


def test_graduate_list_is_scoped(ready, site_client, site2_client, ce_client):
    """毕业生列表 shows only published graduates, each site only its own."""
    for client in (site_client, site2_client):
        bulk_post(client, "audit")
        bulk_post(client, "confirm")
    bulk_post(ce_client, "publish")
    page = site_client.get("/graduation/graduates/").get_data(as_text=True)
    assert "2020010001" in page and "2020020001" not in page
    assert audit_of(ready.student1.id).diploma_no in page and "已毕业" in page
    page2 = site2_client.get("/graduation/graduates/").get_data(as_text=True)
    assert "2020020001" in page2 and "2020010001" not in page2


def test_home_dashboard_renders(ready, site_client):
    """The home page shows the site's dashboard without external assets."""
    bulk_post(site_client, "audit")
    page = site_client.get("/").get_data(as_text=True)
    assert "按教学点" in page and "南通教学点" in page and "如皋教学点" not in page
    assert "cdn" not in page.lower()


def test_override_uses_the_chosen_result_not_the_list_filter(ready, site_client):
    """The page posts its filter ``result`` beside ``override_result``: the chosen result wins."""
    bulk_post(site_client, "override", ids=ready.student1.id, filters={"result": PRE},
              form={"override_result": FAILED, "reason": "线下核实"})
    db.session.expire_all()
    audit = db.session.scalar(select(GraduationAudit).where(GraduationAudit.student_id == ready.student1.id))
    assert audit.override_result == FAILED


def test_confirm_state_filter_is_in_the_bar_the_url_and_the_export(ready, site_client):
    """毕业审核管理's 确认状态 filter (未确认 / 已确认 / 已毕业): offered in the bar, kept in the pager's and the
    sort links' URLs, and the export of the filter carries it (the task lists only the filtered students)."""
    other = factories.student(ready.site1, ready.major1, no="2020010009", name="钱九")
    factories.grades(other, factories.ALL_PASS)
    db.session.commit()
    bulk_post(site_client, "audit")
    bulk_post(site_client, "confirm", ids=ready.student1.id)
    page = site_client.get("/graduation/audit/").get_data(as_text=True)
    assert 'name="_flt_0_confirm_state"' in page
    for code, text in (("unconfirmed", "未确认"), ("confirmed", "已确认"), ("published", "已毕业")):
        assert f'<option value="{code}" >{text}</option>' in page, code
    page = site_client.get(flt(confirm_state="confirmed")).get_data(as_text=True)
    assert "2020010001" in page and "2020010009" not in page
    assert '<option value="confirmed" selected>' in page
    assert "_flt_0_confirm_state=confirmed" in page  # sort links and page-size links keep the filter
    page = site_client.get(flt(confirm_state="unconfirmed")).get_data(as_text=True)
    assert "2020010009" in page and "2020010001" not in page
    before = count(Task)
    bulk_post(site_client, "export", filters={"confirm_state": "confirmed"})
    task = db.session.scalars(select(Task).order_by(Task.id.desc())).first()
    assert count(Task) == before + 1 and task.kind == "list_export"
    assert task.params["filters"].get("confirm_state") == "confirmed" and task.total == 1
    assert "确认状态 已确认" in task.scope_text

"""学位管理 pages: permissions per role, scope on every action, signature serving, 学生空间 degree section."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.models import DegreeApplication, DegreeBatch, Signature, Task
from app.services import degree
from tests import factories
from tests.clients import DEGREE_AUDIT, DEGREE_GRANTS, bulk_post, press

MET = "met"


acct = factories.account_named


def png(size=(160, 50)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture()
def apps(world):
    """Both students 预毕业 with passing exam and grades, applied and audited (已达标)."""
    batch = factories.degree_batch()
    ids = factories.audited_degree_applications((world.student1, world.student2), batch)
    return {"batch": batch.id, "mine": ids["2020010001"], "foreign": ids["2020020001"]}


def state(app_id: int) -> tuple:
    db.session.expire_all()
    a = db.session.get(DegreeApplication, app_id)
    return (a.result, a.override_result, a.review_opinion, a.final_at, a.published_at, a.computed_task_id)


def test_audit_page_per_role(apps, site_client, college_client, ce_client):
    """Each admin sees the page with the manual's heading and filter names, and only the scope's students."""
    page = site_client.get("/degree/audit/").get_data(as_text=True)
    assert "学位管理 / 学位审核及授予 / 学位申请审核管理" in page
    for text in ("学生申请状态", "学位申请条件是否达标", "教学点", "专业", "年级", "层次", "姓名/学号",
                 "查询", "学位外语成绩", "学位课程平均分", "手工修改", "初审意见", "终审", "学位条件审核",
                 "修改授予结论", "初审"):
        assert text in page, text
    assert "张三" in page and "李四" not in page and "批量终审" not in page
    page = college_client.get("/degree/audit/").get_data(as_text=True)
    assert "批量终审" in page and 'id="panel-review"' not in page and 'id="btn-review"' not in page
    page = ce_client.get("/degree/audit/").get_data(as_text=True)
    assert "张三" in page and "李四" in page and 'id="btn-final"' not in page and 'id="btn-review"' not in page
    # 发布 is on 学位授予管理 (its 待发布 tab), where the CE college sees the 终审 applications
    page = ce_client.get("/degree/grants/").get_data(as_text=True)
    assert 'id="btn-publish"' in page and "待发布" in page


def test_student_cannot_open_admin_pages(apps, student_client):
    """A student gets 403 on the degree admin pages and actions."""
    for url in ("/degree/audit/", "/degree/grants/", "/signature/", f"/degree/audit/application/{apps['mine']}"):
        assert student_client.get(url).status_code == 403
    assert press(student_client, "/degree/audit/audit", data={}).status_code == 403


def test_not_applied_filter_lists_students_for_registration(world, site_client):
    """学生申请状态 = 未申请 lists in-scope students of the batch scope, who can be registered (代为申请)."""
    factories.degree_batch()
    factories.graduation_result(world.student1)
    db.session.commit()
    page = site_client.get("/degree/audit/?applied=not_applied").get_data(as_text=True)
    assert "张三" in page and "李四" not in page and "代为申请" in page
    r = press(site_client, "/degree/audit/register", data={"applied": "not_applied", "ids": [world.student1.id]})
    assert r.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(DegreeApplication)) == 1


@pytest.mark.parametrize(
    ("client", "url", "extra"),
    [
        ("site_client", "/degree/audit/audit", {}),
        ("site_client", "/degree/audit/override", {"override_result": "not_met", "override_reason": "x"}),
        ("site_client", "/degree/audit/review", {"review_opinion": "agree"}),
        ("college_client", "/degree/audit/final", {}),
        ("college_client", "/degree/audit/override", {"override_result": "not_met", "override_reason": "x"}),
    ],
)
def test_foreign_ids_404_and_nothing_changes(apps, request, client, url, extra):
    """Posting another organisation's application id to any action is a 404 and changes nothing."""
    c = request.getfixturevalue(client)
    if client == "site_client":
        db.session.add(Signature(account_id=acct("jxd001").id, version=1, path="signatures/a.png", sha256="0" * 64,
                                 width=1, height=1))
        db.session.commit()
    before_mine, before_foreign = state(apps["mine"]), state(apps["foreign"])
    tasks_before = db.session.scalar(select(func.count()).select_from(Task))
    r = press(c, url, data={"ids": [apps["mine"], apps["foreign"]], **extra})
    assert r.status_code == 404
    assert (state(apps["mine"]), state(apps["foreign"])) == (before_mine, before_foreign)
    assert db.session.scalar(select(func.count()).select_from(Task)) == tasks_before


def test_register_foreign_student_404(world, site_client):
    """代为申请 for another site's student is a 404."""
    factories.degree_batch()
    factories.graduation_result(world.student2)
    db.session.commit()
    assert press(site_client, "/degree/audit/register", data={"ids": [world.student2.id]}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(DegreeApplication)) == 0


def test_detail_is_scoped(apps, site_client, site2_client, college_client):
    """The application detail page opens in scope and is a 404 for others."""
    page = site_client.get(f"/degree/audit/application/{apps['mine']}").get_data(as_text=True)
    assert "张三" in page and "审核历史" in page and "已达标" in page
    assert site2_client.get(f"/degree/audit/application/{apps['mine']}").status_code == 404
    assert college_client.get(f"/degree/audit/application/{apps['foreign']}").status_code == 404


def test_role_refusals(apps, site_client, college_client, ce_client):
    """初审 by a college admin and 终审 by a site admin are refused (403); 发布 by a site admin too."""
    resp = press(college_client, "/degree/audit/review", data={"ids": [apps["mine"]], "review_opinion": "agree"})
    assert resp.status_code == 403
    assert press(site_client, "/degree/audit/final", data={"ids": [apps["mine"]]}).status_code == 403
    assert press(site_client, "/degree/audit/publish", data={"ids": [apps["mine"]]}).status_code == 403
    r = press(ce_client, "/degree/audit/review", data={"ids": [apps["mine"]], "review_opinion": "agree"})
    assert r.status_code == 403
    assert state(apps["mine"])[2] is None


def test_refusal_is_flashed_and_changes_nothing(apps, site_client):
    """A refused action (初审 without signature) shows the reason and changes nothing."""
    r = press(site_client, "/degree/audit/review", data={"ids": [apps["mine"]], "review_opinion": "agree"},
                         follow_redirects=True)
    assert "请先上传电子签名" in r.get_data(as_text=True)
    assert state(apps["mine"])[2] is None


def test_signature_upload_and_serving(apps, site_client, site2_client, college_client, login):
    """Signatures are uploaded by the owner and served with the right type only to allowed readers."""
    r = site_client.post("/signature/upload", data={"signature": (io.BytesIO(png()), "签名.png")},
                         content_type="multipart/form-data")
    assert r.status_code == 302
    sig = db.session.scalar(select(Signature))
    url = f"/signature/image/{sig.id}"
    r = site_client.get(url)
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert site2_client.get(url).status_code == 404
    assert college_client.get(url).status_code == 404  # not used in a review of its students yet
    r = press(site_client, "/degree/audit/review", data={"ids": [apps["mine"]], "review_opinion": "agree",
                                                       "review_comment": "同意"})
    assert state(apps["mine"])[2] == "agree"
    assert college_client.get(url).status_code == 200
    assert login("xy002").get(url).status_code == 404
    assert login("2020010001").get(url).status_code == 403
    bad = site_client.post("/signature/upload", data={"signature": (io.BytesIO(b"<svg/>"), "a.png")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "不是有效的 JPEG 或 PNG" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1


def test_batch_admin_ce_only(world, ce_client, site_client, college_client):
    """学位批次 is managed by the CE admin only; level empty means both 本科 levels."""
    assert site_client.get("/degree/batches/list/").status_code == 403
    assert college_client.get("/degree/batches/add").status_code == 403
    page = ce_client.get("/degree/batches/add")
    assert page.status_code == 200 and "学位外语合格线" in page.get_data(as_text=True)
    r = ce_client.post("/degree/batches/add", data={
        "name": "2021级学位批次", "enrol_grade": "2021", "level": "", "apply_start": "2025-03-01 00:00:00",
        "apply_end": "2025-03-15 00:00:00", "language_pass_mark": "60", "course_average_mark": "75",
        "year": "2026", "grant_date": "2026-06-30"})
    assert r.status_code == 302
    b = db.session.scalar(select(DegreeBatch).where(DegreeBatch.name == "2021级学位批次"))
    assert b is not None and b.level is None and b.course_average_mark == 75
    r = ce_client.post("/degree/batches/add", data={
        "name": "坏批次", "enrol_grade": "2021", "level": "zsb", "apply_start": "2025-03-15 00:00:00",
        "apply_end": "2025-03-01 00:00:00", "language_pass_mark": "60", "course_average_mark": "70", "year": "2026"})
    assert "申请结束时间必须晚于开始时间" in r.get_data(as_text=True)
    assert db.session.scalar(select(DegreeBatch).where(DegreeBatch.name == "坏批次")) is None


def test_grant_page_scoped(apps, site_client, college_client, ce_client):
    """学位授予管理 lists only applications after 终审, within the scope; a teaching site or a college sees
    one only once the CE college published it, the CE college sees the 终审 ones in its 待发布 tab."""
    assert "张三" not in site_client.get("/degree/grants/").get_data(as_text=True)
    for a in (apps["mine"], apps["foreign"]):
        row = db.session.get(DegreeApplication, a)
        row.review_opinion, row.final_at = "agree", dt.datetime(2025, 1, 1)
    db.session.commit()
    assert "张三" not in site_client.get("/degree/grants/").get_data(as_text=True)
    assert "张三" not in college_client.get("/degree/grants/").get_data(as_text=True)
    pending = ce_client.get("/degree/grants/?_flt_0_published=no").get_data(as_text=True)
    assert "张三" in pending and "李四" in pending and "未发布" in pending and 'id="btn-publish"' in pending
    row = db.session.get(DegreeApplication, apps["mine"])
    row.published_at, row.degree_no = dt.datetime(2025, 1, 2), "1030442025000001"
    db.session.commit()
    page = site_client.get("/degree/grants/").get_data(as_text=True)
    assert "张三" in page and "李四" not in page and "1030442025000001" in page
    assert "张三" not in ce_client.get("/degree/grants/?_flt_0_published=no").get_data(as_text=True)


def test_student_space_degree_section(world, student_client):
    """学生空间 offers 申请学位 in the window, then shows 已申请 and 学位条件审核尚未进行."""
    factories.degree_batch()
    factories.graduation_result(world.student1)
    db.session.commit()
    page = student_client.get("/space/").get_data(as_text=True)
    assert "申请学位" in page and 'id="btn-apply-degree"' in page
    r = student_client.post("/space/degree/apply", follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "已申请" in page and "学位条件审核尚未进行" in page and 'id="btn-apply-degree"' not in page
    again = student_client.post("/space/degree/apply", follow_redirects=True).get_data(as_text=True)
    assert "已提交过学位申请" in again


def test_dashboard_partial_renders_degree_counts(apps, app):
    """The home dashboard's 学位 partial shows degree_counts per site and per college."""
    rows = degree.degree_counts(degree.scope_of(acct("jjy001")))
    html = app.jinja_env.get_template("degree/_dashboard.html").render(d={"degree": rows})
    assert "南通教学点" in html and "如皋教学点" in html and "管理学院" in html and "已授予" in html


# --------------------------------------------------------------------------- the one bulk-action rule


def test_override_with_nothing_ticked_is_refused(apps, site_client):
    """修改授予结论 changes results by hand: nothing ticked is refused (it used to change the whole filter)."""
    before = state(apps["mine"])
    r = press(site_client, "/degree/audit/override", data={"applied": "applied", "override_result": "not_met",
                                                         "override_reason": "线下核实"}, follow_redirects=True)
    assert "请先勾选要修改授予结论的学生" in r.get_data(as_text=True)
    assert state(apps["mine"]) == before


def test_nothing_ticked_asks_with_the_filters_count_first(apps, site_client, college_client, ce_client):
    """学位条件审核 / 批量终审 / 发布 with nothing ticked: first the server's count, nothing done; then the filter."""
    tasks_before = db.session.scalar(select(func.count()).select_from(Task))
    r = bulk_post(site_client, "audit", base=DEGREE_AUDIT, confirm=False)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "将对当前筛选的 1 条学位申请执行学位条件审核，确定吗？" in page
    assert db.session.scalar(select(func.count()).select_from(Task)) == tasks_before
    listing = site_client.get("/degree/audit/?applied=applied").get_data(as_text=True)
    assert 'data-bulk-count="1" data-bulk-confirm="将对当前筛选的 1 条学位申请执行学位条件审核，确定吗？"' in listing
    r = bulk_post(site_client, "audit", base=DEGREE_AUDIT, confirm=False, form={"confirmed": "1"})
    assert r.status_code == 302 and db.session.scalar(select(func.count()).select_from(Task)) == tasks_before + 1
    before = state(apps["mine"])
    r = bulk_post(college_client, "final", base=DEGREE_AUDIT, confirm=False)
    assert r.status_code == 200 and "将对当前筛选的 1 条学位申请批量终审" in r.get_data(as_text=True)
    assert state(apps["mine"]) == before
    r = bulk_post(ce_client, "publish", base=DEGREE_GRANTS, confirm=False)
    assert r.status_code == 302  # nothing 终审 yet: nothing to confirm, the list says so


def test_archive_export_with_nothing_ticked_asks_first(world, site_client):
    """档案导出 of the whole filter: the confirmation with the count, then the task."""
    flt = {"graduated": "all"}
    r = bulk_post(site_client, "export", base="/graduation/archive/", filters=flt, confirm=False,
                  form={"documents": ["card"]})
    assert r.status_code == 200 and "将对当前筛选的 1 名学生导出档案，确定吗？" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0
    r = bulk_post(site_client, "export", base="/graduation/archive/", filters=flt, form={"documents": ["card"]})
    assert r.status_code == 302 and db.session.scalar(select(func.count()).select_from(Task)) == 1


# --------------------------------------------------------------------------- the FAB lists (issues 13 and 16)


def test_menu_shows_the_group_header(apps, site_client):
    """学位管理 → 学位审核及授予 (a header, not a link) → 学位申请审核管理 / 学位授予管理, as the manual's path."""
    page = site_client.get("/").get_data(as_text=True)
    header = page.index('<li class="dropdown-header menu-group">学位审核及授予</li>')
    assert header < page.index("学位申请审核管理") < page.index("学位授予管理")


def test_lists_sort_and_page_in_the_url(world, apps, site_client, ce_client):
    """学号 sorts both ways through FAB's own arguments; the page size is a choice up to 200; an unknown sort
    column is refused without a 500; the former plain bar fields (?result=met) still filter."""
    base = "/degree/audit/?_oc_DegreeAuditView=student.student_no&_od_DegreeAuditView="
    asc = re.findall(r"<td>(20\d{8})</td>", ce_client.get(base + "asc").get_data(as_text=True))
    desc = re.findall(r"<td>(20\d{8})</td>", ce_client.get(base + "desc").get_data(as_text=True))
    assert asc == ["2020010001", "2020020001"] and desc == asc[::-1]
    page = ce_client.get(base + "desc&psize_DegreeAuditView=1").get_data(as_text=True)
    assert re.findall(r"<td>(20\d{8})</td>", page) == ["2020020001"] and "共 2 条，第 1 / 2 页" in page
    assert "每页 200 条" in page and "psize_DegreeAuditView=200" in page
    assert ce_client.get("/degree/audit/?_oc_DegreeAuditView=password&_od_DegreeAuditView=asc").status_code < 500
    assert "张三" not in site_client.get("/degree/audit/?result=not_met").get_data(as_text=True)
    assert "张三" in site_client.get("/degree/audit/?result=met").get_data(as_text=True)


def test_approval_forms_action_ticked_and_whole_filter(apps, site_client):
    """导出审批表 on 学位申请审核管理: ticked → a task over exactly those; nothing ticked → the count first, then the
    filter's applications; either way the task is in 任务中心 (the export's own kind)."""
    r = bulk_post(site_client, "approval_forms", base=DEGREE_AUDIT, ids=[apps["mine"]])
    assert r.status_code == 302
    task = db.session.scalars(select(Task).order_by(Task.id.desc())).first()
    assert task.kind == "degree_approval_export" and task.total == 1 and task.params["ids"] == [apps["mine"]]
    r = bulk_post(site_client, "approval_forms", base=DEGREE_AUDIT, confirm=False)
    assert r.status_code == 200
    assert "将对当前筛选的 1 条学位申请导出学士学位申请审批表，确定吗？" in r.get_data(as_text=True)
    r = bulk_post(site_client, "approval_forms", base=DEGREE_AUDIT)
    assert r.status_code == 302
    task = db.session.scalars(select(Task).order_by(Task.id.desc())).first()
    assert task.kind == "degree_approval_export" and task.total == 1 and "ids" not in task.params
    assert task.params["stage"] == "pending"
    assert "学士学位申请审批表导出" in site_client.get("/tasks/").get_data(as_text=True)

"""毕业相关 › 课程替代与免修 through the role clients: entry from the audit detail page, the list's scope and
its bulk 审核通过 / 驳回 / 撤销 on ticked rows (app/views/bulk.py), permissions."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CourseException, OperationLog
from app.statuses import ExceptionStatus
from tests import factories
from tests.clients import bulk_post

BASE = "/course_exceptions/"


@pytest.fixture()
def ready(world):
    factories.graduation_batch()
    factories.grades(world.student1, {"C01": 80, "C02": 58, "C03": 70, "E01": 90, "E02": 75, "X02": 62})
    factories.grades(world.student2, {"C01": 80, "X02": 70})
    db.session.commit()
    return world


def rows() -> list[CourseException]:
    db.session.expire_all()
    return list(db.session.scalars(select(CourseException).order_by(CourseException.id)))


def enter(client, student, **kw):
    data = {"student_no": student.student_no, "course_code": "C02", "kind": "substitute",
            "substitute_code": "X02", "reason": "旧计划课程已通过", **kw}
    return client.post(f"{BASE}new?student_id={student.id}", data=data)


def test_site_admin_enters_from_the_detail_page(ready, site_client):
    """The detail page links each course to the entry form; the form offers the plan and the passed courses;
    the entry is 待审核 and the site admin returns to the detail page."""
    s = ready.student1
    page = site_client.get(f"/graduation/audit/student/{s.id}").get_data(as_text=True)
    assert f"{BASE}new?student_id={s.id}&amp;course_code=C02" in page
    form = site_client.get(f"{BASE}new?student_id={s.id}&course_code=C02").get_data(as_text=True)
    assert "C02 大学英语（4学分）" in form and "X02 X02（62）" in form and 'value="C02" selected' in form
    resp = enter(site_client, s)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/graduation/audit/student/{s.id}")
    [row] = rows()
    assert (row.status, row.kind, row.substitute_code) == (ExceptionStatus.PENDING.value, "substitute", "X02")
    listing = site_client.get(f"{BASE}list/").get_data(as_text=True)
    assert "大学英语（以 X02 替代）" in listing and "待审核" in listing


def test_entry_refusals_change_nothing(ready, site_client, college_client):
    assert site_client.get(f"{BASE}new?student_id={ready.student2.id}").status_code == 404
    resp = enter(site_client, ready.student1, course_code="ZZ9")
    assert resp.status_code == 200 and "不在学生 2020010001 的教学计划中" in resp.get_data(as_text=True)
    resp = site_client.post(f"{BASE}new", data={"student_no": ready.student2.student_no, "course_code": "C02",
                                                "kind": "waiver", "reason": "x"})
    assert "不存在或不在您的管理范围内" in resp.get_data(as_text=True)
    assert rows() == []


def test_ce_admin_approves_ticked_rows_only(ready, site_client, ce_client):
    enter(site_client, ready.student1)
    enter(site_client, ready.student1, course_code="E01", kind="waiver")
    first, second = rows()
    # the site admin may not approve
    assert bulk_post(site_client, "approve", ids=[first.id], base=BASE).status_code == 403
    # nothing ticked: refused with a message (a hand decision needs ticks), nothing changes
    resp = bulk_post(ce_client, "approve", base=BASE)
    assert resp.status_code == 302 and [r.status for r in rows()] == ["pending", "pending"]
    resp = bulk_post(ce_client, "approve", ids=[first.id], base=BASE)
    assert resp.status_code == 302
    assert [r.status for r in rows()] == ["approved", "pending"]
    # 驳回 needs the note; with it, the ticked row only
    bulk_post(ce_client, "reject", ids=[second.id], base=BASE)
    assert rows()[1].status == "pending"
    bulk_post(ce_client, "reject", ids=[second.id], base=BASE, form={"note": "材料不全"})
    assert [r.status for r in rows()] == ["approved", "rejected"]
    actions = db.session.scalars(select(OperationLog.action).where(OperationLog.record_type == "CourseException"))
    assert sorted(actions) == ["exception_approve", "exception_create", "exception_create", "exception_reject"]


def test_out_of_scope_ticks_are_404_and_change_nothing(ready, site_client, college_client, login):
    other = login("jxd002")
    enter(other, ready.student2, course_code="C02", substitute_code="X02")
    [row] = rows()
    assert bulk_post(site_client, "revoke", ids=[row.id], base=BASE, form={"note": "x"}).status_code == 404
    assert bulk_post(college_client, "revoke", ids=[row.id], base=BASE, form={"note": "x"}).status_code == 404
    assert site_client.get(f"{BASE}show/{row.id}").status_code == 404
    assert "李四" not in site_client.get(f"{BASE}list/").get_data(as_text=True)
    assert rows()[0].status == "pending"
    # its own site admin withdraws it
    bulk_post(other, "revoke", ids=[row.id], base=BASE, form={"note": "录错课程"})
    assert rows()[0].status == "revoked"
    assert db.session.scalar(select(func.count()).select_from(OperationLog)
                             .where(OperationLog.action == "exception_revoke")) == 1


def test_students_may_not_open_it(ready, student_client):
    assert student_client.get(f"{BASE}list/").status_code == 403
    assert student_client.get(f"{BASE}new").status_code == 403

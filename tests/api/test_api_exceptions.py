"""课程替代与免修 through the REST API: list, create, approve, reject — the pages' services and scope."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CourseException
from tests import factories

CREATE = "/api/v1/course-exception/create"
APPROVE = "/api/v1/course-exception/approve"
REJECT = "/api/v1/course-exception/reject"
LIST = "/api/v1/course-exceptions/"


@pytest.fixture()
def graded(world):
    factories.grades(world.student1, {"C01": 80, "C02": 58, "X02": 62})
    factories.grades(world.student2, {"X02": 70})
    db.session.commit()
    return world


def body(**kw) -> dict:
    return {"student_no": "2020010001", "course_code": "C02", "kind": "substitute", "substitute_code": "X02",
            "reason": "旧计划课程已通过", **kw}


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(CourseException))


def test_create_list_approve(graded, api):
    site, ce = api("jxd001"), api("jjy001")
    resp = site.post(CREATE, json=body())
    assert resp.status_code == 201, resp.get_json()
    new_id = resp.get_json()["id"]
    assert resp.get_json()["detail"] == "大学英语（以 X02 替代）"
    rows = site.get(LIST).get_json()["result"]
    assert [(r["id"], r["status"], r["status_label"], r["kind_label"]) for r in rows] == [
        (new_id, "pending", "待审核", "课程替代")]
    assert api("jxd002").get(LIST).get_json()["result"] == []
    assert api("jxd002").get(f"{LIST}{new_id}").status_code == 404
    assert site.post(APPROVE, json={"ids": [new_id]}).status_code == 403
    resp = ce.post(APPROVE, json={"ids": [new_id]})
    assert resp.status_code == 200 and resp.get_json()["count"] == 1
    assert site.get(f"{LIST}{new_id}").get_json()["result"]["status"] == "approved"
    # a second approval: not pending any more → 409, nothing changes
    assert ce.post(APPROVE, json={"ids": [new_id]}).status_code == 409


def test_bad_bodies_and_scope_change_nothing(graded, api):
    site = api("jxd001")
    assert site.post(CREATE, json=body(kind="swap")).status_code == 400
    assert site.post(CREATE, json=body(extra=1)).status_code == 400
    assert site.post(CREATE, json=body(course_code="ZZ")).status_code == 400
    assert site.post(CREATE, json=body(reason="长" * 501)).status_code == 400
    resp = site.post(CREATE, json=body(student_no="2020020001"))
    assert resp.status_code == 400 and "不在您的管理范围内" in resp.get_json()["message"]
    other = api("jxd002").post(CREATE, json=body(student_no="2020020001", substitute_code="X02"))
    assert other.status_code == 201
    ce = api("jjy001")
    assert ce.post(REJECT, json={"ids": [other.get_json()["id"]]}).status_code == 400  # note required
    assert ce.post(APPROVE, json={"ids": [other.get_json()["id"], 999999]}).status_code == 404
    assert count() == 1
    assert db.session.scalar(select(CourseException.status)) == "pending"
    assert api("2020010001").post(CREATE, json=body()).status_code == 403

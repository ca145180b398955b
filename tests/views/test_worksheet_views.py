"""毕业进度 pages: the student's own worksheet (no id in the URL) and an admin's through the scope, with
what-if by GET that writes nothing; hostile what-if input answers a Chinese message, never a 500."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import GraduationAudit, OperationLog
from tests import factories

SPACE = "/space/progress"


@pytest.fixture()
def failing(world):
    """student1 failed 大学英语 (50), passed the rest; student2 passed everything."""
    factories.graduation_batch()
    factories.grades(world.student1, {"C01": 80, "C02": 50, "C03": 70, "E01": 90, "E02": 75})
    factories.grades(world.student2, factories.ALL_PASS)
    db.session.commit()
    return world.student1


def counts() -> tuple:
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(OperationLog)),
            db.session.scalar(select(func.count()).select_from(GraduationAudit)))


def test_student_sees_own_worksheet_labelled_live(failing, student_client):
    page = student_client.get(SPACE).get_data(as_text=True)
    assert "毕业进度" in page and "以教学点审核结果为准" in page
    assert "张三" in page and "李四" not in page
    assert "必修课程未通过：大学英语（4学分，最高成绩 50）" in page
    assert 'data-course="C02"' in page and "未通过" in page
    assert 'id="whatif-form"' in page and 'method="get"' in page
    assert 'id="whatif-note"' not in page


def test_student_what_if_changes_verdict_and_saves_nothing(failing, student_client):
    before = counts()
    page = student_client.get(SPACE + "?" + urlencode([("course", "C02"), ("score", "65")])).get_data(as_text=True)
    assert "不会保存任何数据" in page and 'id="whatif-note"' in page
    assert "按假设，毕业条件均已满足" in page and "必修课程未通过" not in page
    assert "假设前：" in page and "不合格" in page
    assert counts() == before
    again = student_client.get(SPACE).get_data(as_text=True)
    assert "必修课程未通过：大学英语" in again


@pytest.mark.parametrize("query", [
    [("course", "X99"), ("score", "60")],
    [("course", "C02"), ("score", "abc")],
    [("course", "C02"), ("score", "1000")],
    [("course", "C02"), ("score", "")],
    [("course", "C02"), ("score", "9" * 400)],
    [("course", "C02'; DROP TABLE grade; --"), ("score", "60")],
    [("course", "C02")] * 50 + [("score", "60")] * 50,
])
def test_hostile_what_if_is_a_message_not_a_500(failing, student_client, query):
    before = counts()
    resp = student_client.get(SPACE + "?" + urlencode(query))
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert 'id="whatif-error"' in page and "必修课程未通过：大学英语" in page
    assert counts() == before


def test_control_characters_are_refused(failing, student_client):
    resp = student_client.get(SPACE + "?" + urlencode([("course", "C02\x00"), ("score", "60")]))
    assert resp.status_code == 400


def test_admins_cannot_open_the_student_route(failing, ce_client, site_client):
    assert ce_client.get(SPACE).status_code == 403
    assert site_client.get(SPACE).status_code == 403


def test_menu_link_only_for_students(failing, student_client, ce_client, site_client):
    assert 'href="/space/progress"' in student_client.get("/space/").get_data(as_text=True)
    for client in (ce_client, site_client):
        assert 'href="/space/progress"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("username", ["jjy001", "xy001", "jxd001"])
def test_admin_worksheet_with_what_if_in_scope(failing, login, username):
    client = login(username)
    url = f"/graduation/audit/student/{failing.id}/progress"
    page = client.get(url).get_data(as_text=True)
    assert "张三" in page and "必修课程未通过：大学英语" in page and "以教学点审核结果为准" in page
    before = counts()
    page = client.get(url + "?" + urlencode([("course", "C02"), ("score", "70")])).get_data(as_text=True)
    assert "按假设，毕业条件均已满足" in page and "不会保存任何数据" in page
    assert counts() == before
    detail = client.get(f"/graduation/audit/student/{failing.id}").get_data(as_text=True)
    assert 'id="detail-whatif"' in detail and f'action="{url}"' in detail


@pytest.mark.parametrize("username", ["xy001", "jxd001", "xy002", "jxd002"])
def test_admin_worksheet_of_another_organisation_is_404(world, failing, login, username):
    other = world.student2 if username.endswith("1") else world.student1
    resp = login(username).get(f"/graduation/audit/student/{other.id}/progress?course=C02&score=70")
    assert resp.status_code == 404


def test_student_cannot_open_the_admin_route(failing, student_client):
    assert student_client.get(f"/graduation/audit/student/{failing.id}/progress").status_code == 403


def test_worksheet_in_english(failing, student_client):
    """The English switch translates the worksheet's own labels; the default stays Chinese."""
    student_client.get("/lang/en")
    page = student_client.get(SPACE + "?course=C02&score=65").get_data(as_text=True)
    assert "Graduation progress" in page and "nothing is saved" in page and "Expected outcome" in page
    assert "预计结论" not in page


def test_graduate_sees_graduated_not_an_expected_outcome(failing, student_client):
    factories.graduation_result(failing, "pre_graduate", published=True)
    db.session.commit()
    page = student_client.get(SPACE).get_data(as_text=True)
    assert 'id="ws-result">已毕业<' in page and "预计结论" not in page and "尚缺" not in page
    assert 'data-course="C02"' in page and 'id="whatif-form"' in page

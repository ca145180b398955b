"""学生空间 · 毕业: own status and reasons, photo upload form, 毕业生登记表 (SPEC §1, §2)."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import GraduateForm, Student
from app.statuses import FormState, RoleName
from tests import factories
from tests.clients import bulk_post


@pytest.fixture()
def newcomer(world):
    """A 2020 高起本 student of site 1 with no form and no photo, with a student account."""
    s = factories.student(world.site1, world.major1, no="2020010008", name="陈八", photo=False, form=None)
    factories.account("2020010008", RoleName.STUDENT, student=s)
    factories.graduation_batch()
    db.session.commit()
    return s


def test_space_shows_forms_and_status(newcomer, login):
    """The student sees 未审核, the photo upload form and an editable 毕业生登记表 with 提交."""
    page = login("2020010008", "student").get("/space/").get_data(as_text=True)
    for text in ["毕业状态：", "未审核", 'action="/space/photo"', 'name="photo"', 'action="/space/form"',
                 'name="self_assessment"', 'value="1"', "提交", "尚未上传毕业照片"]:
        assert text in page, text


def test_student_submits_form_then_cannot_edit(newcomer, login):
    """Submitting the 自我鉴定 stores it as 已提交; a second post cannot change it."""
    client = login("2020010008", "student")
    client.post("/space/form", data={"self_assessment": "认真学习，遵纪守法。", "submit": "1"})
    form = db.session.scalar(select(GraduateForm).where(GraduateForm.student_id == newcomer.id))
    assert (form.state, form.self_assessment) == (FormState.SUBMITTED.value, "认真学习，遵纪守法。")
    r = client.post("/space/form", data={"self_assessment": "改写", "submit": "1"}, follow_redirects=True)
    assert "毕业生登记表已提交，不能再修改" in r.get_data(as_text=True)
    assert db.session.scalar(select(GraduateForm.self_assessment).where(GraduateForm.student_id == newcomer.id)) \
        == "认真学习，遵纪守法。"
    page = client.get("/space/").get_data(as_text=True)
    assert "认真学习，遵纪守法。" in page and 'name="self_assessment"' not in page


def test_empty_self_assessment_cannot_be_submitted(newcomer, login):
    """An empty 自我鉴定 is refused with a message and nothing is stored."""
    r = login("2020010008", "student").post("/space/form", data={"self_assessment": " ", "submit": "1"},
                                           follow_redirects=True)
    assert "请填写自我鉴定后再提交" in r.get_data(as_text=True)
    assert db.session.scalar(select(GraduateForm).where(GraduateForm.student_id == newcomer.id)) is None


def test_uploaded_photo_is_shown(newcomer, login):
    """After uploading a photo the page shows it through the scoped photo route."""
    buf = io.BytesIO()
    Image.new("RGB", (60, 80), "white").save(buf, "JPEG")
    client = login("2020010008", "student")
    client.post("/space/photo", data={"photo": (io.BytesIO(buf.getvalue()), "照片.jpg")},
                content_type="multipart/form-data")
    assert db.session.get(Student, newcomer.id).photo_path
    page = client.get("/space/").get_data(as_text=True)
    assert 'src="/space/photo/view"' in page


def test_space_lists_reasons_after_audit(newcomer, login, site_client):
    """Once audited, the student reads every reason of their 不合格 result."""
    bulk_post(site_client, "audit", filters={"q": "2020010008"})
    page = login("2020010008", "student").get("/space/").get_data(as_text=True)
    assert "不合格" in page and "必修课程未通过：高等数学（4学分）" in page and "未上传毕业照片" in page


def _degree_section(page: str) -> str:
    return page[page.index('id="degree-section"'):]


@pytest.mark.parametrize("result,button,sentence", [
    (None, False, "你的毕业审核结果为未审核，暂不能申请学位。"),
    ("failed", False, "你的毕业审核结果为不合格，暂不能申请学位。"),
    ("pre_graduate", True, None),
])
def test_apply_button_only_when_the_student_may_apply(newcomer, login, result, button, sentence):
    """申请学位 appears only when the application would be accepted; otherwise one sentence to the student."""
    factories.degree_batch()
    if result is not None:
        factories.graduation_result(newcomer, result)
    db.session.commit()
    section = _degree_section(login("2020010008", "student").get("/space/").get_data(as_text=True))
    assert ('id="btn-apply-degree"' in section) is button
    if sentence:
        assert sentence in section and "该生" not in section


def test_closed_degree_window_says_when(newcomer, login):
    """A 预毕业 student outside the application window reads the window, addressed to them; no button."""
    factories.degree_batch(open_now=False)
    factories.graduation_result(newcomer)
    db.session.commit()
    section = _degree_section(login("2020010008", "student").get("/space/").get_data(as_text=True))
    assert 'id="btn-apply-degree"' not in section
    assert re.search(r"学位申请时间为 2024-03-01[^，]* 至 2024-03-15[^，]*，现在不在申请时间内，暂不能申请学位。",
                     section)


@pytest.mark.parametrize("published,confirmed,line", [
    (False, False, "毕业状态：<strong class=\"state-pre_graduate\">预毕业</strong>（等待教学点确认毕业）"),
    (False, True, "毕业状态：<strong class=\"state-confirmed\">已确认</strong>（教学点已确认毕业，等待继教院发布）"),
    (True, True, "毕业状态：<strong class=\"state-published\">已毕业</strong>"),
])
def test_one_graduation_status_line(newcomer, login, published, confirmed, line):
    """One state, not 毕业审核结果 and 确认状态 side by side (app.audit.confirmation.graduation_state)."""
    import datetime as dt

    row = factories.graduation_result(newcomer, published=published)
    if confirmed:
        row.confirmed_at = dt.datetime(2024, 12, 1)
    db.session.commit()
    page = login("2020010008", "student").get("/space/").get_data(as_text=True)
    assert line in page
    assert "确认状态：" not in page and "毕业审核结果：" not in page

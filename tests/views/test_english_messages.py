"""English mode: the sentences the product builds in Python (services and views) read in English too.

The msgids are the Chinese sentences with named placeholders (app/i18n.py); the labels put into them (结果,
层次, summary keys) are translated as well. Chinese mode keeps the manual's words: the existing tests that
assert them (test_graduation_student_space, test_graduation_service, test_tasks_center …) stay as they are.
"""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import GraduationBatch, Task
from app.statuses import GraduationResult, Level, RoleName
from tests import factories
from tests.clients import bulk_post

PRE = GraduationResult.PRE_GRADUATE.value
FAILED = GraduationResult.FAILED.value
CLOSED_WINDOW = "2024-11-25 00:00:00 to 2024-12-06 00:00:00"


def _degree_section(page: str) -> str:
    return html.unescape(page[page.index('id="degree-section"'):])


def _no_chinese_in(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is None


@pytest.fixture()
def newcomer(world):
    """A 2020 高起本 student of site 1 with a student account and an open degree batch."""
    s = factories.student(world.site1, world.major1, no="2020010008", name="陈八", photo=False, form=None)
    factories.account("2020010008", RoleName.STUDENT, student=s)
    factories.graduation_batch()
    return s


@pytest.fixture()
def ready(world):
    """An open 2020 高起本 graduation batch; student1 (site 1) passes everything."""
    factories.graduation_batch()
    factories.grades(world.student1, factories.ALL_PASS)
    db.session.commit()
    return world


def english(client):
    """The client's session switched to English, as the language menu does."""
    assert client.get("/lang/en").status_code == 302
    return client


def flashed(resp) -> list[str]:
    """The flash messages of a page (FAB's alert boxes), whitespace collapsed."""
    page = resp.get_data(as_text=True)
    boxes = re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>|&times;", " ", b)).split()) for b in boxes]


def test_why_not_sentence_names_the_graduation_result_in_english(newcomer, login):
    """A 不合格 student reads why they cannot apply, with the result label in English; Chinese by default."""
    factories.degree_batch()
    factories.graduation_result(newcomer, FAILED)
    db.session.commit()
    client = login("2020010008", "student")
    section = _degree_section(client.get("/space/?_l_=en").get_data(as_text=True))
    sentence = "Your graduation audit result is Not qualified; you cannot apply for a degree yet."
    assert sentence in section and "不合格" not in section
    assert "你的毕业审核结果为不合格，暂不能申请学位。" in _degree_section(client.get("/space/").get_data(as_text=True))


def test_why_not_sentence_for_an_unaudited_student_and_a_closed_window(newcomer, login):
    """未审核 reads Not audited; a 预毕业 student outside the window reads the window with "to", in English."""
    factories.degree_batch(open_now=False)
    db.session.commit()
    client = login("2020010008", "student")
    section = _degree_section(client.get("/space/?_l_=en").get_data(as_text=True))
    assert "Your graduation audit result is Not audited; you cannot apply for a degree yet." in section
    factories.graduation_result(newcomer)
    db.session.commit()
    section = _degree_section(client.get("/space/?_l_=en").get_data(as_text=True))
    assert re.search(r"Degree applications are open 2024-03-01 [\d:]+ to 2024-03-15 [\d:]+; it is outside that "
                     r"period now, so you cannot apply for a degree yet\.", section), section


def test_why_not_sentence_names_the_level_in_english(world, login):
    """A 高起专 student reads that their level, in English, leads to no bachelor's degree."""
    s = factories.student(world.site1, world.major1, no="2020010009", name="周九", level=Level.HIGH_TO_JUNIOR)
    factories.account("2020010009", RoleName.STUDENT, student=s)
    db.session.commit()
    client = login("2020010009", "student")
    section = _degree_section(client.get("/space/?_l_=en").get_data(as_text=True))
    assert ("Your level is High school to junior college, which does not lead to a bachelor's degree; "
            "you cannot apply for a degree.") in section
    assert "你的层次为高起专，不授予学士学位，不能申请学位。" in client.get("/space/").get_data(as_text=True)


def test_confirm_refusal_names_the_batch_in_english(ready, site_client):
    """一键确认毕业 outside the window: the refusal names the batch, its window and the count, in English."""
    client = english(site_client)
    bulk_post(client, "audit")
    batch = db.session.scalars(select(GraduationBatch)).one()
    batch.confirm_start, batch.confirm_end = dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6)
    db.session.commit()
    messages = flashed(bulk_post(client, "confirm", follow_redirects=True))
    refusal = ("2020 intake High school to bachelor's batch is outside its graduation confirmation period "
               f"({CLOSED_WINDOW}); 1 student(s) not confirmed")
    assert refusal in messages, messages
    assert all(_no_chinese_in(m) for m in messages), messages


def test_confirm_refusal_in_chinese_by_default(ready, site_client):
    """The same refusal keeps the manual's Chinese words without the switch."""
    bulk_post(site_client, "audit")
    batch = db.session.scalars(select(GraduationBatch)).one()
    batch.confirm_start, batch.confirm_end = dt.datetime(2024, 11, 25), dt.datetime(2024, 12, 6)
    db.session.commit()
    messages = flashed(bulk_post(site_client, "confirm", follow_redirects=True))
    assert ("2020级 高起本 批次不在确认毕业时间内（2024-11-25 00:00:00 至 2024-12-06 00:00:00），未确认 1 名"
            in messages), messages


def test_confirm_success_in_english(ready, site_client):
    """一键确认毕业 inside the window says how many were confirmed, in English."""
    client = english(site_client)
    bulk_post(client, "audit")
    messages = flashed(bulk_post(client, "confirm", follow_redirects=True))
    assert ("Graduation confirmed for 1 student(s); the list has been submitted to the School of Continuing "
            "Education") in messages, messages


def test_re_audit_summary_in_english_stored_in_chinese(ready, site_client, ce_client):
    """A re-audit that keeps a hand-set result: the task center says so in English, the stored summary and the
    Chinese page keep the Chinese words (the task ran inline inside the English request)."""
    english(site_client)
    bulk_post(site_client, "audit")
    bulk_post(ce_client, "override", ids=ready.student1.id, form={"override_result": FAILED, "reason": "照片不合规"})
    bulk_post(site_client, "audit")
    task = db.session.scalars(select(Task).where(Task.kind == "graduation_audit").order_by(Task.id.desc())).first()
    assert task.summary == {"预毕业": 0, "不合格": 1, "保留手工修改结果": 1}
    page = site_client.get("/tasks/").get_data(as_text=True)
    assert "Provisional graduate 0, Not qualified 1; 1 of them kept their hand-set result" in page
    page = site_client.get("/tasks/?_l_=zh").get_data(as_text=True)
    assert "预毕业 0，不合格 1；其中 1 名保留手工修改结果" in page


def test_summary_with_several_results_in_english(world, site_client):
    """The 56/26/1 example of the manual, every key and separator in English."""
    from tests.views.test_tasks_center import make_task

    make_task("jxd001", "范围-复审", kind="graduation_audit",
              summary={"预毕业": 56, "不合格": 26, "保留手工修改结果": 1}, done=82, total=82)
    page = site_client.get("/tasks/?_l_=en").get_data(as_text=True)
    assert "Provisional graduate 56, Not qualified 26; 1 of them kept their hand-set result" in page


def test_bulk_action_flashes_in_english(ready, site_client):
    """修改毕业审核结果 and 导出 on the list say what they did in English, with the count."""
    client = english(site_client)
    bulk_post(client, "audit")
    messages = flashed(bulk_post(client, "override", ids=ready.student1.id,
                                 form={"override_result": FAILED, "reason": "照片不合规"}, follow_redirects=True))
    assert "Graduation audit result changed for 1 student(s)" in messages, messages
    messages = flashed(bulk_post(client, "export", follow_redirects=True))
    assert "Export task submitted; view and download it in the task center" in messages, messages
    messages = flashed(bulk_post(client, "override", form={"override_result": FAILED, "reason": "x"},
                                 follow_redirects=True))
    assert any(m.startswith('Tick the students first: "') and _no_chinese_in(m) for m in messages), messages


def test_bulk_action_refusal_in_english(ready, site_client):
    """A refused override (no 核实说明) explains itself in English, naming the missing field."""
    client = english(site_client)
    bulk_post(client, "audit")
    messages = flashed(bulk_post(client, "override", ids=ready.student1.id,
                                 form={"override_result": FAILED, "reason": ""}, follow_redirects=True))
    assert any(m.startswith("Please fill in the ") and _no_chinese_in(m) for m in messages), messages


def test_degree_register_flash_in_english(world, ce_client):
    """代为申请 on 学位申请审核管理 (未申请) says how many applications it submitted, in English."""
    factories.degree_batch()
    factories.graduation_result(world.student1)
    db.session.commit()
    client = english(ce_client)
    messages = flashed(bulk_post(client, "register", ids=world.student1.id, base="/degree/audit/unapplied/",
                                 follow_redirects=True))
    assert "Degree applications submitted on behalf of 1 student(s)" in messages, messages


def test_student_space_apply_and_password_change_in_english(newcomer, login):
    """学生空间's 申请学位 and 修改密码 answer in English; a wrong old password is refused in English."""
    factories.degree_batch()
    factories.graduation_result(newcomer)
    db.session.commit()
    client = english(login("2020010008", "student"))
    assert "Degree application submitted" in flashed(client.post("/space/degree/apply", follow_redirects=True))
    again = flashed(client.post("/space/degree/apply", follow_redirects=True))
    assert "陈八 has already applied for a degree" in again, again
    r = client.post("/account/password", data={"old_password": "wrong", "new_password": "Abcdef12",
                                               "confirm_password": "Abcdef12"})
    assert "The current password is wrong" in r.get_data(as_text=True)
    r = client.post("/account/password", data={"old_password": factories.PASSWORD, "new_password": "Abcdef12x9",
                                               "confirm_password": "Abcdef12x9"}, follow_redirects=True)
    assert "Password changed" in flashed(r), flashed(r)


def test_student_space_labels_in_english(newcomer, login):
    """学生空间's status line, form state, level and enrolment status use the same English labels."""
    factories.graduation_result(newcomer)
    db.session.commit()
    client = login("2020010008", "student")
    page = html.unescape(client.get("/space/?_l_=en").get_data(as_text=True))
    assert '<strong class="state-pre_graduate">Provisional graduate</strong>' in page
    assert "High school to bachelor's" in page and "Enrolled" in page and "（Not submitted）" in page
    page = client.get("/space/").get_data(as_text=True)
    assert '<strong class="state-pre_graduate">预毕业</strong>' in page and "高起本" in page and "在籍" in page


def _cells(page: str) -> list[str]:
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)]


def test_list_cells_show_status_labels_in_english(world, site_client):
    """毕业审核管理 in English: 层次, 毕业审核结果 and 确认状态 of each row in English (the headers already were);
    names from the data stay Chinese; Chinese by default."""
    factories.graduation_result(world.student1)
    db.session.commit()
    cells = _cells(english(site_client).get("/graduation/audit/").get_data(as_text=True))
    assert {"High school to bachelor's", "Provisional graduate", "Unconfirmed"} <= set(cells), cells
    assert "张三" in cells and not {"高起本", "预毕业", "未确认"} & set(cells)
    site_client.get("/lang/zh")
    cells = _cells(site_client.get("/graduation/audit/").get_data(as_text=True))
    assert {"高起本", "预毕业", "未确认"} <= set(cells)


def test_every_status_label_has_english():
    """Every label of app.statuses (shown in list cells through the ``word`` filter) is in the en catalogue."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    from app.statuses import _LABEL_LIST

    po = Path(__file__).resolve().parents[2] / "app/translations/en/LC_MESSAGES/messages.po"
    with po.open("rb") as f:
        catalogue = read_po(f)
    missing = sorted({text for _member, text in _LABEL_LIST if not getattr(catalogue.get(text), "string", "")})
    assert missing == []


def test_degree_list_heading_and_filter_options_in_english(world, ce_client):
    """学位申请审核管理 in English: the breadcrumb and the bar's option texts (层次, 学生申请状态, 毕业审核结果 on
    毕业审核管理) in English; the data (batch names) as entered."""
    factories.degree_batch()
    db.session.commit()
    page = html.unescape(english(ce_client).get("/degree/audit/").get_data(as_text=True))
    heading = re.search(r'id="degree-breadcrumb">(.*?)</h3>', page).group(1)
    assert re.search(r"[A-Za-z]", heading) and not re.search(r"[\u4e00-\u9fff]", heading), heading
    options = re.findall(r"<option[^>]*>([^<]*)</option>", page)
    assert {"High school to bachelor's", "Applied", "Not applied"} <= set(options), options
    assert not {"高起本", "已申请", "未申请"} & set(options)
    graduation = html.unescape(ce_client.get("/graduation/audit/").get_data(as_text=True))
    assert "Provisional graduate" in re.findall(r"<option[^>]*>\s*([^<]*?)\s*</option>", graduation)

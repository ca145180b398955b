"""Staff self-service (issue 16): 修改密码 in the user menu, 用户信息 in Chinese without the placeholder
e-mail, and one's own 电子邮箱 / 手机号 — validated, logged."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import OperationLog
from app.models.account import Account


def account(username: str) -> Account:
    db.session.expire_all()
    return db.session.scalar(select(Account).where(Account.username == username))


def contact_logs() -> list[OperationLog]:
    return list(db.session.scalars(select(OperationLog).where(OperationLog.action == "contact_update")
                                   .order_by(OperationLog.id)))


def user_menu(page: str) -> str:
    return re.search(r'<li class="dropdown" id="user-menu">(.*?)</ul>', page, re.S).group(1)


def test_user_menu_offers_password_change_to_every_account(world, site_client, ce_client, student_client):
    """修改密码 → /account/password in the user menu of staff (with 用户信息) and of students (without)."""
    for client in (site_client, ce_client):
        menu = user_menu(client.get("/").get_data(as_text=True))
        assert 'href="/account/password"' in menu and "修改密码" in menu
        assert 'href="/users/userinfo/"' in menu and "用户信息" in menu
    menu = user_menu(student_client.get("/account/password").get_data(as_text=True))
    assert 'href="/account/password"' in menu and "/users/userinfo/" not in menu


def test_user_info_is_in_chinese_without_placeholder_email(world, site_client, college_client):
    """角色 and 所属机构 as words, not "[SiteAdmin]"; the placeholder e-mail is shown as 未设置."""
    page = site_client.get("/users/userinfo/").get_data(as_text=True)
    table = re.search(r'<table[^>]*id="userinfo">(.*?)</table>', page, re.S).group(1)
    assert "教学点管理员" in table and "南通教学点" in table and "13900000000" in table
    assert "SiteAdmin" not in page and "accounts.invalid" not in page and "未设置" in table
    page = college_client.get("/users/userinfo/").get_data(as_text=True)
    assert "学院管理员" in page and "管理学院" in page and "CollegeAdmin" not in page


def test_staff_set_their_email_and_mobile_logged(world, site_client):
    r = site_client.post("/account/contact", data={"email": "Wang.Li@ntu.edu.cn", "mobile": "13912345678"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/users/userinfo/")
    me = account("jxd001")
    assert me.email == "Wang.Li@ntu.edu.cn" and me.mobile == "13912345678"
    logs = contact_logs()
    assert [(x.actor_name, x.old_value, x.new_value) for x in logs] == [
        ("jxd001", "电子邮箱：未设置", "电子邮箱：Wang.Li@ntu.edu.cn"),
        ("jxd001", "手机号：13900000000", "手机号：13912345678")]
    page = site_client.get("/users/userinfo/").get_data(as_text=True)
    assert "已保存：电子邮箱、手机号" in page and "Wang.Li@ntu.edu.cn" in page


def test_bad_contact_is_refused_in_chinese_and_changes_nothing(world, site_client, ce_client):
    ce_client.post("/account/contact", data={"email": "office@ntu.edu.cn", "mobile": "13900000000"})
    before = (account("jxd001").email, account("jxd001").mobile, len(contact_logs()))
    for data, message in [
        ({"email": "not-an-email", "mobile": "13912345678"}, "电子邮箱格式不正确"),
        ({"email": "a@b.cn", "mobile": "12345"}, "手机号应为 11 位数字"),
        ({"email": "jxd001@accounts.invalid", "mobile": "13912345678"}, "请填写真实的电子邮箱"),
        ({"email": "OFFICE@ntu.edu.cn", "mobile": "13912345678"}, "该电子邮箱已被其他账号使用"),
        ({"email": "a\x01@b.cn", "mobile": "13912345678"}, None),
    ]:
        r = site_client.post("/account/contact", data=data)
        assert r.status_code in (302, 400), data
        if message:
            assert message in site_client.get("/users/userinfo/").get_data(as_text=True)
    assert (account("jxd001").email, account("jxd001").mobile, len(contact_logs())) == before


def test_a_student_cannot_use_the_staff_contact_form(world, student_client):
    before = account("2020010001").mobile
    student_client.post("/account/contact", data={"email": "me@example.com", "mobile": "13912345678"})
    assert account("2020010001").mobile == before and not contact_logs()
    assert db.session.scalar(select(func.count()).select_from(OperationLog)
                             .where(OperationLog.action == "contact_update")) == 0

"""系统管理 and 基础数据 (CE admin only) and the read-only, scoped 操作日志."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Account, Major, OperationLog, Organisation
from app.models.base import utcnow
from app.services import oplog
from app.statuses import OrgKind, RoleName
from tests.test_auth import Browser, logged_in


def acc(username: str) -> Account | None:
    db.session.expire_all()
    return db.session.query(Account).filter_by(username=username).one_or_none()


def new_account(ce_client, **data):
    base = {"username": "jxd100", "name": "新管理员", "role": RoleName.SITE_ADMIN.value, "org": "",
            "student_no": "", "mobile": "13911112222"}
    base.update(data)
    return ce_client.post("/accounts/add", data=base)


def test_ce_creates_site_admin_with_initial_password(app, world, ce_client):
    """A new account gets edu@<手机号>, must change it at first login, and the creation is logged."""
    resp = new_account(ce_client, org=str(world.site1.id))
    assert resp.status_code == 302
    a = acc("jxd100")
    assert a.org_id == world.site1.id and a.must_change_password and [r.name for r in a.roles] == ["SiteAdmin"]
    assert db.session.query(OperationLog).filter_by(action="account_create", record_id=a.id).count() == 1
    b = Browser(app)
    resp = b.login("jxd100", "edu@13911112222")
    assert logged_in(resp) and resp.headers["Location"].endswith("/account/password")


@pytest.mark.parametrize("role,org_attr", [
    (RoleName.SITE_ADMIN, "college1"),
    (RoleName.COLLEGE_ADMIN, "site1"),
    (RoleName.CE_ADMIN, "college1"),
    (RoleName.SITE_ADMIN, None),
])
def test_org_must_fit_the_role(world, ce_client, role, org_attr):
    """教学点管理员 needs a 教学点, 学院管理员 a 二级学院, 继教院管理员 the 继续教育学院; nothing is created
    otherwise."""
    org = getattr(world, org_attr).id if org_attr else ""
    new_account(ce_client, role=role.value, org=str(org))
    assert acc("jxd100") is None


def test_student_account_by_student_no(world, ce_client):
    """A student account links the student by 学号 and has no organisation; a second one is refused."""
    from tests import factories

    s = factories.student(world.site1, world.major1, no="2020010055", name="孙八")
    db.session.commit()
    assert new_account(ce_client, username="2020010055", role=RoleName.STUDENT.value,
                       org=str(world.site1.id)).status_code == 302
    a = acc("2020010055")
    assert a.student_id == s.id and a.org_id is None
    new_account(ce_client, username="other55", role=RoleName.STUDENT.value, student_no="2020010055")
    assert acc("other55") is None
    new_account(ce_client, username="9999999999", role=RoleName.STUDENT.value)
    assert acc("9999999999") is None


def test_duplicate_username_refused(world, ce_client):
    """An existing username is not created twice."""
    new_account(ce_client, username="jxd001", org=str(world.site1.id))
    assert db.session.query(Account).filter_by(username="jxd001").count() == 1


def test_edit_disables_unlocks_and_resets(app, world, ce_client):
    """停用, 解除锁定 and 重置密码 work and each is logged; the reset forces a change again."""
    a = acc("jxd002")
    a.locked_until = utcnow() + dt.timedelta(minutes=10)
    a.fail_login_count = 5
    db.session.commit()
    ce_client.post(f"/accounts/edit/{a.id}", data={"active": "y", "unlock": "y"})
    a = acc("jxd002")
    assert a.locked_until is None and a.fail_login_count == 0 and a.active
    ce_client.post(f"/accounts/edit/{a.id}", data={"active": "y", "reset_password": "y"})
    a = acc("jxd002")
    assert a.must_change_password
    assert logged_in(Browser(app).login("jxd002", "edu@13900000000"))
    ce_client.post(f"/accounts/edit/{a.id}", data={})  # unticked 是否启用 = disable
    assert acc("jxd002").active is False
    assert not logged_in(Browser(app).login("jxd002", "edu@13900000000"))
    logs = db.session.scalars(select(OperationLog.new_value).where(OperationLog.action == "account_update",
                                                                   OperationLog.record_id == a.id)).all()
    assert sorted(logs) == sorted(["解除锁定", "重置为初始密码", "停用账号"])


def test_ce_cannot_disable_itself(world, ce_client):
    """The CE admin cannot lock itself out by disabling its own account."""
    me = acc("jjy001")
    ce_client.post(f"/accounts/edit/{me.id}", data={})
    assert acc("jjy001").active is True


def test_admin_pages_are_ce_only(world, site_client, college_client, student_client):
    """Site, college admins and students get 403 on accounts, organisations, majors and FAB's user admin."""
    for client in (site_client, college_client, student_client):
        for url in ("/accounts/list/", "/accounts/add", "/organisations/list/", "/majors/list/", "/users/list/",
                    "/roles/list/"):
            assert client.get(url).status_code == 403, url
        assert client.post("/organisations/add", data={"code": "X", "name": "X", "kind": "site"}).status_code == 403


def test_fab_security_menu_hidden(world, ce_client):
    """FAB's English security menus are not in the menu; 账号管理 is."""
    page = ce_client.get("/").get_data(as_text=True)
    assert "List Users" not in page and "List Roles" not in page and "账号管理" in page
    assert ce_client.get("/users/list/").status_code == 403  # not even by URL: accounts change through 账号管理 only


def test_organisation_tree_rules(world, ce_client):
    """二级学院 and 教学点 hang under the 继续教育学院; a college cannot own a major otherwise."""
    ce_client.post("/organisations/add", data={"code": "S9", "name": "海门教学点", "kind": "site",
                                               "parent": str(world.ce.id)})
    assert db.session.scalar(select(Organisation).where(Organisation.code == "S9")).kind == OrgKind.SITE.value
    ce_client.post("/organisations/add", data={"code": "S8", "name": "孤立教学点", "kind": "site", "parent": ""})
    assert db.session.scalar(select(Organisation).where(Organisation.code == "S8")) is None
    ce_client.post("/majors/add", data={"code": "M9", "name": "会计学", "college": str(world.site1.id)})
    assert db.session.scalar(select(Major).where(Major.code == "M9")) is None
    ce_client.post("/majors/add", data={"code": "M9", "name": "会计学", "college": str(world.college1.id)})
    assert db.session.scalar(select(Major).where(Major.code == "M9")).college_id == world.college1.id


@pytest.fixture()
def logs(world):
    """One entry about each site's student, one by jxd001 about an account, one system entry."""
    jxd001 = acc("jxd001")
    oplog.record(actor=acc("jjy001"), action="graduation_override", record=world.student1, old="不合格",
                 new="预毕业", reason="核实-南通")
    oplog.record(actor=acc("jjy001"), action="graduation_override", record=world.student2, old="不合格",
                 new="预毕业", reason="核实-如皋")
    oplog.record(actor=jxd001, action="signature_upload", record_type="Signature", record_id=1, reason="本人签名")
    oplog.record(actor=None, action="account_locked", record_type="Account", record_id=99, reason="系统锁定")
    db.session.commit()


def test_oplog_is_scoped(logs, site_client, college_client, ce_client, login):
    """A site/college admin reads entries about its students and its own actions; CE reads all."""
    page = site_client.get("/oplog/list/").get_data(as_text=True)
    assert "核实-南通" in page and "本人签名" in page and "核实-如皋" not in page and "系统锁定" not in page
    assert "修改毕业审核结果" in page  # action shown by its Chinese label
    page = login("jxd002").get("/oplog/list/").get_data(as_text=True)
    assert "核实-如皋" in page and "核实-南通" not in page and "本人签名" not in page
    page = college_client.get("/oplog/list/").get_data(as_text=True)
    assert "核实-南通" in page and "核实-如皋" not in page
    page = ce_client.get("/oplog/list/").get_data(as_text=True)
    assert all(s in page for s in ("核实-南通", "核实-如皋", "本人签名", "系统锁定"))
    other = db.session.scalar(select(OperationLog.id).where(OperationLog.reason == "核实-如皋"))
    assert site_client.get(f"/oplog/show/{other}").status_code == 404


def test_oplog_filters(logs, ce_client, world):
    """操作日志 filters by 学号, 操作类型 and 操作人."""
    page = ce_client.get("/oplog/list/?_flt_0_student_id=2020020001").get_data(as_text=True)
    assert "核实-如皋" in page and "核实-南通" not in page
    page = ce_client.get("/oplog/list/?_flt_0_action=signature_upload").get_data(as_text=True)
    assert "本人签名" in page and "核实-南通" not in page
    page = ce_client.get("/oplog/list/?_flt_0_actor_name=jxd001").get_data(as_text=True)
    assert "本人签名" in page and "核实-南通" not in page


def test_nobody_edits_the_oplog(logs, ce_client):
    """Even the CE admin has no add, edit or delete on 操作日志: the routes do not exist."""
    entry = db.session.scalar(select(OperationLog.id))
    count = db.session.query(OperationLog).count()
    assert ce_client.get("/oplog/add").status_code == 404
    assert ce_client.post(f"/oplog/edit/{entry}", data={"reason": "改"}).status_code == 404
    assert ce_client.post(f"/oplog/delete/{entry}").status_code == 404
    assert ce_client.post("/oplog/action_post", data={"action": "muldelete", "rowid": [str(entry)]}).status_code == 404
    page = ce_client.get("/oplog/list/").get_data(as_text=True)
    assert "/oplog/edit/" not in page and "/oplog/delete/" not in page and "/oplog/add" not in page
    assert db.session.query(OperationLog).count() == count

"""Login: lockout, no user enumeration, two entrances, forced change of the initial password, rules."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from app.extensions import db
from app.models import Account
from app.models.base import utcnow
from app.statuses import RoleName
from app.views.login import login_failed_message
from tests import factories

INITIAL = "edu@13900000000"


class Browser:
    """An anonymous test client that logs in through the login form, CSRF token included."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def get(self, url, **kw):
        with self.app.app_context():
            return self.client.get(url, **kw)

    def token(self, url="/login/") -> str:
        page = self.get(url).get_data(as_text=True)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    def login(self, username, password, login_type="org"):
        data = {"username": username, "password": password, "login_type": login_type,
                "csrf_token": self.token(f"/login/?type={login_type}")}
        with self.app.app_context():
            resp = self.client.post(f"/login/?type={login_type}", data=data)
        db.session.expire_all()
        return resp

    def post(self, url, data):
        data = dict(data)
        data.setdefault("csrf_token", self.token("/account/password"))
        with self.app.app_context():
            resp = self.client.post(url, data=data)
        db.session.expire_all()
        return resp

    def flashed(self) -> str:
        with self.client.session_transaction() as sess:
            return " ".join(msg for _cat, msg in sess.get("_flashes", []))


def logged_in(resp) -> bool:
    return resp.status_code == 302 and "/login" not in resp.headers["Location"]


def account(username) -> Account:
    return db.session.query(Account).filter_by(username=username).one()


def test_lockout_after_five_failures(app, world):
    """Five wrong passwords lock the account; the right one then fails too until the lock expires."""
    b = Browser(app)
    for _ in range(5):
        assert not logged_in(b.login("jxd001", "wrong-password1"))
    acc = account("jxd001")
    assert acc.locked_until is not None and acc.locked_until > utcnow() + dt.timedelta(minutes=14)
    assert not logged_in(b.login("jxd001", factories.PASSWORD))
    acc.locked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert logged_in(b.login("jxd001", factories.PASSWORD))
    acc = account("jxd001")
    assert acc.fail_login_count == 0 and acc.locked_until is None


def test_lock_is_logged(app, world):
    """The lock is written to the operation log."""
    from app.models import OperationLog

    b = Browser(app)
    for _ in range(5):
        b.login("jxd001", "wrong-password1")
    assert db.session.query(OperationLog).filter_by(action="account_locked").count() == 1


def test_same_message_for_unknown_user_and_wrong_password_and_the_lock_named_only_with_the_right_one(app, world):
    """An unknown user and a wrong password read the same (no enumeration); a wrong password on a locked
    account too. Only whoever types the right password of a locked account learns it is locked, and until
    when (Asia/Shanghai) — instead of being told the password is wrong."""
    b = Browser(app)
    b.login("nobody", "whatever1")
    unknown = b.flashed()
    b = Browser(app)
    b.login("jxd001", "wrong-password1")
    wrong = b.flashed()
    acc = account("jxd001")
    acc.locked_until = dt.datetime(2030, 1, 1, 8, 0)  # UTC
    db.session.commit()
    b = Browser(app)
    b.login("jxd001", "wrong-password1")
    locked_wrong = b.flashed()
    assert unknown == wrong == locked_wrong == "账号或密码错误。连续失败 5 次，账号将被锁定 15 分钟。"
    b = Browser(app)
    assert not logged_in(b.login("jxd001", factories.PASSWORD))
    assert b.flashed().startswith("账号因连续登录失败已被暂时锁定，将于 2030-01-01 16:00 自动解锁。")


def test_the_failed_login_message_states_the_configured_lockout(app, world):
    """The lockout numbers are configured once (config.py) and the message says what is configured."""
    with app.test_request_context():
        app.config.update(LOGIN_MAX_FAILURES=3, LOGIN_LOCK_MINUTES=30)
        try:
            assert login_failed_message() == "账号或密码错误。连续失败 3 次，账号将被锁定 30 分钟。"
        finally:
            app.config.update(LOGIN_MAX_FAILURES=5, LOGIN_LOCK_MINUTES=15)


def test_student_only_through_student_login(app, world):
    """A student cannot log in through 机构账号登录, and staff cannot through 学生登录."""
    assert not logged_in(Browser(app).login("2020010001", factories.PASSWORD, "org"))
    assert not logged_in(Browser(app).login("jxd001", factories.PASSWORD, "student"))
    assert logged_in(Browser(app).login("2020010001", factories.PASSWORD, "student"))
    assert logged_in(Browser(app).login("jxd001", factories.PASSWORD, "org"))


@pytest.fixture()
def newbie(world):
    """A site admin created with the initial password edu@<mobile>, change forced."""
    factories.account("jxd009", RoleName.SITE_ADMIN, org=world.site1, must_change=True)
    db.session.commit()
    return "jxd009"


def test_initial_password_forces_a_change(app, newbie):
    """With the initial password every page redirects to 修改密码 until the password is changed."""
    b = Browser(app)
    resp = b.login(newbie, INITIAL)
    assert resp.headers["Location"].endswith("/account/password")
    for url in ["/", "/students/list/", "/tasks/", "/users/userinfo/", "/resetmypassword/form", "/oplog/list/"]:
        r = b.get(url)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/password"), url
    resp = b.post("/account/password", {"old_password": INITIAL, "new_password": "Better2024pass",
                                        "confirm_password": "Better2024pass"})
    assert resp.status_code == 302
    assert account(newbie).must_change_password is False
    assert b.get("/students/list/").status_code == 200


@pytest.mark.parametrize("weak", ["short1a", "abcdefghij", "1234567890", ""])
def test_weak_passwords_are_refused(app, newbie, weak):
    """A new password needs 8+ characters with letters and digits; a weak one changes nothing."""
    b = Browser(app)
    b.login(newbie, INITIAL)
    before = account(newbie).password
    resp = b.post("/account/password", {"old_password": INITIAL, "new_password": weak, "confirm_password": weak})
    assert resp.status_code == 200 and "password-error" in resp.get_data(as_text=True)
    acc = account(newbie)
    assert acc.password == before and acc.must_change_password is True


def test_fab_reset_forms_change_no_password(app, world, ce_client, site_client):
    """FAB's own reset-password form asks for no old password, ends no session and writes no log entry: it
    changes nothing, even for the CE admin (修改密码 and 账号管理 are the ways); site admins cannot reach it."""
    before = account("jjy001").password
    ce_client.post("/resetmypassword/form", data={"password": "weak", "conf_password": "weak"})
    assert account("jjy001").password == before
    ce_client.post("/resetmypassword/form", data={"password": "Strong2024x", "conf_password": "Strong2024x"})
    assert account("jjy001").password == before
    assert site_client.get("/resetmypassword/form").status_code == 403


def test_session_cookie_is_httponly_and_lax(app, world):
    """The session cookie cannot be read by scripts nor sent by cross-site POSTs."""
    b = Browser(app)
    resp = b.login("jxd001", factories.PASSWORD)
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --------------------------------------------------------------------------- an imported student's first login


@pytest.fixture()
def imported(world):
    """A student as an import leaves them: a record with 手机号, no account."""
    s = factories.student(world.site1, world.major1, no="2020019001", name="孙导入")
    s.mobile = "13711112222"
    db.session.commit()
    return s


def test_an_imported_student_logs_in_with_the_initial_password_and_must_change_it(app, imported):
    """学生登录 with 学号 and edu@手机号 creates the account (role 学生, linked to the record, logged) and
    sends the student to 修改密码 first, as for every new account."""
    from app.models import OperationLog

    b = Browser(app)
    resp = b.login("2020019001", "edu@13711112222", login_type="student")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    acc = account("2020019001")
    assert acc.student_id == imported.id and acc.must_change_password and [r.name for r in acc.roles] == ["Student"]
    assert db.session.query(OperationLog).filter_by(action="account_create", record_id=acc.id).count() == 1
    b.post("/account/password", {"old_password": "edu@13711112222", "new_password": "Student2024x",
                                 "confirm_password": "Student2024x"})
    assert b.get("/").status_code in (200, 302)
    again = Browser(app)
    assert not logged_in(again.login("2020019001", "edu@13711112222", login_type="student"))  # changed now
    assert logged_in(again.login("2020019001", "Student2024x", login_type="student"))


@pytest.mark.parametrize("case", ["wrong password", "staff entrance", "withdrawn", "no mobile"])
def test_no_account_is_made_without_the_right_door_and_password(app, imported, case):
    """A wrong password, the 机构账号登录 entrance, a 退学 student or one without 手机号: the same message as any
    failed login, and no account."""
    from app.statuses import EnrolmentStatus

    password, login_type = "edu@13711112222", "student"
    if case == "wrong password":
        password = "edu@13711112223"
    elif case == "staff entrance":
        login_type = "org"
    elif case == "withdrawn":
        imported.status = EnrolmentStatus.WITHDRAWN.value
    else:
        imported.mobile = ""
        password = "edu@"
    db.session.commit()
    b = Browser(app)
    assert not logged_in(b.login("2020019001", password, login_type=login_type))
    page = b.get("/login/?type=" + login_type).get_data(as_text=True)
    assert "账号或密码错误。连续失败 5 次，账号将被锁定 15 分钟。" in page
    assert db.session.query(Account).filter_by(username="2020019001").count() == 0

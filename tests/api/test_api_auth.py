"""REST API authentication: JWT login per role, lockout, no browser cookies, forced password change."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from app.extensions import db
from app.models import Account, Task
from app.statuses import RoleName
from tests import factories
from tests.api.conftest import LOGIN, ApiClient, acct, snapshot

ROLES = ["jjy001", "xy001", "jxd001", "2020010001"]
READS = ["/api/v1/students/", "/api/v1/graduation-results/", "/api/v1/degree-applications/", "/api/v1/tasks/"]
WRITES = ["/api/v1/graduation/audit", "/api/v1/graduation/confirm", "/api/v1/graduation/override",
          "/api/v1/degree/audit", "/api/v1/degree/review", "/api/v1/degree/final"]
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_jwt_login_per_role(app, world):
    """Every role's account gets an access token from /api/v1/security/login with provider db."""
    for username in ROLES:
        client = ApiClient(app, username)
        assert client.token.count(".") == 2, username


def test_wrong_password_is_401_and_counts_towards_lockout(app, world):
    """A wrong API password is refused and counted; after 5 failures even the right one is refused."""
    client = app.test_client()
    for _ in range(5):
        with app.app_context():
            resp = client.post(LOGIN, json={"username": "jxd001", "password": "wrong-1234", "provider": "db"})
        assert resp.status_code == 401
    db.session.expire_all()
    assert acct("jxd001").locked_until is not None
    with app.app_context():
        resp = client.post(LOGIN, json={"username": "jxd001", "password": factories.PASSWORD, "provider": "db"})
    assert resp.status_code == 401


def test_no_token_is_401_in_chinese(app, world):
    """Without a token every read and write answers 401 with a Chinese message."""
    client = app.test_client()
    for url in READS + WRITES:
        with app.app_context():
            resp = client.get(url) if url in READS else client.post(url, json={"filters": {}})
        assert resp.status_code == 401, url
        assert CHINESE.search(resp.get_json()["message"])


def test_bad_token_is_401_in_chinese(app, world):
    """A forged token is refused with 401 and a Chinese message, never a 422 or 500."""
    with app.app_context():
        resp = app.test_client().get(READS[0], headers={"Authorization": "Bearer not.a.token"})
    assert resp.status_code == 401
    assert "令牌" in resp.get_json()["message"]


def test_browser_cookie_cannot_call_write_endpoints(data, site_client):
    """A logged-in browser session (cookie, no token) gets 401 on every write and nothing changes."""
    before = snapshot()
    for url in WRITES:
        for body in ({"ids": [data["s1"]], "result": "failed", "reason": "x", "opinion": "agree"},
                     {"ids": [data["app1"]], "opinion": "agree"}, {"filters": {}}):
            with site_client.app.app_context():
                resp = site_client.client.post(url, json=body)
            assert resp.status_code == 401, url
    assert snapshot() == before


def test_browser_cookie_cannot_read_either(data, ce_client):
    """Reads follow the same rule (documented in app/api/): the API is JWT only."""
    for url in READS:
        assert ce_client.get(url).status_code == 401


def test_account_that_must_change_password_is_refused(app, world, data):
    """An account still on its initial password gets a token but 403 (in Chinese) on every endpoint."""
    factories.account("jxd009", RoleName.SITE_ADMIN, org=world.site1, must_change=True,
                      mobile="13911112222")
    db.session.commit()
    client = ApiClient(app, "jxd009", "edu@13911112222")
    before = db.session.query(Task).count()
    for url in READS:
        resp = client.get(url)
        assert resp.status_code == 403
        assert "修改初始密码" in resp.get_json()["message"]
    resp = client.post("/api/v1/graduation/audit", json={"filters": {}})
    assert resp.status_code == 403 and "修改初始密码" in resp.get_json()["message"]
    assert db.session.query(Task).count() == before


def test_password_change_lifts_the_refusal(app, world):
    """Once the password is changed the same account can use the API."""
    factories.account("jxd009", RoleName.SITE_ADMIN, org=world.site1, must_change=True,
                      mobile="13911112222")
    db.session.commit()
    client = ApiClient(app, "jxd009", "edu@13911112222")
    assert client.get(READS[0]).status_code == 403
    account = db.session.scalar(select(Account).where(Account.username == "jxd009"))
    account.must_change_password = False
    db.session.commit()
    assert client.get(READS[0]).status_code == 200


def test_deactivated_account_token_stops_working(app, world):
    """A token of an account deactivated afterwards is refused with 401."""
    client = ApiClient(app, "jxd001")
    assert client.get(READS[0]).status_code == 200
    acct("jxd001").active = False
    db.session.commit()
    resp = client.get(READS[0])
    assert resp.status_code == 401
    assert CHINESE.search(resp.get_json()["message"])


def test_expired_token_is_401_in_chinese(app, world):
    """An expired access token is refused with 401 and says so in Chinese."""
    from flask_jwt_extended import create_access_token

    with app.app_context():
        token = create_access_token(identity=str(acct("jxd001").id), expires_delta=dt.timedelta(seconds=-5))
        resp = app.test_client().get(READS[0], headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.get_json()["message"] == "访问令牌已过期，请重新登录"


def test_token_decides_not_the_cookie(data, app, ce_client):
    """With a CE admin's browser cookie and a student's token, the token's account is the one checked."""
    student = ApiClient(app, "2020010001")
    before = snapshot()
    with app.app_context():
        read = ce_client.client.get(READS[0], headers=student.headers)
        write = ce_client.client.post("/api/v1/graduation/audit", headers=student.headers, json={"filters": {}})
    assert (read.status_code, write.status_code) == (403, 403)
    assert snapshot() == before


def test_cookie_of_student_cannot_borrow_admin_scope(data, app, student_client):
    """A site admin's token used beside a student's cookie sees the site's rows, no more."""
    site = ApiClient(app, "jxd001")
    with app.app_context():
        resp = student_client.client.get("/api/v1/students/", headers=site.headers)
    assert resp.status_code == 200
    assert resp.get_json()["ids"] == [data["s1"]]

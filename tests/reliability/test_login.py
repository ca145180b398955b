"""Login under attack: lockout on both doors, rate limit, no enumeration, new session, no open redirect."""
from __future__ import annotations

import datetime as dt
import os
import statistics
import time

import pytest

from app.extensions import db
from app.models import Account
from app.models.base import utcnow
from tests import factories
from tests.test_auth import Browser, logged_in


def test_api_login_shares_the_lockout(app, world):
    """Five wrong passwords through the JWT login lock the account for the login form too."""
    client = app.test_client()
    for _ in range(5):
        with app.app_context():
            r = client.post("/api/v1/security/login", json={"username": "jxd001", "password": "wrong-pass1",
                                                             "provider": "db"})
        assert r.status_code == 401
    db.session.expire_all()
    assert db.session.query(Account).filter_by(username="jxd001").one().locked_until is not None
    assert not logged_in(Browser(app).login("jxd001", factories.PASSWORD))


@pytest.fixture()
def limited_app(app):
    """A second app on the same database whose login allows 3 POSTs a minute."""
    from app import create_app

    other = create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "STORAGE_DIR", "SERVER_NAME",
                                                      "PASSWORD_HASH_METHOD")},
                        "APP_MODE": "test", "JOBS_MODE": "inline", "AUTH_RATE_LIMIT": "3 per minute",
                        "RATELIMIT_STORAGE_URI": "memory://"})
    return other


def test_login_is_rate_limited(world, limited_app):
    """Past AUTH_RATE_LIMIT the login POST answers 429 (in Chinese) — even with the right password."""
    b = Browser(limited_app)
    codes = [b.login("jxd001", "wrong-pass1").status_code for _ in range(3)]
    assert 429 not in codes
    resp = b.login("nobody", "whatever1")
    assert resp.status_code == 429
    assert "请求过于频繁" in resp.get_data(as_text=True)
    assert Browser(limited_app).login("jxd001", factories.PASSWORD).status_code == 429  # same address


def _mean_login_time(app, username: str, n: int = 10) -> float:
    times = []
    for i in range(n):
        b = Browser(app)
        token = b.token("/login/?type=org")
        data = {"username": username, "password": f"wrong-pass{i}", "login_type": "org", "csrf_token": token}
        with app.app_context():
            start = time.perf_counter()
            b.client.post("/login/?type=org", data=data)
            times.append(time.perf_counter() - start)
    return statistics.mean(times)


def test_no_enumeration_by_timing(app, world):
    """10 unknown-user vs 10 wrong-password logins with the production hash (argon2id): means within 2.5x."""
    from app import create_app
    from app.services.passwords import DEFAULT_METHOD, hash_password

    prod_hash = create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "STORAGE_DIR", "SERVER_NAME")},
                            "APP_MODE": "test", "JOBS_MODE": "inline", "PASSWORD_HASH_METHOD": DEFAULT_METHOD,
                            "RATELIMIT_STORAGE_URI": "memory://"})
    for name in ("jxd001", "xy001", "jxd002"):
        db.session.query(Account).filter_by(username=name).one().password = \
            hash_password(factories.PASSWORD, method=DEFAULT_METHOD)
    db.session.commit()
    unknown = _mean_login_time(prod_hash, "nobody-here", 9)
    # 3 wrong passwords per account: no lockout (5) during the measurement
    wrong = statistics.mean([_mean_login_time(prod_hash, name, 3) for name in ("jxd001", "xy001", "jxd002")])
    ratio = max(unknown, wrong) / min(unknown, wrong)
    _record("login_timing", f"unknown {unknown * 1000:.1f} ms, wrong password {wrong * 1000:.1f} ms, ratio {ratio:.2f}")
    assert ratio < 2.5, (unknown, wrong)


def test_fake_check_costs_a_real_check(app):
    """The dummy hash for unknown users uses the configured hash method (not FAB's fixed scrypt)."""
    method = app.config["PASSWORD_HASH_METHOD"]
    assert app.appbuilder.sm._fake_hash.startswith(method.split(":")[0])
    assert app.appbuilder.sm._fake_hash.split("$")[0] == method


def test_session_is_renewed_at_login(app, world):
    """The session cookie after login differs from the one before and carries the user; logout drops it."""
    b = Browser(app)
    b.get("/login/")
    before = b.client.get_cookie("session").value
    resp = b.login("jxd001", factories.PASSWORD)
    assert logged_in(resp)
    after = b.client.get_cookie("session").value
    assert before != after
    with b.client.session_transaction() as sess:
        assert sess.get("_user_id") and sess.get("_fresh") is True
    b.get("/logout/")
    with b.client.session_transaction() as sess:
        assert not sess.get("_user_id")


@pytest.mark.parametrize("target", ["https://evil.example", "//evil.example/x", "http:/evil.example",
                                    "/\\evil.example", "https:evil.example", "javascript:alert(1)"])
def test_next_cannot_redirect_off_site(app, world, target):
    """/login/?next=<another site> logs in and stays on this site."""
    from urllib.parse import quote, urlparse

    b = Browser(app)
    data = {"username": "jxd001", "password": factories.PASSWORD, "login_type": "org",
            "csrf_token": b.token("/login/?type=org")}
    with app.app_context():
        resp = b.client.post(f"/login/?type=org&next={quote(target, safe='')}", data=data)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    parsed = urlparse(location)
    assert parsed.scheme in ("", "http") and parsed.netloc in ("", "localhost"), location
    assert not location.startswith(("//", "/\\")) and not location.startswith("javascript"), location


def test_next_on_site_is_kept(app, world):
    """A local ``next`` still works (the refusal above is not a blanket one)."""
    b = Browser(app)
    data = {"username": "jxd001", "password": factories.PASSWORD, "login_type": "org",
            "csrf_token": b.token("/login/?type=org")}
    with app.app_context():
        resp = b.client.post("/login/?type=org&next=/tasks/", data=data)
    assert resp.headers["Location"].endswith("/tasks/")


def _record(key: str, value: str) -> None:
    """Figures for docs/RELIABILITY.md, printed with -s and kept in RELIABILITY_FIGURES if set."""
    path = os.environ.get("RELIABILITY_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{key}: {value}\n")


# --------------------------------------------------------------------------- sessions end on the server


def _in(b: Browser) -> bool:
    """Whether the browser's session still opens a page."""
    return b.get("/graduation/audit/").status_code == 200


def _out(b: Browser) -> bool:
    """Whether the browser is sent to the login page (its session ended), not elsewhere."""
    resp = b.get("/graduation/audit/")
    return resp.status_code == 302 and "/login" in resp.headers["Location"]


def _with_cookie(app, value: str) -> Browser:
    thief = Browser(app)
    thief.client.set_cookie("session", value, domain="localhost")
    return thief


def test_a_copied_session_cookie_is_useless_after_logout(app, world):
    """退出 ends the session on the server: a copy of the cookie taken while logged in (a shared PC, a
    proxy log) opens nothing afterwards, and is sent to the login page with a Chinese message."""
    from app.views.login import SESSION_ENDED

    b = Browser(app)
    assert logged_in(b.login("jxd001", factories.PASSWORD))
    copied = b.client.get_cookie("session").value
    assert _in(_with_cookie(app, copied))  # the copy works while the session is open
    b.get("/logout/")
    assert _out(b)
    thief = _with_cookie(app, copied)
    resp = thief.get("/graduation/audit/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert SESSION_ENDED in thief.get(resp.headers["Location"]).get_data(as_text=True)


def test_logout_ends_only_that_browser(app, world):
    office, laptop = Browser(app), Browser(app)
    assert logged_in(office.login("jxd001", factories.PASSWORD))
    assert logged_in(laptop.login("jxd001", factories.PASSWORD))
    office.get("/logout/")
    assert _out(office) and _in(laptop)


def test_a_password_change_ends_the_accounts_other_sessions(app, world):
    """Whoever logged in with the old password is out; the browser that changed it stays in."""
    mine, other = Browser(app), Browser(app)
    assert logged_in(mine.login("jxd001", factories.PASSWORD))
    assert logged_in(other.login("jxd001", factories.PASSWORD))
    resp = mine.post("/account/password", {"old_password": factories.PASSWORD, "new_password": "Changed2024x",
                                            "confirm_password": "Changed2024x"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert _in(mine) and _out(other)


@pytest.mark.parametrize("change", ["deactivate", "reset_password"])
def test_disabling_or_resetting_an_account_ends_all_its_sessions(app, world, change):
    """账号管理: 停用 or 重置为初始密码 by the CE admin logs the account out everywhere at its next click."""
    from app.services.accounts import update_account

    b = Browser(app)
    assert logged_in(b.login("jxd001", factories.PASSWORD))
    target = db.session.query(Account).filter_by(username="jxd001").one()
    ce = db.session.query(Account).filter_by(username="jjy001").one()
    target.mobile = target.mobile or "13900000000"
    update_account(target, active=change != "deactivate", unlock=False, reset_password=change == "reset_password",
                   actor=ce)
    db.session.commit()
    assert _out(b)


def _api_tokens(app, username: str, password: str) -> dict:
    with app.app_context():
        resp = app.test_client().post("/api/v1/security/login", json={
            "username": username, "password": password, "provider": "db", "refresh": True})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def _api_get(app, token: str):
    with app.app_context():
        return app.test_client().get("/api/v1/students/", headers={"Authorization": f"Bearer {token}"})


def _api_refresh(app, refresh_token: str):
    with app.app_context():
        return app.test_client().post("/api/v1/security/refresh", headers={"Authorization": f"Bearer {refresh_token}"})


def test_a_password_change_ends_the_accounts_api_tokens(app, world):
    """An access token and a 30-day refresh token taken before a password change stop working with it;
    a new login with the new password works."""
    tokens = _api_tokens(app, "jxd001", factories.PASSWORD)
    assert _api_get(app, tokens["access_token"]).status_code == 200
    assert _api_refresh(app, tokens["refresh_token"]).status_code == 200
    b = Browser(app)
    assert logged_in(b.login("jxd001", factories.PASSWORD))
    resp = b.post("/account/password", {"old_password": factories.PASSWORD, "new_password": "Changed2024x",
                                         "confirm_password": "Changed2024x"})
    assert resp.status_code == 302
    old = _api_get(app, tokens["access_token"])
    assert old.status_code == 401
    assert old.get_json()["message"] == "访问令牌已失效（密码已修改、已重置或账号已停用），请重新登录"
    assert _api_refresh(app, tokens["refresh_token"]).status_code == 401
    fresh = _api_tokens(app, "jxd001", "Changed2024x")
    assert _api_get(app, fresh["access_token"]).status_code == 200


@pytest.mark.parametrize("change", ["deactivate", "reset_password"])
def test_disabling_or_resetting_an_account_ends_its_api_tokens(app, world, change):
    """账号管理: 停用 or 重置为初始密码 ends every access and refresh token of the account."""
    from app.services.accounts import update_account

    tokens = _api_tokens(app, "jxd001", factories.PASSWORD)
    target = db.session.query(Account).filter_by(username="jxd001").one()
    ce = db.session.query(Account).filter_by(username="jjy001").one()
    target.mobile = target.mobile or "13900000000"
    update_account(target, active=change != "deactivate", unlock=False, reset_password=change == "reset_password",
                   actor=ce)
    db.session.commit()
    assert _api_get(app, tokens["access_token"]).status_code == 401
    assert _api_refresh(app, tokens["refresh_token"]).status_code == 401


def test_tokens_of_other_accounts_are_untouched(app, world):
    """A password change ends the changer's tokens only."""
    other = _api_tokens(app, "jxd002", factories.PASSWORD)
    b = Browser(app)
    assert logged_in(b.login("jxd001", factories.PASSWORD))
    b.post("/account/password", {"old_password": factories.PASSWORD, "new_password": "Changed2024x",
                                 "confirm_password": "Changed2024x"})
    assert _api_get(app, other["access_token"]).status_code == 200


def _api_login(app, client, username, password):
    with app.app_context():
        return client.post("/api/v1/security/login", json={"username": username, "password": password,
                                                             "provider": "db"})


def test_an_anonymous_caller_cannot_keep_the_owner_out(app, world):
    """The lock a stranger causes (five wrong passwords through the API for a guessable 工号) does not keep
    the account's owner out: from the browser where jxd001 logged in before, the right password passes and
    ends the lock. A new browser is still refused while the lock lasts."""
    owner = Browser(app)
    assert logged_in(owner.login("jxd001", factories.PASSWORD))
    owner.get("/logout/")
    stranger = app.test_client()
    for _ in range(5):
        assert _api_login(app, stranger, "jxd001", "wrong-pass1").status_code == 401
    db.session.expire_all()
    assert db.session.query(Account).filter_by(username="jxd001").one().locked_until is not None
    assert not logged_in(Browser(app).login("jxd001", factories.PASSWORD))  # a browser never used
    assert _api_login(app, stranger, "jxd001", factories.PASSWORD).status_code == 401  # the API: no exception
    assert logged_in(owner.login("jxd001", factories.PASSWORD))  # the owner's browser
    db.session.expire_all()
    acc = db.session.query(Account).filter_by(username="jxd001").one()
    assert acc.locked_until is None and acc.fail_login_count == 0


def test_a_known_browser_with_a_wrong_password_neither_passes_nor_extends_the_lock(app, world):
    """The known browser only skips the lock; its wrong passwords are refused and do not push the lock on."""
    owner = Browser(app)
    assert logged_in(owner.login("jxd001", factories.PASSWORD))
    owner.get("/logout/")
    acc = db.session.query(Account).filter_by(username="jxd001").one()
    until = utcnow() + dt.timedelta(minutes=10)
    acc.locked_until, acc.fail_login_count = until, 5
    db.session.commit()
    assert not logged_in(owner.login("jxd001", "wrong-pass1"))
    db.session.expire_all()
    assert db.session.query(Account).filter_by(username="jxd001").one().locked_until == until


def test_a_forged_known_browser_cookie_counts_for_nothing(app, world):
    """The cookie is signed with the secret key: one made up by an attacker is an unknown browser."""
    acc = db.session.query(Account).filter_by(username="jxd001").one()
    acc.locked_until, acc.fail_login_count = utcnow() + dt.timedelta(minutes=10), 5
    db.session.commit()
    b = Browser(app)
    b.client.set_cookie("gd_known", f"[{acc.id}]", domain="localhost")
    assert not logged_in(b.login("jxd001", factories.PASSWORD))


def test_api_login_is_rate_limited_like_the_form(world, limited_app):
    """The JWT login takes the form's AUTH_RATE_LIMIT (here 3 a minute): then 429, even with the right password."""
    client = limited_app.test_client()
    codes = [_api_login(limited_app, client, "jxd001", "wrong-pass1").status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    assert _api_login(limited_app, client, "jxd001", factories.PASSWORD).status_code == 429

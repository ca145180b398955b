"""Password hashes: argon2id with OWASP's parameters for new hashes; werkzeug hashes of earlier installations still
verify and are replaced at the next successful login (app/services/passwords.py)."""
from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Account
from app.services.passwords import DEFAULT_METHOD, check_password, hash_password, needs_rehash
from tests import factories
from tests.test_auth import Browser, logged_in

OWASP = "$argon2id$v=19$m=19456,t=2,p=1$"


def test_default_is_argon2id_with_owasp_parameters(app_ctx):
    assert DEFAULT_METHOD == "argon2id:19456:2:1"
    stored = hash_password("Secret2026x", method=DEFAULT_METHOD)
    assert stored.startswith(OWASP)
    assert check_password(stored, "Secret2026x")
    assert not check_password(stored, "Secret2026y")
    assert hash_password("Secret2026x", method=DEFAULT_METHOD) != stored  # salted


def test_the_app_hashes_with_argon2id_unless_configured_otherwise(monkeypatch):
    from config import build_config

    monkeypatch.delenv("PASSWORD_HASH_METHOD", raising=False)
    assert build_config({"APP_MODE": "demo"})["PASSWORD_HASH_METHOD"] == DEFAULT_METHOD


@pytest.mark.parametrize("method", ["scrypt", "scrypt:32768:8:1", "pbkdf2:sha256:1000"])
def test_werkzeug_hashes_still_verify(app_ctx, method):
    stored = generate_password_hash("Secret2026x", method=method)
    assert check_password(stored, "Secret2026x")
    assert not check_password(stored, "wrong")
    assert needs_rehash(stored, DEFAULT_METHOD)


@pytest.mark.parametrize("stored", [None, "", "plain-text", "$argon2id$broken", "nomethod$salt$hash", "\x00"])
def test_missing_or_broken_hashes_never_match(app_ctx, stored):
    assert not check_password(stored, "plain-text")


def test_rehash_when_the_parameters_change(app_ctx):
    weaker = hash_password("Secret2026x", method="argon2id:8192:1:1")
    assert needs_rehash(weaker, DEFAULT_METHOD)
    assert not needs_rehash(hash_password("Secret2026x", method=DEFAULT_METHOD), DEFAULT_METHOD)
    assert not needs_rehash(generate_password_hash("x", method="pbkdf2:sha256:1000"), "pbkdf2:sha256:1000")


def test_malformed_method_is_a_configuration_error(app_ctx):
    with pytest.raises(ValueError, match="PASSWORD_HASH_METHOD"):
        hash_password("x", method="argon2id:lots")


def test_login_replaces_an_older_hash_and_only_with_the_right_password(app, world, monkeypatch):
    """An account from before argon2id (werkzeug scrypt) logs in: its hash becomes argon2id with the configured
    parameters; a wrong password changes nothing; the next login keeps the new hash."""
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", DEFAULT_METHOD)
    account = db.session.query(Account).filter_by(username="jxd001").one()
    old = generate_password_hash(factories.PASSWORD, method="scrypt:16384:8:1")
    account.password = old
    db.session.commit()

    assert not logged_in(Browser(app).login("jxd001", "wrong-pass1"))
    assert db.session.get(Account, account.id).password == old

    assert logged_in(Browser(app).login("jxd001", factories.PASSWORD))
    new = db.session.get(Account, account.id).password
    assert new.startswith(OWASP) and check_password(new, factories.PASSWORD)

    assert logged_in(Browser(app).login("jxd001", factories.PASSWORD))
    assert db.session.get(Account, account.id).password == new


def test_password_change_stores_argon2id(app, world, monkeypatch):
    from app.services.accounts import change_password

    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", DEFAULT_METHOD)
    account = db.session.query(Account).filter_by(username="xy001").one()
    change_password(account, old=factories.PASSWORD, new="Newpass2026", confirm="Newpass2026")
    assert account.password.startswith(OWASP) and check_password(account.password, "Newpass2026")

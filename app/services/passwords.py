"""Password hashes: argon2id at OWASP's first setting for new hashes; older hashes verify and are replaced.

Why argon2id and not werkzeug's default: ``scrypt:32768:8:1`` (N = 2^15, r = 8, p = 1) is a third of the work of
OWASP's weakest scrypt setting and costs ~90 ms of CPU per login; argon2id with m = 19 MiB, t = 2, p = 1 is the
Password Storage Cheat Sheet's first recommendation and costs ~21 ms here. The publication-day peak (1,000
students logging in within 5 minutes, issue 17) is bound by exactly this cost (docs/RELIABILITY.md §10.3).

``PASSWORD_HASH_METHOD`` (config) is ``argon2id:<memory KiB>:<time>:<parallelism>`` or any werkzeug method
(the tests use a cheap pbkdf2 one). A stored hash names its own method and parameters, so a check never needs
the configured method; ``needs_rehash`` says when a stored hash is not of the configured kind, and the login
then stores a new one (``authenticate``: the password is known only at that moment).
"""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

DEFAULT_METHOD = "argon2id:19456:2:1"  # OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1
ARGON2_PREFIX = "$argon2"


def configured_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD") or DEFAULT_METHOD


@lru_cache(maxsize=8)
def _argon2(method: str) -> PasswordHasher:
    """The hasher for ``argon2id:<m>:<t>:<p>``; a malformed method is a configuration error (ValueError)."""
    parts = method.split(":")
    if len(parts) != 4 or parts[0] != "argon2id" or not all(p.isdigit() for p in parts[1:]):
        raise ValueError(f"PASSWORD_HASH_METHOD {method!r}: expected argon2id:<memory KiB>:<time>:<parallelism>")
    memory, time, parallelism = (int(p) for p in parts[1:])
    return PasswordHasher(time_cost=time, memory_cost=memory, parallelism=parallelism, type=Type.ID)


def hash_password(password: str, method: str | None = None) -> str:
    """A new hash of ``password`` with ``method`` (default: the configured one)."""
    method = method or configured_method()
    if method.startswith("argon2"):
        return _argon2(method).hash(password)
    return generate_password_hash(password, method=method)


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the stored hash, whatever method made it; False for no or a broken hash."""
    if not stored:
        return False
    if stored.startswith(ARGON2_PREFIX):
        try:
            return _argon2(DEFAULT_METHOD).verify(stored, password or "")  # parameters come from the hash
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    try:
        return check_password_hash(stored, password or "")
    except ValueError:  # an unknown method name in the stored string
        return False


def needs_rehash(stored: str | None, method: str | None = None) -> bool:
    """Whether a stored hash differs from what ``method`` (default: configured) would make now."""
    method = method or configured_method()
    if not stored:
        return False
    if method.startswith("argon2"):
        if not stored.startswith(ARGON2_PREFIX):
            return True
        try:
            return _argon2(method).check_needs_rehash(stored)
        except InvalidHashError:
            return True
    head = stored.split("$", 1)[0]  # werkzeug: "<method>$<salt>$<hash>", e.g. "scrypt:32768:8:1$…"
    return not (head == method or head.startswith(method + ":"))

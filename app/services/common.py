"""Small helpers every service uses, once."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar, cast

from flask import current_app
from sqlalchemy import CursorResult
from sqlalchemy.sql.dml import UpdateBase

from app.extensions import db

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (a statement's IN list, a transaction's rows)."""
    if size < 1:
        raise ValueError(size)
    seq = items if isinstance(items, list) else list(items)
    for start in range(0, len(seq), size):
        yield seq[start:start + size]


def changed_rows(statement: UpdateBase) -> int:
    """Run an UPDATE or DELETE and say how many rows it changed: the answer of a claim ("did I win?").
    ``Session.execute`` is typed as returning ``Result``; for a DML statement it is a ``CursorResult``."""
    return cast("CursorResult[Any]", db.session.execute(statement)).rowcount


def security_manager() -> Any:
    """Flask-AppBuilder's security manager of the running app. FAB registers itself in ``app.extensions``
    (and as ``app.appbuilder``, which Flask's type does not know)."""
    return current_app.extensions["appbuilder"].sm

"""Whole numbers from outside the app (URLs, forms, JSON, job parameters), checked in one place.

A database INTEGER holds up to 2,147,483,647. A larger "id" cannot name a row, and handing it to the
driver is an error (SQLite: OverflowError, PostgreSQL: integer out of range) — a 500 page where the
user should get a 404 or a Chinese message. Signs, decimals and digits like "²" are refused too.
"""
from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter

MAX_ID = 2_147_483_647
MAX_PAGE = 1_000_000  # a page beyond the data is simply empty; beyond this it is nonsense


def parse_id(value: Any) -> int | None:
    """A whole number 0..MAX_ID from a string or int, or ``None`` when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def parse_page(value: Any, first: int = 0) -> int:
    """A page number from ``?page=``: malformed or negative → ``first``, clamped to MAX_PAGE."""
    number = parse_id(value)
    return first if number is None else max(first, min(number, MAX_PAGE))


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: a number past MAX_ID does not match (404), as a missing row would."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 — werkzeug's signature
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

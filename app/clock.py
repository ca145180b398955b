"""The one clock of the app.

Timestamps are stored as naive UTC (``utcnow``). People read them, and batch windows are written, in the
configured local time (``TIMEZONE``, Asia/Shanghai): every conversion between the two goes through here.
"""
from __future__ import annotations

import datetime as dt
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.models.base import utcnow

DEFAULT_TIMEZONE = "Asia/Shanghai"
# Hosts without a tz database still show China time: no DST since 1991, so a fixed offset is exact.
_FALLBACK = {"Asia/Shanghai": dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def local_zone() -> dt.tzinfo:
    """The configured time zone (``TIMEZONE``; Asia/Shanghai outside an app context)."""
    from flask import current_app, has_app_context

    name = current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE) if has_app_context() else DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        if name in _FALLBACK:
            return _FALLBACK[name]
        raise


@overload
def to_local(value: dt.datetime) -> dt.datetime: ...
@overload
def to_local(value: None) -> None: ...
def to_local(value: dt.datetime | None) -> dt.datetime | None:
    """A stored timestamp (naive = UTC, or aware) as naive local wall time; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(local_zone()).replace(tzinfo=None)


def local_now() -> dt.datetime:
    """Naive local wall time now: the clock batch windows are written in."""
    return to_local(utcnow())


def local_today() -> dt.date:
    """Today's local date (file names, 打印日期, import checks of dates in the future)."""
    return local_now().date()


def format_local(value: dt.date | dt.datetime | None, fmt: str = TIME_FORMAT) -> str:
    """A stored timestamp as local wall time text ('' for None); a plain date is shown as it is."""
    if value is None:
        return ""
    if not isinstance(value, dt.datetime):
        return str(value)
    return to_local(value).strftime(fmt)  # type: ignore[union-attr]


def local_day_start_utc(day: dt.date) -> dt.datetime:
    """00:00 local time of ``day`` as stored naive UTC (the bound of a by-day filter)."""
    local = dt.datetime.combine(day, dt.time()).replace(tzinfo=local_zone())
    return local.astimezone(dt.UTC).replace(tzinfo=None)

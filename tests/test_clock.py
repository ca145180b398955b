"""The one clock: stored naive UTC, shown and compared in Asia/Shanghai."""
from __future__ import annotations

import datetime as dt

from app import clock


def test_stored_utc_reads_as_shanghai_wall_time():
    """A naive stored value is UTC: 16:30 UTC is 00:30 the next day in Shanghai."""
    assert clock.to_local(dt.datetime(2024, 11, 24, 16, 30)) == dt.datetime(2024, 11, 25, 0, 30)
    assert clock.format_local(dt.datetime(2024, 11, 24, 16, 30)) == "2024-11-25 00:30:00"


def test_aware_values_convert_and_none_and_dates_pass_through():
    """An aware value converts from its own zone; None is ''; a date (no time) is shown unchanged."""
    aware = dt.datetime(2024, 11, 25, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert clock.to_local(aware) == dt.datetime(2024, 11, 25, 0, 30)
    assert clock.to_local(None) is None and clock.format_local(None) == ""
    assert clock.format_local(dt.date(2024, 7, 1)) == "2024-07-01"


def test_a_local_day_starts_at_16_utc_the_day_before():
    """By-day filters: 2024-11-25 00:00 in Shanghai is 2024-11-24 16:00 UTC."""
    assert clock.local_day_start_utc(dt.date(2024, 11, 25)) == dt.datetime(2024, 11, 24, 16, 0)


def test_local_now_is_eight_hours_ahead_of_utc():
    """No DST in China: local now − UTC now is 8 hours (to the second)."""
    diff = clock.local_now() - clock.utcnow()
    assert abs(diff - dt.timedelta(hours=8)) < dt.timedelta(seconds=2)


def test_the_configured_zone_is_used(app):
    """TIMEZONE in the config decides (one setting, config.py)."""
    with app.app_context():
        old = app.config["TIMEZONE"]
        app.config["TIMEZONE"] = "UTC"
        try:
            assert clock.to_local(dt.datetime(2024, 1, 1, 12)) == dt.datetime(2024, 1, 1, 12)
        finally:
            app.config["TIMEZONE"] = old

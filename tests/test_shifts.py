"""Shifts from the site pattern in its time zone, across midnight and DST changes."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from app.services.floor.shifts import parse_pattern, shift_at

CHICAGO = ZoneInfo("America/Chicago")
PATTERN = "06:00/14:00/22:00"


def local(*args) -> datetime:
    """A Chicago wall-clock time."""
    return datetime(*args, tzinfo=CHICAGO)


@pytest.mark.parametrize("now,day,code", [
    (local(2026, 11, 23, 6, 0), date(2026, 11, 23), "A"),
    (local(2026, 11, 23, 13, 59), date(2026, 11, 23), "A"),
    (local(2026, 11, 23, 14, 0), date(2026, 11, 23), "B"),
    (local(2026, 11, 23, 23, 30), date(2026, 11, 23), "C"),
    (local(2026, 11, 24, 5, 59), date(2026, 11, 23), "C"),  # night shift belongs to the day it started
])
def test_shift_at(now, day, code):
    """The shift containing an instant, with the date it started on."""
    shift = shift_at(PATTERN, "America/Chicago", now)
    assert (shift.date, shift.code) == (day, code)
    assert shift.start <= now.astimezone(timezone.utc) < shift.end


@pytest.mark.parametrize("day,expected", [(date(2026, 3, 7), 7), (date(2026, 10, 31), 9)])
def test_night_shift_over_dst_change(day, expected):
    """The 22:00 shift lasts 7 h when clocks spring forward and 9 h when they fall back (America/Chicago)."""
    shift = shift_at(PATTERN, "America/Chicago", local(day.year, day.month, day.day, 23, 0))
    assert (shift.end - shift.start).total_seconds() / 3600 == expected


@pytest.mark.parametrize("pattern", ["6am/2pm", "14:00/06:00", "", "06:00/06:00"])
def test_bad_pattern_is_named(pattern):
    """A malformed pattern raises with the pattern in the message."""
    with pytest.raises(ValueError, match="shift pattern"):
        parse_pattern(pattern)

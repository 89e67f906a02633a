"""Shifts from the site's pattern ('06:00/14:00/22:00') in its time zone."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UTC = ZoneInfo("UTC")

SHIFT_CODES = "ABCDEFGH"


@dataclass(frozen=True)
class Shift:
    """A shift: the local date it started on, its code, and its UTC-aware bounds."""

    date: date
    code: str
    start: datetime
    end: datetime


def parse_pattern(pattern: str) -> list[time]:
    """'06:00/14:00/22:00' → sorted start times; raises ValueError naming the bad part."""
    starts = []
    for part in pattern.split("/"):
        try:
            starts.append(time.fromisoformat(part.strip()))
        except ValueError as error:
            raise ValueError(f"shift pattern {pattern!r}: {part!r} is not HH:MM") from error
    if not starts or len(starts) > len(SHIFT_CODES) or sorted(starts) != starts or len(set(starts)) != len(starts):
        raise ValueError(f"shift pattern {pattern!r}: expected 1–8 increasing HH:MM times separated by '/'")
    return starts


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    # Compare in UTC: aware datetimes sharing one tzinfo compare by wall time, wrong across DST.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def shift_at(pattern: str, tz: str, now: datetime) -> Shift:
    """The shift that contains the instant now (a shift crossing midnight belongs to its start date)."""
    zone = ZoneInfo(tz)
    starts = parse_pattern(pattern)
    now = now.astimezone(UTC)
    local = now.astimezone(zone)
    candidates = []
    for offset in (-1, 0):
        day = local.date() + timedelta(days=offset)
        for index, start in enumerate(starts):
            candidates.append((_local(day, start, zone), day, index))
    begin, day, index = max(c for c in candidates if c[0] <= now)
    if index + 1 < len(starts):
        end = _local(day, starts[index + 1], zone)
    else:
        end = _local(day + timedelta(days=1), starts[0], zone)
    return Shift(day, SHIFT_CODES[index], begin, end)

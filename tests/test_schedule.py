"""Schedules with a frozen clock: windows, states, shift boundaries, midnight, DST days, grace, applies_to."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import FormVersion, Submission
from app.services.floor.schedule import (DONE, DUE, OVERDUE, UPCOMING, Counts, DoneRef, ScheduledForm, SiteClock,
                                   StationRef, counts, due_checks, station_checks)

CHICAGO = ZoneInfo("America/Chicago")
SITE = SiteClock("06:00/14:00/22:00", "America/Chicago")
PRESS1 = StationRef(1, "Press 1", "Line 1")
WELD1 = StationRef(2, "Weld 1", "Line 1")
PACK1 = StationRef(3, "Pack 1", "Line 2")
GRACE = timedelta(minutes=30)
EVERYWHERE = {"lines": [], "stations": []}


def local(*args) -> datetime:
    """A Chicago wall-clock time."""
    return datetime(*args, tzinfo=CHICAGO)


def form(schedule, form_id: str = "check", applies_to: dict | None = None, version_id: int = 1) -> ScheduledForm:
    """A scheduled form; schedule is the parsed definition value."""
    return ScheduledForm(form_id, version_id, form_id.title(), schedule, applies_to or EVERYWHERE)


def done(at: datetime, form_id: str = "check", station: StationRef = PRESS1, sub: str = "s1") -> DoneRef:
    """A submitted record of form_id at station."""
    return DoneRef(station.id, form_id, sub, at, "Op One")


def run(forms, now, refs=(), stations=(PRESS1,), grace=GRACE):
    """due_checks over the given forms."""
    return due_checks(SITE, list(stations), list(forms), list(refs), now, grace)


def windows(checks) -> list[tuple[str, str]]:
    """(local start HH:MM, state) of each check, by start time."""
    return [(c.start.astimezone(CHICAGO).strftime("%H:%M"), c.state) for c in sorted(checks, key=lambda c: c.start)]


PER_SHIFT = {"kind": "per_shift"}
HOURLY = {"kind": "hourly"}


def test_just_before_six_is_the_night_shift_and_six_the_day_shift():
    """05:59:59 belongs to the 22:00 shift (whose record counts); 06:00 opens a new per-shift window."""
    record = done(local(2026, 11, 24, 5, 50))
    [before] = run([form(PER_SHIFT)], local(2026, 11, 24, 5, 59, 59), [record])
    [after] = run([form(PER_SHIFT)], local(2026, 11, 24, 6, 0), [record])
    assert (before.start, before.end, before.state) == (local(2026, 11, 23, 22, 0), local(2026, 11, 24, 6, 0), DONE)
    assert before.submission_id == "s1" and before.submitted_by == "Op One"
    assert (after.start, after.end, after.state) == (local(2026, 11, 24, 6, 0), local(2026, 11, 24, 14, 0), DUE)
    assert after.submission_id is None


def test_record_after_midnight_counts_for_the_shift_that_started_the_day_before():
    """A submission at 01:00 on the 24th does the night shift that began at 22:00 on the 23rd."""
    [check] = run([form(PER_SHIFT)], local(2026, 11, 24, 3, 0), [done(local(2026, 11, 24, 1, 0))])
    assert check.state == DONE and check.start == local(2026, 11, 23, 22, 0)


def test_record_of_the_previous_shift_does_not_count():
    """A record made at 13:59 does not do the 14:00 shift's check."""
    [check] = run([form(PER_SHIFT)], local(2026, 11, 23, 15, 0), [done(local(2026, 11, 23, 13, 59))])
    assert check.state == OVERDUE


@pytest.mark.parametrize("evening,count,starts", [
    (local(2026, 3, 7, 23, 0), 7, ["22:00", "23:00", "00:00", "01:00", "03:00", "04:00", "05:00"]),
    (local(2026, 10, 31, 23, 0), 9, ["22:00", "23:00", "00:00", "01:00", "01:00", "02:00", "03:00", "04:00", "05:00"]),
])
def test_hourly_windows_in_the_night_shift_on_dst_change_days(evening, count, starts):
    """Spring forward gives the night shift 7 hourly windows, fall back 9, each one hour long in real time."""
    checks = run([form(HOURLY)], evening)
    assert len(checks) == count
    assert [s for s, _ in windows(checks)] == starts
    assert all(c.end - c.start == timedelta(hours=1) for c in checks)


@pytest.mark.parametrize("evening,hours", [(local(2026, 3, 7, 23, 0), 7), (local(2026, 10, 31, 23, 0), 9)])
def test_per_shift_window_on_dst_change_days(evening, hours):
    """The per-shift window is the whole night shift: 7 h on 2026-03-08, 9 h on 2026-11-01."""
    [check] = run([form(PER_SHIFT)], evening)
    assert check.end - check.start == timedelta(hours=hours)
    assert check.end.astimezone(CHICAGO).strftime("%H:%M") == "06:00"


def test_fall_back_repeated_hour_has_two_windows_each_done_separately():
    """On 2026-11-01 a record in the first 01:xx (CDT) does not do the second 01:xx (CST) window."""
    first_one_am = datetime(2026, 11, 1, 1, 15, tzinfo=CHICAGO)  # fold=0: CDT
    second_one_am = datetime(2026, 11, 1, 1, 20, fold=1, tzinfo=CHICAGO)  # CST
    checks = run([form(HOURLY)], second_one_am, [done(first_one_am)])
    states = [c.state for c in sorted(checks, key=lambda c: c.start)]
    assert states[3:5] == [DONE, DUE]


def test_hourly_day_shift_states():
    """At 09:10: 06:00 done, 07:00 and 08:00 overdue, 09:00 due, 10:00–13:00 upcoming."""
    checks = run([form(HOURLY)], local(2026, 11, 23, 9, 10), [done(local(2026, 11, 23, 6, 40))])
    assert windows(checks) == [("06:00", DONE), ("07:00", OVERDUE), ("08:00", OVERDUE), ("09:00", DUE),
                               ("10:00", UPCOMING), ("11:00", UPCOMING), ("12:00", UPCOMING), ("13:00", UPCOMING)]
    assert [c.closed for c in sorted(checks, key=lambda c: c.start)][:4] == [True, True, True, False]


def test_late_record_counts_for_the_window_it_was_submitted_in():
    """A record at 08:05 does the 08:00 window, not the missed 07:00 one."""
    checks = run([form(HOURLY)], local(2026, 11, 23, 8, 10), [done(local(2026, 11, 23, 8, 5))])
    assert windows(checks)[:3] == [("06:00", OVERDUE), ("07:00", OVERDUE), ("08:00", DONE)]


def test_every_n_minutes_last_window_is_cut_at_shift_end():
    """Every 45 min in an 8-hour shift: 11 windows, the last 13:30–14:00."""
    checks = sorted(run([form({"kind": "every", "minutes": 45})], local(2026, 11, 23, 6, 5)), key=lambda c: c.start)
    assert len(checks) == 11
    assert (checks[-1].start, checks[-1].end) == (local(2026, 11, 23, 13, 30), local(2026, 11, 23, 14, 0))


@pytest.mark.parametrize("now,state", [
    (local(2026, 11, 23, 6, 9, 59), DUE),
    (local(2026, 11, 23, 6, 10), OVERDUE),
])
def test_grace_is_capped_at_the_window_length(now, state):
    """An every-10-minute check is overdue when its window ends, not after the 30-minute grace."""
    checks = run([form({"kind": "every", "minutes": 10})], now)
    first = min(checks, key=lambda c: c.start)
    assert first.state == state and first.overdue_at == local(2026, 11, 23, 6, 10)


@pytest.mark.parametrize("now,state", [
    (local(2026, 11, 23, 5, 59, 59), None),  # the night shift: a different window
    (local(2026, 11, 23, 6, 29, 59), DUE),
    (local(2026, 11, 23, 6, 30), OVERDUE),
])
def test_grace_boundary(now, state):
    """Due until one second before start + grace; overdue exactly at start + grace."""
    [check] = run([form(PER_SHIFT)], now)
    if state is None:
        assert check.start == local(2026, 11, 22, 22, 0)
    else:
        assert check.state == state and check.overdue_at == local(2026, 11, 23, 6, 30)


def test_grace_comes_from_the_argument():
    """With 5 minutes' grace a per-shift check is overdue at 06:05."""
    [check] = run([form(PER_SHIFT)], local(2026, 11, 23, 6, 5), grace=timedelta(minutes=5))
    assert check.state == OVERDUE


@pytest.mark.parametrize("at,now,expected", [
    ("07:00", local(2026, 11, 23, 6, 30), [("07:00", UPCOMING)]),
    ("07:00", local(2026, 11, 23, 7, 29), [("07:00", DUE)]),
    ("07:00", local(2026, 11, 23, 15, 0), []),  # not inside the 14:00 shift
    ("23:00", local(2026, 11, 24, 2, 0), [("23:00", OVERDUE)]),  # inside the night shift, the day before
    ("02:30", local(2026, 11, 23, 23, 0), [("02:30", UPCOMING)]),  # after midnight, still this shift
])
def test_daily_window_inside_or_outside_the_shift(at, now, expected):
    """A daily check has one window, from its time to the shift end, only in the shift that contains the time."""
    checks = run([form({"kind": "daily", "at": at})], now)
    assert windows(checks) == expected
    assert all(c.end.astimezone(CHICAGO).hour in (6, 14, 22) for c in checks)


def test_daily_time_skipped_by_spring_forward_moves_forward():
    """02:30 does not exist on 2026-03-08 in Chicago: the window starts at 03:30 CDT."""
    [check] = run([form({"kind": "daily", "at": "02:30"})], local(2026, 3, 7, 23, 0))
    assert check.start == datetime(2026, 3, 8, 8, 30, tzinfo=ZoneInfo("UTC"))
    assert check.start.astimezone(CHICAGO).strftime("%H:%M %Z") == "03:30 CDT"


@pytest.mark.parametrize("schedule,now,expected", [
    ({"kind": "weekly", "day": "fri", "at": "13:00"}, local(2026, 3, 6, 13, 10), [("13:00", DUE)]),  # a Friday
    ({"kind": "weekly", "day": "fri", "at": "13:00"}, local(2026, 3, 5, 13, 10), []),  # a Thursday
    ({"kind": "weekly", "day": "fri", "at": "13:00"}, local(2026, 3, 6, 15, 0), []),  # Friday, later shift
    ({"kind": "weekly", "day": "mon", "at": "02:00"}, local(2026, 11, 22, 23, 0), [("02:00", UPCOMING)]),  # Sun night
])
def test_weekly_window_only_on_its_day(schedule, now, expected):
    """A weekly check has a window only in the shift that contains its weekday and time."""
    assert windows(run([form(schedule)], now)) == expected


def test_on_demand_has_no_windows():
    """An on-demand form is never due."""
    assert run([form({"kind": "on_demand"})], local(2026, 11, 23, 9, 0)) == []


def test_done_by_a_record_of_an_older_version():
    """A record of version 1 does the check whose newest version is 2 (matched by form id)."""
    [check] = run([form(PER_SHIFT, version_id=2)], local(2026, 11, 23, 9, 0), [done(local(2026, 11, 23, 7, 0))])
    assert check.state == DONE and check.form_version_id == 2


def test_records_of_another_form_or_station_do_not_count():
    """A record does only its own form at its own station."""
    refs = [done(local(2026, 11, 23, 7, 0), form_id="other"), done(local(2026, 11, 23, 7, 0), station=WELD1)]
    [check] = run([form(PER_SHIFT)], local(2026, 11, 23, 9, 0), refs)
    assert check.state == OVERDUE


@pytest.mark.parametrize("applies_to,stations", [
    ({"lines": [], "stations": []}, {1, 2, 3}),
    ({"lines": [], "stations": ["Press 1"]}, {1}),
    ({"lines": ["Line 2"], "stations": []}, {3}),
    ({"lines": ["Line 2"], "stations": ["Weld 1"]}, {2, 3}),
])
def test_applies_to_filters_stations(applies_to, stations):
    """Empty applies_to is everywhere; otherwise the named stations and the stations of the named lines."""
    checks = run([form(PER_SHIFT, applies_to=applies_to)], local(2026, 11, 23, 9, 0), stations=(PRESS1, WELD1, PACK1))
    assert {c.station_id for c in checks} == stations


def test_order_is_overdue_due_upcoming_done_and_counts():
    """Per station: overdue first, then due, upcoming, done, each by start; counts tally the states."""
    forms = [form(HOURLY, "hourly"), form(PER_SHIFT, "shift"), form({"kind": "daily", "at": "09:00"}, "daily")]
    refs = [done(local(2026, 11, 23, 6, 20), form_id="shift")]
    checks = run(forms, local(2026, 11, 23, 8, 10), refs)
    assert [(c.form_id, c.state) for c in checks[:4]] == [
        ("hourly", OVERDUE), ("hourly", OVERDUE), ("hourly", DUE), ("daily", UPCOMING)]
    assert checks[-1].form_id == "shift" and checks[-1].state == DONE
    assert counts(checks) == Counts(done=1, due=1, overdue=2, upcoming=6)


# ---------------------------------------------------------------- the database wrapper


def _submit_at(make_record, user, at: datetime, form_id: str = "press-start-of-shift", station: str = "Press 1"):
    """A record submitted at the frozen time at."""
    from app.models.types import frozen_clock
    with frozen_clock(at):
        return make_record(user, form_id, station)


def test_station_checks_counts_submitted_records_and_an_older_version(app, plant, users, make_record, start_draft):
    """A record of v1 does the check after v2 is published; a draft or a void record does nothing."""
    record = _submit_at(make_record, users.operator, local(2026, 11, 23, 6, 40))
    v1 = plant.forms["press-start-of-shift"]
    db.session.add(FormVersion(form_id=v1.form_id, version=2, title=v1.title, kind=v1.kind,
                               definition_json=v1.definition_json, sha256="0" * 64, source_file=v1.source_file))
    db.session.commit()
    v2 = db.session.scalar(select(FormVersion).where(FormVersion.form_id == v1.form_id, FormVersion.version == 2))
    press1 = plant.stations["Press 1"]
    [check] = [c for c in station_checks([press1], local(2026, 11, 23, 9, 0))[press1.id]
               if c.form_id == "press-start-of-shift"]
    assert (check.state, check.form_version_id, check.submission_id) == (DONE, v2.id, record.id)
    assert check.submitted_by == users.operator.printed_name


def test_drafts_and_void_records_do_not_count(app, plant, users, make_record, start_draft):
    """A draft at Press 1 and a voided record at Press 2 leave both checks overdue."""
    from app.models.types import frozen_clock
    with frozen_clock(local(2026, 11, 23, 6, 40)):
        start_draft(users.operator, station="Press 1")
    voided = _submit_at(make_record, users.operator, local(2026, 11, 23, 6, 45), station="Press 2")
    voided.status = "void"
    db.session.commit()
    stations = [plant.stations["Press 1"], plant.stations["Press 2"]]
    found = station_checks(stations, local(2026, 11, 23, 9, 0))
    for station in stations:
        [check] = [c for c in found[station.id] if c.form_id == "press-start-of-shift"]
        assert check.state == OVERDUE


def test_station_checks_grace_from_config(app, plant):
    """OVERDUE_GRACE_MINUTES sets when a due check turns overdue."""
    press1 = plant.stations["Press 1"]
    app.config["OVERDUE_GRACE_MINUTES"] = 90
    [check] = [c for c in station_checks([press1], local(2026, 11, 23, 7, 0))[press1.id]
               if c.form_id == "press-start-of-shift"]
    assert check.state == DUE and check.overdue_at == local(2026, 11, 23, 7, 30)


def test_station_checks_is_three_queries_for_every_station(app, plant, users, make_record):
    """Site, newest versions and the shift's records: the query count does not grow with stations or records."""
    _submit_at(make_record, users.operator, local(2026, 11, 23, 6, 40))
    stations = list(plant.stations.values())
    for station in stations:
        assert station.line.name  # the board loads lines with its stations
    statements = []
    listener = lambda *args: args[2].startswith("SELECT") and statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        found = station_checks(stations, local(2026, 11, 23, 9, 0))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 3, statements
    assert set(found) == {s.id for s in stations}
    assert sum(c.state == DONE for checks in found.values() for c in checks) == 1
    assert db.session.scalar(select(Submission.status)) == "submitted"

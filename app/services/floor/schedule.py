"""Schedules: each station's checks of the current shift, done, due, overdue or upcoming (DESIGN.md §4).

No scheduler process: the state is computed from the clock and the records, so it is always
consistent and testable with a frozen clock. `due_checks` is pure; `station_checks` feeds it from
the database with three cheap queries (site, newest form versions, the shift's submissions).

Windows of the shift that contains `now` (the site's shift pattern in its time zone; arithmetic in
UTC, so a night shift of 7 or 9 hours on a DST change day has 7 or 9 hourly windows):

- per_shift: one window, the whole shift.
- hourly / every N: a window every 60 / N minutes from the shift start; the last one ends at the
  shift end.
- daily "HH:MM": one window from that local time to the shift end, when the time falls inside the
  shift; a local time that spring-forward skips (02:30) moves forward as zoneinfo does (03:30).
- weekly "day HH:MM": the same, on that weekday only.
- on_demand: no window.

A window is *done* when a record of the form (any version) at the station, submitted and not void,
has submitted_at inside [start, end); *upcoming* before its start; *overdue* from start + grace
(the grace capped at the window's length, so a 10-minute check is overdue when its window ends);
*due* in between. A late record counts for the window it was submitted in, never an earlier one.
"""
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.definitions.vocabulary import DAYS
from app.extensions import db
from app.models import FormVersion, Site, Station, Submission, User
from app.models.submission import DRAFT, VOID
from app.models.types import utcnow
from app.services.floor import catalogue
from app.services.floor.shifts import UTC, Shift, shift_at

DONE, DUE, OVERDUE, UPCOMING = "done", "due", "overdue", "upcoming"
_ORDER = {OVERDUE: 0, DUE: 1, UPCOMING: 2, DONE: 3}


@dataclass(frozen=True)
class SiteClock:
    """The site's shift pattern ('06:00/14:00/22:00') and IANA time zone."""

    shift_pattern: str
    timezone: str


@dataclass(frozen=True)
class StationRef:
    """A station as the schedule sees it: id, name and its line's name (for applies_to)."""

    id: int
    name: str
    line_name: str


@dataclass(frozen=True)
class ScheduledForm:
    """The newest version of a form: its schedule and applies_to as parsed from the definition."""

    form_id: str
    form_version_id: int
    title: str
    schedule: Mapping[str, Any]
    applies_to: Mapping[str, list[str]]


@dataclass(frozen=True)
class DoneRef:
    """A submitted (not void) record: where, which form, when and by whom."""

    station_id: int
    form_id: str
    submission_id: str
    submitted_at: datetime
    submitted_by: str


@dataclass(frozen=True)
class DueCheck:
    """One window of one form at one station, with its state (and the record that did it)."""

    station_id: int
    form_id: str
    form_version_id: int
    title: str
    start: datetime
    end: datetime
    state: str
    overdue_at: datetime
    closed: bool  # the window has ended: a record made now counts for a later window, not this one
    submission_id: str | None = None
    submitted_at: datetime | None = None
    submitted_by: str | None = None


@dataclass(frozen=True)
class Counts:
    """How many windows are in each state (the board's tile numbers)."""

    done: int
    due: int
    overdue: int
    upcoming: int


@dataclass(frozen=True)
class StationDue:
    """A station's checks of the current shift grouped for its home page, with this shift's drafts by form."""

    overdue: list[DueCheck]
    due: list[DueCheck]
    upcoming: list[DueCheck]
    done: list[DueCheck]
    resume: dict[str, Submission]

    @property
    def any(self) -> bool:
        """True when something is scheduled here this shift."""
        return bool(self.overdue or self.due or self.upcoming or self.done)

    @property
    def startable(self) -> set[str]:
        """Form ids that the due list offers to start (an open window, no draft of this shift)."""
        return {c.form_id for c in self.overdue + self.due if not c.closed and c.form_id not in self.resume}


def due_checks(site: SiteClock, stations: Sequence[StationRef], definitions: Sequence[ScheduledForm],
               submissions: Sequence[DoneRef], now: datetime, grace: timedelta) -> list[DueCheck]:
    """Every window of the shift containing now, per station and applicable form, with its state."""
    zone = ZoneInfo(site.timezone)
    shift = shift_at(site.shift_pattern, site.timezone, now)
    now = now.astimezone(UTC)
    done: dict[tuple[int, str], list[DoneRef]] = {}
    for ref in sorted(submissions, key=lambda r: r.submitted_at):
        done.setdefault((ref.station_id, ref.form_id), []).append(ref)
    checks = []
    for station in stations:
        found = []
        for form in definitions:
            if not catalogue.scope_includes(form.applies_to, station.name, station.line_name):
                continue
            refs = done.get((station.id, form.form_id), [])
            for start, end in windows(form.schedule, shift, zone):
                hit = next((r for r in refs if start <= r.submitted_at < end), None)
                found.append(_check(station, form, start, end, hit, now, grace))
        checks.extend(sorted(found, key=lambda c: (_ORDER[c.state], c.start, c.title)))
    return checks


def windows(schedule: Mapping[str, Any], shift: Shift, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The [start, end) windows (UTC-aware) that a schedule gives in a shift."""
    kind = schedule["kind"]
    if kind == "per_shift":
        return [(shift.start, shift.end)]
    if kind in ("hourly", "every"):
        step = timedelta(minutes=60 if kind == "hourly" else schedule["minutes"])
        found, start = [], shift.start
        while start < shift.end:
            found.append((start, min(start + step, shift.end)))
            start += step
        return found
    if kind in ("daily", "weekly"):
        at = time.fromisoformat(schedule["at"])
        weekday = DAYS.index(schedule["day"]) if kind == "weekly" else None
        for day in _local_days(shift, zone):
            # fold=0: a skipped local time lands after the jump, an ambiguous one on its first occurrence.
            start = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
            if (weekday is None or day.weekday() == weekday) and shift.start <= start < shift.end:
                return [(start, shift.end)]
    return []  # on_demand


def _local_days(shift: Shift, zone: ZoneInfo) -> list[date]:
    first, last = shift.start.astimezone(zone).date(), shift.end.astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _check(station: StationRef, form: ScheduledForm, start: datetime, end: datetime, hit: DoneRef | None,
           now: datetime, grace: timedelta) -> DueCheck:
    overdue_at = start + min(grace, end - start)
    state = DONE if hit else UPCOMING if now < start else OVERDUE if now >= overdue_at else DUE
    return DueCheck(station.id, form.form_id, form.form_version_id, form.title, start, end, state, overdue_at,
                    now >= end, hit and hit.submission_id, hit and hit.submitted_at, hit and hit.submitted_by)


def counts(checks: Sequence[DueCheck]) -> Counts:
    """Windows per state."""
    tally = Counter(c.state for c in checks)
    return Counts(done=tally[DONE], due=tally[DUE], overdue=tally[OVERDUE], upcoming=tally[UPCOMING])


_PLANS: dict[str, tuple[dict, object]] = {}  # a version's sha256 -> its (schedule, applies_to)


def scheduled_forms() -> list[ScheduledForm]:
    """The newest version of every form that has a schedule (on_demand left out). A version never changes
    (its sha256 names its content), so its definition is parsed once per process, not at every board render."""
    forms = []
    for v in catalogue.latest_versions():
        if v.sha256 not in _PLANS:
            if len(_PLANS) >= 1000:
                _PLANS.clear()
            _PLANS[v.sha256] = (v.definition["schedule"], v.definition["applies_to"])
        schedule, applies_to = _PLANS[v.sha256]
        if schedule["kind"] != "on_demand":
            forms.append(ScheduledForm(v.form_id, v.id, v.title, schedule, applies_to))
    return forms


def current_shift(now: datetime | None = None) -> tuple[SiteClock, Shift] | None:
    """The site's clock and the shift containing now (None before a site exists)."""
    site = db.session.scalar(select(Site))
    if site is None:
        return None
    clock = SiteClock(site.shift_pattern, site.timezone)
    return clock, shift_at(clock.shift_pattern, clock.timezone, now or utcnow())


def station_checks(stations: list[Station], now: datetime | None = None,
                   grace: timedelta | None = None) -> dict[int, list[DueCheck]]:
    """The current shift's checks by station id, each list overdue first, then due, upcoming, done."""
    now = now or utcnow()
    return _station_checks(stations, now, grace, current_shift(now))


def _station_checks(stations: list[Station], now: datetime, grace: timedelta | None,
                    found: tuple[SiteClock, Shift] | None) -> dict[int, list[DueCheck]]:
    result: dict[int, list[DueCheck]] = {s.id: [] for s in stations}
    forms = scheduled_forms() if found and stations else []
    if not forms:
        return result
    clock, shift = found
    if grace is None:
        grace = timedelta(minutes=current_app.config["OVERDUE_GRACE_MINUTES"])
    refs = [StationRef(s.id, s.name, s.line.name) for s in stations]
    for check in due_checks(clock, refs, forms, _done_refs(list(result), shift), now, grace):
        result[check.station_id].append(check)
    return result


def _done_refs(station_ids: list[int], shift: Shift) -> list[DoneRef]:
    # One query on (station_id, submitted_at): ix_submission_station_id_submitted_at serves it.
    rows = db.session.execute(
        select(Submission.station_id, FormVersion.form_id, Submission.id, Submission.submitted_at, User.printed_name)
        .join(FormVersion, FormVersion.id == Submission.form_version_id)
        .outerjoin(User, User.id == Submission.submitted_by_id)
        .where(Submission.station_id.in_(station_ids), Submission.status.not_in((DRAFT, VOID)),
               Submission.submitted_at >= shift.start, Submission.submitted_at < shift.end))
    return [DoneRef(station_id, form_id, sub_id, at, name or "") for station_id, form_id, sub_id, at, name in rows]


def station_due(station: Station, drafts: Sequence[Submission], now: datetime | None = None) -> StationDue:
    """A station's checks grouped by state for its home page; drafts started this shift can be resumed."""
    now = now or utcnow()
    found = current_shift(now)
    checks = _station_checks([station], now, None, found)[station.id]
    resume: dict[str, Submission] = {}
    if found:
        shift = found[1]
        for draft in drafts:  # newest first: keep the newest draft of each form
            if (draft.shift_date, draft.shift_code) == (shift.date, shift.code):
                resume.setdefault(draft.form_version.form_id, draft)
    grouped: dict[str, list[DueCheck]] = {state: [] for state in _ORDER}
    for check in checks:
        grouped[check.state].append(check)
    return StationDue(grouped[OVERDUE], grouped[DUE], grouped[UPCOMING], grouped[DONE], resume)

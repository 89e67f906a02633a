"""The demo's floor life besides records: supervisors working deviations, downtime, a board screen.

Everything runs through the same services people use, on a frozen clock, from an agenda kept in time
order so the audit trail's clock only moves forward.
"""
import heapq
import itertools
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Area, BoardScreen, Deviation, DowntimeEvent, Station, User
from app.models.deviation import OPEN
from app.models.types import frozen_clock, utcnow
from app.services.board import boards
from app.services.floor import downtime, reasons
from app.services.quality import deviations
from app.services.core.audit import Actor

# (options considered, constraints, decision, notes, resolution) — what a supervisor writes down.
PLAYBOOK = [
    ("Re-set the relief valve and re-check; run on the spare press; stop and call maintenance.",
     "Only one maintenance tech on shift; customer order ships at 14:00.", "adjust",
     "Re-set by maintenance, re-check after 10 minutes before releasing parts.",
     "Valve re-set, reading back to 150 bar; the last 10 parts re-inspected, all good."),
    ("Hold the last hour's parts for 100 % inspection; scrap them; release with a concession.",
     "No concession allowed for safety-critical torque joints.", "hold",
     "Hold the tote from 09:00 on, tag it red, 100 % re-torque check.",
     "64 parts re-checked: 2 under torque reworked, the rest released."),
    ("Rework on line; send to the rework cell; scrap.", "Rework cell is full until tomorrow.", "rework",
     "Rework at the station with a second torque check by the lead.",
     "Reworked and re-inspected; root cause a worn socket, replaced."),
    ("Continue with closer checks; stop the line until the fixture is swapped.",
     "Spare fixture available; changeover takes 20 minutes.", "continue",
     "Continue with checks every 30 minutes until the spare fixture is fitted at break.",
     "Spare fixture fitted at break; readings centred again."),
]
DEMO_SCREEN = "Assembly hall TV"
# (reason code, notes, minutes down, what fixed it)
STOPS = [
    ("hydraulic_leak", "Oil under the main cylinder.", 42, "Replaced the cracked hose, topped up oil, ran 5 test strokes."),
    ("die_change", "Planned change to part 4471.", 25, "Die set and first-off approved."),
    ("sensor_fault", "Light curtain faulting at random.", 18, "Cleaned the receiver lens and re-aligned the curtain."),
    ("coil_shortage", "Waiting for coil from the warehouse.", 35, "Coil delivered and threaded."),
    ("jam", "Part stuck in the transfer.", 12, "Cleared the jam, checked the sensor."),
]


class Agenda:
    """Timed actions run in time order; `until` runs those due, never before the newest event so far."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def add(self, at: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (at, next(self._order), action))

    def until(self, moment: datetime, last: datetime) -> datetime:
        while self._heap and self._heap[0][0] <= moment:
            due, _n, action = heapq.heappop(self._heap)
            last = max(due, last)
            with frozen_clock(last):
                action()
        return last


def plan_deviation_steps(agenda: Agenda, submission_id: str, supervisor: User, raised: datetime, now: datetime,
                         rng: random.Random) -> None:
    """The supervisor works each deviation of a record; the newest ones are left part-way for the inbox."""
    for deviation in db.session.scalars(select(Deviation).where(Deviation.submission_id == submission_id,
                                                                 Deviation.status == OPEN)):
        options, constraints, decision, notes, resolution = rng.choice(PLAYBOOK)
        actor, age = Actor(supervisor.id), now - raised
        steps = [(20, deviations.acknowledge, ())]
        if age > timedelta(hours=3):
            steps.append((25, deviations.decide, (options, constraints, decision, supervisor, notes)))
        if age > timedelta(hours=10):
            steps += [(120, deviations.resolve, (resolution,)), (240, deviations.close, ())]
        _chain(agenda, deviation.id, actor, raised, steps, rng)


def _chain(agenda: Agenda, deviation_id: int, actor: Actor, after: datetime, steps: list, rng: random.Random) -> None:
    """Schedule the first step; each step, once done, schedules the next (times stay in order if one runs late)."""
    if not steps:
        return
    (minutes, action, args), rest = steps[0], steps[1:]

    def run() -> None:
        action(db.session.get(Deviation, deviation_id), *args, actor)
        _chain(agenda, deviation_id, actor, utcnow(), rest, rng)
    agenda.add(after + timedelta(minutes=minutes + rng.randint(0, 10)), run)


def plan_downtime(agenda: Agenda, stations: list[Station], operator: User, shift_start: datetime,
                  rng: random.Random) -> None:
    """Now and then a station stops during a shift and is fixed within it."""
    if rng.random() > 0.4:
        return
    station_id = rng.choice(stations).id
    code, notes, minutes, fix = rng.choice(STOPS)
    duration = timedelta(minutes=minutes + rng.randint(0, 15))
    actor = Actor(operator.id)

    def end() -> None:
        event = downtime.running_at(db.session.get(Station, station_id))
        if event is not None:
            downtime.stop_downtime(event, fix, actor)

    def begin() -> None:
        station = db.session.get(Station, station_id)
        if downtime.running_at(station) is None:
            downtime.start_downtime(station, code, notes, actor)
            agenda.add(utcnow() + duration, end)
    agenda.add(shift_start + timedelta(minutes=rng.randint(60, 300)), begin)


def current_state(agenda: Agenda, operator: User, now: datetime) -> None:
    """When the demo starts, Press 2 has been down for 25 minutes and Weld 1 has a problem reported by hand
    40 minutes ago, so the board and the supervisor's inbox have something live to show."""
    press, weld = (db.session.scalar(select(Station).where(Station.name == name)) for name in ("Press 2", "Weld 1"))
    actor = Actor(operator.id)
    if press is not None and downtime.running_at(press) is None:
        press_id = press.id
        agenda.add(now - timedelta(minutes=25), lambda: downtime.start_downtime(
            db.session.get(Station, press_id), "hydraulic_leak", "Oil dripping from the ram seal; maintenance called.",
            actor))
    if weld is not None:
        weld_id = weld.id
        agenda.add(now - timedelta(minutes=40), lambda: deviations.raise_manual(
            db.session.get(Station, weld_id), "Spatter on the fixture locating pins: brackets sit 1 mm high, "
            "6 parts set aside", reasons.deviation_causes()[0], "Pins not cleaned at the last tip dress",
            "Cleaned the pins, quarantined the 6 parts in a red tote", actor))


def board_screen() -> boards.NewScreen:
    """The demo's TV for the Assembly area, with a kiosk URL to print: made on the first run; on each later run
    given a new URL, since only a hash of the old one is kept (the URL printed before stops working)."""
    screen = db.session.scalar(select(BoardScreen).where(BoardScreen.name == DEMO_SCREEN,
                                                         BoardScreen.revoked_at.is_(None)).order_by(BoardScreen.id))
    if screen is not None:
        return boards.renew_screen_url(screen, Actor(None))
    area = db.session.scalar(select(Area).where(Area.name == "Assembly"))
    return boards.create_screen(DEMO_SCREEN, area.id if area else None, Actor(None))


def downtime_count() -> int:
    """How many stops the demo plant has on record."""
    return db.session.scalar(select(func.count(DowntimeEvent.id)))

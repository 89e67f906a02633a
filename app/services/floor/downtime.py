"""Downtime: a station stops for a reason from the reason tree and runs again once something fixed it."""
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import DowntimeEvent, Station
from app.models.types import utcnow
from app.services.board import board_feed
from app.services.core import audit
from app.services.core.audit import Actor
from app.services.core.errors import DomainError
from app.services.core.site import site_zone
from app.services.floor import reasons
from app.services.floor.device_time import moment as device_time_moment

NOTES_MAX = 2000
FIX_MAX = 2000
FIX_MISSING = "What fixed it? Describe the repair or action, e.g. 'replaced hose, topped up oil'."


class DowntimeConflict(DomainError):
    """The station's downtime is not in the state the request assumed (already down, already running)."""

    status = 409


def running_at(station: Station) -> DowntimeEvent | None:
    """The station's downtime that has not ended yet, if any."""
    return db.session.scalar(
        select(DowntimeEvent).where(DowntimeEvent.station_id == station.id, DowntimeEvent.ended_at.is_(None))
    )


def running_by_station() -> dict[int, DowntimeEvent]:
    """Every running downtime keyed by station id, in one query (the live board's tiles)."""
    events = db.session.scalars(select(DowntimeEvent).where(DowntimeEvent.ended_at.is_(None)))
    return {event.station_id: event for event in events}


def recent_at(station: Station, limit: int = 5) -> list[DowntimeEvent]:
    """The station's latest downtime events, newest first, running or ended."""
    return list(db.session.scalars(
        select(DowntimeEvent).where(DowntimeEvent.station_id == station.id)
        .order_by(DowntimeEvent.started_at.desc(), DowntimeEvent.id.desc()).limit(limit)
    ))


def get_station(station_id: int) -> Station:
    """The station downtime is reported at, or a 422 naming the field."""
    station = db.session.get(Station, station_id)
    if station is None:
        raise DomainError("Unknown station.", {"station_id": [f"No station has id {station_id}; choose one from the list."]})
    return station


def get_event(event_id: int) -> DowntimeEvent:
    """The downtime event or a 404."""
    event = db.session.get(DowntimeEvent, event_id)
    if event is None:
        raise DomainError("No such downtime event.", status=404)
    return event


def start_downtime(station: Station, reason_code: str, notes: str | None, actor: Actor,
                   device_time: datetime | None = None) -> DowntimeEvent:
    """Mark the station down for a reason (a leaf of the reason tree); refused while it is already down.
    A start the tablet kept offline is dated by its clock (device_time.moment)."""
    label = reasons.downtime_reason(reason_code)
    running = running_at(station)
    if running is not None:
        raise _already_down(station, running)
    event = DowntimeEvent(station_id=station.id, reason_code=reason_code, reason_label=label,
                          notes=_clean(notes, NOTES_MAX), started_at=device_time_moment(device_time, utcnow()),
                          started_by_id=actor.user_id)
    db.session.add(event)
    try:
        db.session.flush()
    except IntegrityError:
        # Another tablet started one between our check and our insert; the partial unique index won.
        db.session.rollback()
        running = running_at(station)
        if running is None:  # not the race: some other constraint failed
            raise
        raise _already_down(station, running) from None
    audit.record(actor, "downtime.started", "downtime_event", event.id, after=_state(event))
    board_feed.touch("downtime", station.id)
    db.session.commit()
    return event


def stop_downtime(event: DowntimeEvent, fix: str, actor: Actor, device_time: datetime | None = None) -> DowntimeEvent:
    """End a running downtime, recording what fixed it (required); a stop kept offline keeps its time."""
    if event.ended_at is not None:
        raise DowntimeConflict(
            f"This downtime already ended at {_local(event.ended_at)}; the station is running again.",
            {"fix": ["Nothing to stop: reload the station page."]})
    fixed = _clean(fix, FIX_MAX)
    if fixed is None:
        raise DomainError("Say what fixed it before marking the station as running.",
                          {"fix": [FIX_MISSING]})
    before = _state(event)
    ended_at = device_time_moment(device_time, utcnow(), not_before=event.started_at)
    event.ended_at, event.ended_by_id, event.fix = ended_at, actor.user_id, fixed
    db.session.flush()
    audit.record(actor, "downtime.stopped", "downtime_event", event.id, before=before, after=_state(event))
    board_feed.touch("downtime", event.station_id)
    db.session.commit()
    return event


def running_or_conflict(station: Station) -> DowntimeEvent:
    """The downtime running at station, or a 409 saying that none is."""
    running = running_at(station)
    if running is None:
        raise DowntimeConflict(f"No downtime is running at {station.name}; the station is running.",
                               {"fix": ["Nothing to stop: reload the station page."]})
    return running


def _already_down(station: Station, running: DowntimeEvent | None) -> DowntimeConflict:
    if running is None:  # the winner of a race has ended already; the caller may simply try again
        return DowntimeConflict(f"{station.name} changed just now; reload the page and try again.",
                                {"reason_code": ["Reload the station page."]})
    message = (f"{station.name} is already down since {_local(running.started_at)} ({running.reason_label}); "
               "mark it running again before reporting new downtime.")
    return DowntimeConflict(message, {"reason_code": [message]})


def _local(moment: datetime) -> str:
    """'06:42 CST' in the site's zone: the words an operator reads on the wall clock."""
    return moment.astimezone(site_zone()).strftime("%H:%M %Z")


def _clean(text: str | None, limit: int) -> str | None:
    text = (text or "").strip()
    return text[:limit] or None


def _state(event: DowntimeEvent) -> dict[str, Any]:
    return {
        "station_id": event.station_id,
        "reason_code": event.reason_code,
        "reason_label": event.reason_label,
        "notes": event.notes,
        "started_at": event.started_at.isoformat(),
        "started_by_id": event.started_by_id,
        "ended_at": event.ended_at.isoformat() if event.ended_at else None,
        "ended_by_id": event.ended_by_id,
        "fix": event.fix,
    }

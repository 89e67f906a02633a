"""Board screens and what their tiles show: status, checks this shift, deviations, downtime, activity."""
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from app.canonical import sha256_hex
from app.services.core.errors import DomainError
from app.extensions import db
from app.models import Area, BoardEvent, BoardScreen, Deviation, DowntimeEvent, Line, Site, Station
from app.models.types import utcnow
from app.services.board import board_feed
from app.services.core import audit
from app.services.floor import downtime, schedule
from app.services.quality import deviations
from app.services.core.audit import Actor
from app.services.floor.shifts import Shift, shift_at

RUNNING, DOWN, ATTENTION = "running", "down", "attention"


@dataclass
class Tile:
    """One station as the board shows it."""

    station: Station
    status: str
    downtime: DowntimeEvent | None
    deviations: list[Deviation]
    counts: schedule.Counts
    overdue_titles: list[str]
    last_activity: datetime | None


@dataclass
class Summary:
    """The header line: how many stations are down or need attention, open deviations, overdue checks."""

    down: int = 0
    attention: int = 0
    deviations: int = 0
    overdue: int = 0


@dataclass
class BoardView:
    """A whole screen: its title, the shift, the tiles in area/line/station order, and the feed position."""

    title: str
    site_name: str
    shift: Shift
    tiles: list[Tile]
    last_event_id: int
    summary: Summary = field(default_factory=Summary)


# ---- screens -------------------------------------------------------------------------------

class NewScreen(NamedTuple):
    """A screen just made (or given a new URL) and its kiosk token: the only moment the token is known, since
    only its sha256 is kept (as a tablet's device cookie is)."""

    screen: BoardScreen
    token: str


def create_screen(name: str, area_id: int | None, actor: Actor) -> NewScreen:
    """A new kiosk screen (whole site when area_id is None) with a fresh secret token, returned once."""
    name = name.strip()
    if not name:
        raise DomainError("The screen needs a name.", {"name": ["Give the screen a name, e.g. 'Line 1 TV'."]})
    if area_id is not None and db.session.get(Area, area_id) is None:
        raise DomainError("Unknown area.", {"area_id": ["Choose an area from the list, or the whole site."]})
    token = secrets.token_urlsafe(24)
    screen = BoardScreen(name=name, area_id=area_id, token_sha256=sha256_hex(token), created_by_id=actor.user_id)
    db.session.add(screen)
    db.session.flush()
    audit.record(actor, "board_screen.created", "board_screen", screen.id, after={"name": name, "area_id": area_id})
    db.session.commit()
    return NewScreen(screen, token)


def renew_screen_url(screen: BoardScreen, actor: Actor) -> NewScreen:
    """A new kiosk token for a live screen: its old URL answers 404 from now on (a TV streaming on it goes on
    until it reconnects); the new token is returned once."""
    if screen.revoked_at is not None:
        raise DomainError(f"Screen '{screen.name}' is revoked.", status=409)
    token = secrets.token_urlsafe(24)
    screen.token_sha256 = sha256_hex(token)
    audit.record(actor, "board_screen.url_renewed", "board_screen", screen.id)
    db.session.commit()
    return NewScreen(screen, token)


def revoke_screen(screen: BoardScreen, actor: Actor) -> None:
    """The screen's URL stops working at once and its open streams end."""
    if screen.revoked_at is not None:
        raise DomainError(f"Screen '{screen.name}' is already revoked.", status=409)
    screen.revoked_at = utcnow()
    audit.record(actor, "board_screen.revoked", "board_screen", screen.id, before={"revoked_at": None},
                 after={"revoked_at": screen.revoked_at.isoformat()})
    board_feed.touch("screen", None)
    db.session.commit()


def screens() -> list[BoardScreen]:
    """Every screen, newest first."""
    return list(db.session.scalars(select(BoardScreen).order_by(BoardScreen.id.desc())))


def screen_for_token(token: str) -> BoardScreen:
    """The live screen with this token, or 404 (unknown and revoked look the same); found by the token's sha256."""
    screen = db.session.scalar(select(BoardScreen).where(BoardScreen.token_sha256 == sha256_hex(token)))
    if screen is None or screen.revoked_at is not None:
        raise DomainError("No such board screen.", status=404)
    return screen


# ---- tiles ---------------------------------------------------------------------------------

def screen_stations(screen: BoardScreen) -> list[Station]:
    """The stations a screen shows, in area, line, station order."""
    return area_stations(screen.area_id)


def area_stations(area_id: int | None, station_ids: set[int] | None = None) -> list[Station]:
    """The stations of an area (None: the whole site), or only those of station_ids, in board order."""
    query = (select(Station).join(Station.line).join(Line.area)
             .options(contains_eager(Station.line).contains_eager(Line.area))  # one query, not three
             .order_by(Area.name, Line.name, Station.name))
    if area_id is not None:
        query = query.where(Line.area_id == area_id)
    if station_ids is not None:
        query = query.where(Station.id.in_(station_ids))
    return list(db.session.scalars(query))


def header_view(area_id: int | None, summary: Summary, position: int, now: datetime | None = None) -> BoardView:
    """The header of an area's board (no tiles): title, shift and the totals given."""
    now = now or utcnow()
    site = db.session.scalar(select(Site))
    area = db.session.get(Area, area_id) if area_id is not None else None
    return BoardView(title=area.name if area else site.name, site_name=site.name,
                     shift=shift_at(site.shift_pattern, site.timezone, now), tiles=[], last_event_id=position,
                     summary=summary)


def latest_event_id() -> int:
    """The feed's position (0 when empty)."""
    return db.session.scalar(select(func.max(BoardEvent.id))) or 0


def events_after(event_id: int, limit: int = 1000) -> list[BoardEvent]:
    """Feed rows after event_id, oldest first (Last-Event-ID replay)."""
    return list(db.session.scalars(select(BoardEvent).where(BoardEvent.id > event_id)
                                   .order_by(BoardEvent.id).limit(limit)))


def feed_rows(after: int, also: set[int], limit: int = 1000) -> list[tuple[int, str, int | None]]:
    """(id, kind, station_id) of feed rows after `after` and of the ids in `also` (rows of transactions that
    were still open when later ids were read), oldest first."""
    condition = BoardEvent.id > after
    if also:
        condition = condition | BoardEvent.id.in_(sorted(also))
    query = select(BoardEvent.id, BoardEvent.kind, BoardEvent.station_id).where(condition)
    return [tuple(row) for row in db.session.execute(query.order_by(BoardEvent.id).limit(limit))]


def revoked_among(screen_ids: set[int]) -> set[int]:
    """Which of these screens are revoked (or gone)."""
    if not screen_ids:
        return set()
    live = set(db.session.scalars(select(BoardScreen.id).where(BoardScreen.id.in_(screen_ids),
                                                               BoardScreen.revoked_at.is_(None))))
    return set(screen_ids) - live


def board_view(screen: BoardScreen, now: datetime | None = None) -> BoardView:
    """Everything the screen shows, read in a handful of queries whatever the number of stations."""
    now = now or utcnow()
    site = db.session.scalar(select(Site))
    stations = screen_stations(screen)
    tiles = build_tiles(stations, now)
    view = BoardView(title=screen.area.name if screen.area else site.name, site_name=site.name,
                     shift=shift_at(site.shift_pattern, site.timezone, now), tiles=tiles,
                     last_event_id=latest_event_id())
    view.summary = summarise(tiles)
    return view


def build_tiles(stations: list[Station], now: datetime) -> list[Tile]:
    """A tile per station from one query each for downtime, deviations, checks and activity."""
    running = downtime.running_by_station()
    open_deviations = deviations.open_by_station()
    checks = schedule.station_checks(stations, now)
    activity = _last_activity([s.id for s in stations])
    tiles = []
    for station in stations:
        station_checks = checks.get(station.id, [])
        counts = schedule.counts(station_checks)
        found = open_deviations.get(station.id, [])
        down = running.get(station.id)
        status = DOWN if down else ATTENTION if (found or counts.overdue) else RUNNING
        overdue = [c.title for c in station_checks if c.state == "overdue"]
        tiles.append(Tile(station, status, down, found, counts, overdue, activity.get(station.id)))
    return tiles


def summarise(tiles: list[Tile]) -> Summary:
    """Totals for the header."""
    return Summary(down=sum(t.status == DOWN for t in tiles), attention=sum(t.status == ATTENTION for t in tiles),
                   deviations=sum(len(t.deviations) for t in tiles), overdue=sum(t.counts.overdue for t in tiles))


def _last_activity(station_ids: list[int]) -> dict[int, datetime]:
    if not station_ids:
        return {}
    newest = (select(func.max(BoardEvent.id)).where(BoardEvent.station_id.in_(station_ids))
              .group_by(BoardEvent.station_id))  # served by the (station_id, id) index
    rows = db.session.execute(select(BoardEvent.station_id, BoardEvent.at).where(BoardEvent.id.in_(newest)))
    return {station_id: at for station_id, at in rows}

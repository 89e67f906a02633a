"""One area's board as this process last rendered it: every tile's HTML, kept so a change costs only its tiles.

An AreaBoard belongs to the notifier and is shared by every open stream of screens showing that area (the
whole site is area None). When the feed moves, the first stream to wake brings the board up to date: it
re-reads and re-renders only the tiles of the stations the new feed rows name, then the header (its totals
are summed from the kept tiles). Once a minute it rebuilds every tile, because checks turn overdue and ages
grow with the clock, not with a row; only tiles whose HTML changed count as changed.

Each tile carries two marks: `stamp`, this board's own counter, moved when the tile's HTML changes (what a
stream of this process has not sent yet), and `position`, the newest feed row that named it (what a page or
stream that knows only a feed position, e.g. a reconnect's Last-Event-ID, has not seen yet). A stream sends
the tiles past either of its marks, so nothing it has not shown is left out, and a few tiles may go twice.
"""
import threading
import time
from dataclasses import dataclass, replace

from flask import render_template

from app.database import read_only
from app.extensions import db
from app.models.types import utcnow
from app.services.board import boards

def sse(event: str, data: str, event_id: int | None = None) -> str:
    """One SSE message; every line of data gets its own 'data:' field."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"{head}event: {event}\n{body}\n"


EVERYTHING = None  # a feed row without a station (or a reader that fell behind): every tile may have changed


@dataclass
class Entry:
    """One tile as rendered: its out-of-band HTML, what the header totals need, and its two marks."""

    html: str
    down: bool
    attention: bool
    deviations: int
    overdue: int
    stamp: int
    position: int


class AreaBoard:
    """The tiles and header of one area's board, brought up to date from the notifier's feed batches."""

    def __init__(self, area_id: int | None) -> None:
        self.area_id = area_id
        self.lock = threading.Lock()
        self.tiles: dict[int, Entry] = {}
        self.header = ""
        self.header_stamp = 0
        self.stamp = 0          # moves whenever a tile's HTML or the header changes
        self.layout = 0         # the stamp at which the set of stations last changed (the TV reloads)
        self.applied = -1       # the notifier's batch sequence this board reflects (-1: never built)
        self.position = 0       # the feed position (SSE id) this board reflects
        self.minute: int | None = None
        self._messages: dict[tuple[int, int], str] = {}
        self._frame: boards.BoardView | None = None
        self._rendered_at = 0.0  # time.monotonic() of the last render

    def catch_up(self, changes, rest: float = 0.0) -> float:
        """Apply the feed batches after the ones applied (changes(applied) -> (seq, {station: row id},
        watermark)); read the notifier's memory before the database, so the tiles read are at least as new.
        Renders at most once per `rest` seconds: within it, new batches wait, and the seconds until they may
        be rendered are returned (0.0 once the board is up to date). The first change after a quiet spell is
        rendered at once; a burst costs one render per `rest`, however many saves it holds."""
        with self.lock:
            seq, touched, watermark = changes(self.applied)
            minute = int(time.time() // 60)
            if seq == self.applied and minute == self.minute:
                return 0.0
            early = self._rendered_at + rest - time.monotonic()
            if early > 0 and self.applied >= 0 and minute == self.minute:
                return early
            read_only(db.session)  # a transaction only when there is something to read
            try:
                rebuilt = self.applied < 0 or minute != self.minute or EVERYTHING in touched
                if rebuilt:
                    self._render(None, touched, watermark)
                elif touched:
                    self._render(set(touched), touched, watermark)
                self._render_header(watermark, rebuilt)
            finally:
                db.session.remove()
            if touched and self.applied >= 0:  # the rest paces changes, not the first build or the minute's
                self._rendered_at = time.monotonic()
            self.applied, self.position, self.minute = seq, watermark, minute
            self._messages.clear()
            return 0.0

    def message(self, stamp: int, position: int) -> tuple[str, int, int]:
        """The `board` event of the tiles a stream at (stamp, position) has not shown ('' when none), and the
        stream's new marks; one text per pair of marks, shared by every stream at them."""
        with self.lock:
            key = (stamp, position)
            if key not in self._messages:
                if len(self._messages) > 64:
                    self._messages.clear()
                tiles = [e.html for e in self.tiles.values() if e.stamp > stamp or e.position > position]
                header = tiles or self.header_stamp > stamp
                html = render_template("board/_changes.html", header=self.header, tiles=tiles) if header else ""
                self._messages[key] = sse("board", html, self.position) if html else ""
            return self._messages[key], self.stamp, self.position

    def _render(self, station_ids: set[int] | None, touched: dict, watermark: int) -> None:
        stations = boards.area_stations(self.area_id, station_ids)
        if station_ids is None and self.applied >= 0 and [s.id for s in stations] != list(self.tiles):
            self.layout = self.stamp + 1  # a station came or went: the TV reloads the page
        elif station_ids is not None and any(s.id not in self.tiles for s in stations):
            return self._render(None, touched, watermark)
        fresh: dict[int, Entry] = {} if station_ids is None else self.tiles
        for tile in boards.build_tiles(stations, utcnow()):
            sid = tile.station.id
            html = render_template("board/_tile.html", tile=tile)
            old = self.tiles.get(sid)
            stamp = old.stamp if old is not None and old.html == html else self.stamp + 1
            position = max(old.position if old else 0, touched.get(sid, 0), touched.get(EVERYTHING, 0),
                           watermark if old is None else 0)
            fresh[sid] = Entry(html, tile.status == boards.DOWN, tile.status == boards.ATTENTION,
                               len(tile.deviations), tile.counts.overdue, stamp, position)
        self.tiles = fresh
        self.stamp = max([self.stamp, self.layout] + [e.stamp for e in fresh.values()])

    def _render_header(self, watermark: int, rebuilt: bool) -> None:
        entries = self.tiles.values()
        summary = boards.Summary(down=sum(e.down for e in entries), attention=sum(e.attention for e in entries),
                                 deviations=sum(e.deviations for e in entries), overdue=sum(e.overdue for e in entries))
        if self._frame is None or rebuilt:  # title, site and shift: read again with every tile, once a minute
            self._frame = boards.header_view(self.area_id, summary, watermark)
        view = replace(self._frame, summary=summary, last_event_id=watermark)
        header = render_template("board/_header.html", view=view)
        if header != self.header:
            self.header, self.stamp = header, self.stamp + 1
            self.header_stamp = self.stamp

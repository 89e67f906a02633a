"""One reader of the board feed per process; every open stream takes what it needs from its memory.

The reader thread reads the new board_event rows once per wake-up and keeps them as batches
({station: newest row id}); the AreaBoards (app.board.snapshot) turn them into changed tiles, rendered once
per area; streams only wait on a condition and send strings. So a change costs one feed query and one
render per area, whatever the number of open TVs. The reader wakes up
- at once when a commit of this process wrote a board_event (the session's after_commit hook);
- on PostgreSQL when NOTIFY arrives (sent by board_feed.touch in the change's transaction, delivered at
  commit to every listening process on every server) -- a LISTEN thread kicks the reader;
- every BOARD_POLL_SECONDS anyway: the only cross-process path on SQLite, and PostgreSQL's safety net for
  notifications missed while its listener reconnects.
On PostgreSQL a row can become visible after rows with higher ids (its transaction committed later), so the
ids skipped over are read again until they show up or BOARD_GAP_SECONDS pass (a rolled-back insert).
A kick is followed by BOARD_COALESCE_SECONDS before the read, so a burst of changes (sixteen tablets saving)
costs one read, one render and one message per stream, not one per change.
Revocation costs no query per stream: revoke_screen writes a 'screen' row, on which the reader reads which
open screens are revoked (and every BOARD_REVOKE_CHECK_SECONDS as well).

The notifier also admits streams: at most BOARD_STREAMS_PER_SCREEN per screen and BOARD_STREAMS_PER_PROCESS
in all; beyond that a stream is refused (429) before it starts. The threads run while a stream is open.
"""
import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.board.snapshot import EVERYTHING, AreaBoard
from app.database import read_only
from app import stream_host
from app.extensions import db
from app.services.board import boards
from app.services.board import board_feed
from app.services.board.board_feed import CHANNEL

log = logging.getLogger(__name__)
KEY = "floorbook_board_notifier"
BATCHES = 2000  # feed batches kept in memory; a board further behind rebuilds every tile
MAX_GAP = 1000  # ids skipped at once beyond this are not waited for (a sequence jump, not open transactions)


class Refused(Exception):
    """A stream over the cap: the message says which cap, retry_after when to try again (seconds)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Ticket:
    """An admitted stream; release() (idempotent) gives its place back."""

    notifier: "Notifier"
    screen_id: int
    area_id: int | None
    released: bool = False

    def release(self) -> None:
        """The stream ended (or never started): free its place."""
        if not self.released:
            self.released = True
            self.notifier._leave(self)


class Notifier:
    """The process's feed reader, its AreaBoards, the revoked screens, and a condition streams wait on."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.version = 0  # moves when a board or the revoked set changed: streams wake and look
        self.closed = False
        self.revoked: set[int] = set()
        self.reads = 0  # feed queries made (the bench and tests count them)
        self._cond = threading.Condition()
        self._kick = threading.Event()
        self._closing = threading.Event()  # set once, on close: what a pausing stream waits on
        self._threads: list[threading.Thread] = []
        self._streams: Counter[int] = Counter()
        self._areas: Counter[int | None] = Counter()
        self._boards: dict[int | None, AreaBoard] = {}
        self._position: int | None = None  # newest feed id read
        self._gaps: dict[int, float] = {}  # ids below _position not seen yet, with when first skipped
        self._seq = 0
        self._batches: deque[tuple[int, dict[int | None, int]]] = deque(maxlen=BATCHES)

    # ---- admission ------------------------------------------------------------------------------

    def admit(self, screen_id: int, area_id: int | None) -> Ticket:
        """A place for one more stream of this screen, or Refused (call inside a request: may read the feed)."""
        config = self.app.config
        per_screen, per_process = config["BOARD_STREAMS_PER_SCREEN"], config["BOARD_STREAMS_PER_PROCESS"]
        with self._cond:
            if self.closed:
                raise Refused("The server is shutting down; the board reconnects by itself.", 5)
            if sum(self._streams.values()) >= per_process:
                raise Refused(f"This server process already carries {per_process} board streams "
                              "(FLOORBOOK_BOARD_STREAMS_PER_PROCESS).", 30)
            if self._streams[screen_id] >= per_screen:
                raise Refused(f"This board screen already has {per_screen} open streams "
                              "(FLOORBOOK_BOARD_STREAMS_PER_SCREEN); close a tab, or revoke a leaked URL.", 30)
            if self._position is None:
                self._position = boards.latest_event_id()
            self._streams[screen_id] += 1
            self._areas[area_id] += 1
            self._boards.setdefault(area_id, AreaBoard(area_id))
            self._threads = [t for t in self._threads if t.is_alive()]
            if not self._threads:
                self._start_threads()
        return Ticket(self, screen_id, area_id)

    def _leave(self, ticket: Ticket) -> None:
        with self._cond:
            self._streams[ticket.screen_id] -= 1
            self._areas[ticket.area_id] -= 1
            if self._areas[ticket.area_id] <= 0:
                del self._areas[ticket.area_id]
                self._boards.pop(ticket.area_id, None)  # nobody shows it: stop keeping it up to date
            if self._streams[ticket.screen_id] <= 0:
                del self._streams[ticket.screen_id]

    def open_streams(self) -> int:
        """Streams open in this process."""
        with self._cond:
            return sum(self._streams.values())

    def active(self) -> bool:
        """True while any stream is open (and the notifier is not closed)."""
        return bool(self._streams) and not self.closed

    # ---- what streams read ------------------------------------------------------------------------

    def board(self, area_id: int | None, rest: float = 0.0) -> tuple[AreaBoard, float]:
        """The area's board, brought up to date with the feed read so far (renders only changed tiles, at
        most once per `rest` seconds), and the seconds until changes it holds back may be rendered."""
        with self._cond:
            found = self._boards.setdefault(area_id, AreaBoard(area_id))
        return found, found.catch_up(self.changes_since, rest)

    def changes_since(self, applied: int) -> tuple[int, dict[int | None, int], int]:
        """(newest batch seq, {station id: newest row id} over the batches after `applied`, the watermark);
        EVERYTHING in the dict when a batch named no station or `applied` fell out of memory."""
        with self._cond:
            touched: dict[int | None, int] = {}
            oldest = self._batches[0][0] if self._batches else self._seq + 1
            if applied >= 0 and applied < oldest - 1:
                touched[EVERYTHING] = self.watermark()
            for seq, batch in reversed(self._batches):  # newest first: a stream wake costs the new batches only
                if seq <= applied:
                    break
                for station, row in batch.items():
                    touched[station] = max(row, touched.get(station, 0))
            return self._seq, touched, self.watermark()

    def watermark(self) -> int:
        """The feed position every row up to which has been read (an SSE id a reconnect may resume from)."""
        position = self._position or 0
        return min(self._gaps) - 1 if self._gaps else position

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the version moves past seen or timeout passes; return the current version."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != seen or self.closed, timeout=timeout)
            return self.version

    def wake(self) -> None:
        """Wake every waiting stream."""
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """Sleep up to seconds, woken early only by close (not by each change, as wait is)."""
        self._closing.wait(max(0.0, seconds))

    def kick(self) -> None:
        """The feed may have moved: the reader reads it now."""
        self._kick.set()

    def close(self) -> None:
        """Shutting down: streams end at their next wake, the threads stop."""
        self.closed = True
        self._closing.set()
        self.wake()
        self._kick.set()
        for thread in self._threads:
            thread.join(timeout=5)

    # ---- the reader -------------------------------------------------------------------------------

    def _start_threads(self) -> None:
        targets = [self._read_loop]
        if self.app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            targets.append(self._listen)
        for target in targets:
            thread = threading.Thread(target=target, name=f"board-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _read_loop(self) -> None:
        config = self.app.config
        interval, revoke_every, coalesce = (config["BOARD_POLL_SECONDS"], config["BOARD_REVOKE_CHECK_SECONDS"],
                                            config["BOARD_COALESCE_SECONDS"])
        next_revoke_check = 0.0
        while self.active():
            self._kick.wait(interval)
            self._kick.clear()
            if coalesce:  # a burst of saves becomes one batch: one render, one message per stream
                self._kick.wait(coalesce)
                self._kick.clear()
            try:
                with self.app.app_context():
                    read_only(db.session)
                    kinds = self._read()
                    if "screen" in kinds or time.monotonic() >= next_revoke_check:
                        self._check_revoked()
                        next_revoke_check = time.monotonic() + revoke_every
                    db.session.remove()
            except Exception:  # the database may be restarting: keep reading
                log.warning("board feed read failed", exc_info=True)

    def _read(self) -> set[str]:
        """Read the rows after the position (and the skipped ids); keep them as one batch; wake the streams."""
        self.reads += 1
        rows = boards.feed_rows(self._position or 0, set(self._gaps))
        now = time.monotonic()
        gap_seconds = self.app.config["BOARD_GAP_SECONDS"]
        with self._cond:
            batch: dict[int | None, int] = {}
            for row_id, kind, station_id in rows:
                if kind == "screen":
                    continue  # a revoke: no tile changes
                batch[station_id if station_id is not None else EVERYTHING] = row_id
            for row_id, _, _ in rows:
                if self._gaps.pop(row_id, None) is None and row_id > (self._position or 0):
                    if row_id - (self._position or 0) <= MAX_GAP:
                        for skipped in range((self._position or 0) + 1, row_id):
                            self._gaps.setdefault(skipped, now)
                    self._position = row_id
            self._gaps = {i: at for i, at in self._gaps.items() if now - at < gap_seconds}
            if batch:
                self._seq += 1
                self._batches.append((self._seq, batch))
            if len(rows) >= 1000:
                self._kick.set()  # far behind: read on at once
        if batch:
            self.wake()
        return {kind for _, kind, _ in rows}

    def _check_revoked(self) -> None:
        with self._cond:
            open_screens = set(self._streams)
        revoked = boards.revoked_among(open_screens)
        if revoked - self.revoked:
            self.revoked = revoked | self.revoked
            self.wake()

    def _listen(self) -> None:
        import psycopg

        url = self.app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
        while self.active():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.kick()  # changes made while not listening
                    while self.active():
                        for note in conn.notifies(timeout=1.0, stop_after=1):
                            if note.payload != board_feed.origin():  # our own commits kicked the reader already
                                self.kick()
            except Exception:  # reconnect; the poll covers the gap
                log.warning("board LISTEN connection lost; reconnecting", exc_info=True)
                time.sleep(1.0)


def notifier_for(app: Flask) -> Notifier:
    """This app's notifier (one per process and app)."""
    return app.extensions[KEY]


def init_notifier(app: Flask) -> None:
    """Create the app's notifier; a commit that wrote a board_event kicks its reader."""
    app.extensions[KEY] = Notifier(app)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop("board_changed", False) and has_app_context():
        notifier = current_app.extensions.get(KEY)
        if notifier is not None:
            notifier.kick()
        stream_host.kick()  # this worker's streams live in its stream process


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("board_changed", None)

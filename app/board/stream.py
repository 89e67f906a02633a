"""The board's Server-Sent Events stream: replay after Last-Event-ID, changed tiles on each wake, heartbeats.

Each wake reads the feed rows after the last one sent, renders the tiles of the stations they name (plus
the header) as htmx out-of-band fragments, and sends them as one `board` event whose id is the newest row.
A `heartbeat` event every HEARTBEAT seconds refreshes the header and clock, and every REFRESH seconds the
whole board is re-sent, because checks turn overdue with the clock, not with a row. The database
transaction is closed between wakes so a stream holds no snapshot or connection while it waits.
"""
import time
from collections.abc import Iterator

from flask import current_app, render_template

from app.board.notifier import Notifier, notifier_for
from app.database import read_only
from app.extensions import db
from app.models import BoardScreen
from app.services.board import boards

RETRY_MS = 3000
EVENT_LIMIT = 500


def sse(event: str, data: str, event_id: int | None = None) -> str:
    """One SSE message; every line of data gets its own 'data:' field."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"{head}event: {event}\n{body}\n"


def board_stream(screen_id: int, since: int | None) -> Iterator[str]:
    """Yield SSE text until the screen is revoked or the client goes away."""
    app = current_app._get_current_object()
    notifier = notifier_for(app)
    heartbeat, refresh = app.config["BOARD_HEARTBEAT_SECONDS"], app.config["BOARD_REFRESH_SECONDS"]
    notifier.subscribe()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        last = since if since is not None else boards.latest_event_id()
        next_beat = time.monotonic()
        next_refresh = next_beat if since is None else next_beat + refresh  # unknown position: send it all
        seen = notifier.version
        while not notifier.closed:
            read_only(db.session)
            screen = db.session.get(BoardScreen, screen_id)  # read afresh on every wake: a revoke ends the stream
            if screen is None or screen.revoked_at is not None:
                yield sse("revoked", render_template("board/_revoked.html"))
                return
            now = time.monotonic()
            message, last = _changes(notifier, screen, last, full=now >= next_refresh)
            if now >= next_refresh:
                next_refresh = now + refresh
            if message:
                yield message
            if now >= next_beat:
                key = (screen_id, "heartbeat", last, int(time.time() // heartbeat))
                yield notifier.rendered(key, lambda: sse("heartbeat", render_template(
                    "board/_header.html", view=boards.board_view(screen))))
                next_beat = now + heartbeat
            db.session.remove()  # end the read transaction before waiting
            seen = notifier.wait(seen, timeout=max(0.05, min(next_beat, next_refresh) - time.monotonic()))
    finally:
        notifier.unsubscribe()
        db.session.remove()


def _changes(notifier: Notifier, screen: BoardScreen, last: int, full: bool) -> tuple[str, int]:
    """The board event for feed rows after last (every tile when full); returns it and the new position."""
    events = boards.events_after(last, limit=EVENT_LIMIT)
    if not events and not full:
        return "", last
    newest = events[-1].id if events else last
    if len(events) == EVENT_LIMIT:  # far behind: send everything and jump to the end
        full, newest = True, boards.latest_event_id()
    touched = {e.station_id for e in events}
    every = full or None in touched
    # A full refresh is keyed by the minute too: overdue states move with the clock, not with the feed.
    key = (screen.id, last, newest, int(time.time() // 60) if every else None)
    return notifier.rendered(key, lambda: _render_changes(screen, touched, every, newest)), newest


def _render_changes(screen: BoardScreen, touched: set[int | None], every: bool, newest: int) -> str:
    view = boards.board_view(screen)
    tiles = [t for t in view.tiles if every or t.station.id in touched]
    if not tiles and not every:
        return ""
    return sse("board", render_template("board/_changes.html", view=view, tiles=tiles), newest)

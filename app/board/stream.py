"""The board's Server-Sent Events stream: what the TV has not shown yet on each wake, and heartbeats.

A stream holds no thread of the server's pool (app.serving.release_request_thread) and makes no query of
its own per wake: the notifier's reader reads the feed once per process, the area's AreaBoard
(app.board.snapshot) renders the changed tiles once, and the stream sends the tiles past its two marks (the
board's stamp it last sent, and the feed position its TV has, from ?since= or Last-Event-ID) as one
`board` event whose id is the feed position. A `heartbeat` event every HEARTBEAT seconds refreshes the
header and clock, every REFRESH seconds the whole board is re-sent (a safety net: strings from memory),
and a `layout` event asks the TV to reload when a station came or went. A revoked screen gets `revoked`.
After a `board` event a stream rests BOARD_SEND_INTERVAL_MS before it looks again, and an area's board is
rendered at most once per that interval: the first change after a quiet spell goes out at once, the ones that
follow it closely go together in the next event. At 30 saves a second across the plant, 200 streams then wake
800 times a second instead of 6,000 and the board is rendered 4 times a second instead of 30, which is what
leaves the tablets' requests their share of the process.
"""
import time
from collections.abc import Iterator

from flask import current_app, render_template

from app.board.notifier import Ticket, notifier_for
from app.board.snapshot import sse
from app.extensions import db
from app.serving import release_request_thread

__all__ = ["board_stream", "sse"]

RETRY_MS = 3000


def board_stream(ticket: Ticket, since: int | None) -> Iterator[str]:
    """Yield SSE text until the screen is revoked, the server stops or the client goes away."""
    release_request_thread()  # a long-lived stream: its pool slot goes to a fresh thread for ordinary requests
    app = current_app._get_current_object()
    notifier = notifier_for(app)
    heartbeat, refresh = app.config["BOARD_HEARTBEAT_SECONDS"], app.config["BOARD_REFRESH_SECONDS"]
    rest = app.config["BOARD_SEND_INTERVAL_MS"] / 1000
    try:
        yield f"retry: {RETRY_MS}\n\n"
        stamp, position = None, since if since is not None else -1  # no position: send the whole board
        layout = None
        next_beat = time.monotonic()
        next_refresh = next_beat + refresh
        seen = notifier.version
        while not notifier.closed:
            if ticket.screen_id in notifier.revoked:
                yield sse("revoked", render_template("board/_revoked.html"))
                return
            board, due = notifier.board(ticket.area_id, rest)  # reads the database if the first awake
            if layout is not None and board.layout > layout:
                yield sse("layout", board.header)
            layout = board.layout
            if stamp is None:  # a TV that knows a position needs only the tiles named after it
                stamp = board.stamp if since is not None else -1
            now = time.monotonic()
            if now >= next_refresh:
                stamp, position, next_refresh = -1, -1, now + refresh
            text, stamp, position = board.message(stamp, position)
            if text:
                yield text
            if now >= next_beat:
                yield sse("heartbeat", board.header)
                next_beat = now + heartbeat
            if text or due:  # rest after a send; changes held back (due) are rendered once the rest is over
                notifier.pause(rest if text else due)
                if due:
                    continue
            seen = notifier.wait(seen, timeout=max(0.05, min(next_beat, next_refresh) - time.monotonic()))
    finally:
        ticket.release()
        db.session.remove()

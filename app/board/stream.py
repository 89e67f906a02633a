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

The rules of one look are BoardStream's; board_stream() runs one stream in a thread of its own (the worker's
path), app.stream_host runs every stream of its process from one thread with the same BoardStream.
"""
import time
from collections.abc import Iterator

from flask import current_app, render_template

from app.board.notifier import Notifier, Ticket, notifier_for
from app.board.snapshot import sse
from app.extensions import db
from app.serving import release_request_thread

__all__ = ["BoardStream", "board_stream", "sse"]

RETRY_MS = 3000
OPENING = f"retry: {RETRY_MS}\n\n"


class BoardStream:
    """One TV's stream: what it has shown (the board's stamp, the feed position, the layout) and when it next
    has to look. look() is one wake; ready() says whether a look is due now."""

    def __init__(self, ticket: Ticket, since: int | None, notifier: Notifier, config) -> None:
        self.ticket, self.since, self.notifier = ticket, since, notifier
        self.heartbeat, self.refresh = config["BOARD_HEARTBEAT_SECONDS"], config["BOARD_REFRESH_SECONDS"]
        self.rest = config["BOARD_SEND_INTERVAL_MS"] / 1000
        self.stamp: int | None = None
        self.position = since if since is not None else -1  # no position: send the whole board
        self.layout: int | None = None
        now = time.monotonic()
        self.next_beat, self.next_refresh = now, now + self.refresh
        self.seen = notifier.version  # the notifier's version when this stream last started waiting
        self.rest_until = 0.0  # after a send (or with changes held back): no look before this
        self.again = False     # changes were held back: look at rest_until whatever the version
        self.done = False

    def look(self, now: float) -> list[str]:
        """The events due now (possibly none); sets done when the stream is to end."""
        notifier = self.notifier
        if notifier.closed:
            self.done = True
            return []
        if self.ticket.screen_id in notifier.revoked:
            self.done = True
            return [sse("revoked", render_template("board/_revoked.html"))]
        out = []
        board, due = notifier.board(self.ticket.area_id, self.rest)  # reads the database if the first awake
        if self.layout is not None and board.layout > self.layout:
            out.append(sse("layout", board.header))
        self.layout = board.layout
        if self.stamp is None:  # a TV that knows a position needs only the tiles named after it
            self.stamp = board.stamp if self.since is not None else -1
        if now >= self.next_refresh:
            self.stamp, self.position, self.next_refresh = -1, -1, now + self.refresh
        text, self.stamp, self.position = board.message(self.stamp, self.position)
        if text:
            out.append(text)
        if now >= self.next_beat:
            out.append(sse("heartbeat", board.header))
            self.next_beat = now + self.heartbeat
        # rest after a send; changes held back (due) are rendered once the rest is over
        self.rest_until = now + (self.rest if text else due) if text or due else 0.0
        self.again = bool(due)
        return out

    def deadline(self) -> float:
        """When the stream looks at the latest, whatever the feed does (heartbeat, refresh or held changes)."""
        if self.again:
            return self.rest_until
        return max(self.rest_until, min(self.next_beat, self.next_refresh))

    def wakes_at(self, now: float) -> float:
        """When to look again if the feed does not move: the end of the rest (the feed may have moved during
        it), else the deadline."""
        return self.rest_until if self.rest_until > now else self.deadline()

    def ready(self, version: int, now: float) -> bool:
        """A look is due: the rest is over and the feed moved (or held changes, a heartbeat or a refresh are
        due). Marks the version seen, as a thread's wait would."""
        if now < self.rest_until:
            return False
        if self.again:
            return True
        if version != self.seen or now >= self.deadline():
            self.seen = version
            return True
        return False


def board_stream(ticket: Ticket, since: int | None) -> Iterator[str]:
    """Yield SSE text until the screen is revoked, the server stops or the client goes away."""
    release_request_thread()  # a long-lived stream: its pool slot goes to a fresh thread for ordinary requests
    app = current_app._get_current_object()
    notifier = notifier_for(app)
    stream = BoardStream(ticket, since, notifier, app.config)
    try:
        yield OPENING
        while True:
            yield from stream.look(time.monotonic())
            if stream.done:
                return
            if stream.rest_until:
                notifier.pause(stream.rest_until - time.monotonic())
                if stream.again:
                    continue
            stream.seen = notifier.wait(stream.seen, timeout=max(0.05, stream.deadline() - time.monotonic()))
    finally:
        ticket.release()
        db.session.remove()

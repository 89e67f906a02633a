"""Board streams at plant scale: they leave the server's threads to the tablets, are capped per screen and per
process, cost one feed read and one render per change whatever their number, and lose no change across a
reconnect."""
import queue
import re
import threading
import time
import urllib.parse
import urllib.request
import uuid
from concurrent import futures

import pytest
from flask import template_rendered
from sqlalchemy import event, select

from app.board.notifier import notifier_for
from app.extensions import db
from app.models import Answer, DowntimeEvent, Station
from app.serving import SlotPool, release_request_thread
from app.services.board import boards
from app.services.core.audit import Actor
from app.services.floor import downtime, reasons
from tests.helpers.gunicorn import Gunicorn
from tests.helpers.sse import EventStream
from tests.test_board_workers import signed_in_opener

TILE = re.compile(r'<article id="tile-(\d+)"[^>]*data-status="(\w+)"')


@pytest.fixture
def screen(plant, users):
    """A whole-site board screen."""
    return boards.create_screen("Hall TV", None, Actor(users.admin.id))


@pytest.fixture
def stream_app(app):
    app.config.update(BOARD_HEARTBEAT_SECONDS=1, BOARD_POLL_SECONDS=0.2, BOARD_STREAMS_PER_SCREEN=50)
    return app


def leaf_code() -> str:
    return reasons.downtime_tree()[0].children[0].code


def toggle(station_id: int, operator_id: int) -> str:
    """Flip a station down (start downtime) or up (stop it); 'down' or 'up', what its tile must show next
    (up is running or attention, as the shift's checks stand)."""
    station = db.session.get(Station, station_id)
    running = db.session.scalar(select(DowntimeEvent).where(DowntimeEvent.station_id == station_id,
                                                            DowntimeEvent.ended_at.is_(None)))
    if running is None:
        downtime.start_downtime(station, leaf_code(), None, Actor(operator_id))
        return "down"
    downtime.stop_downtime(running, "Reset", Actor(operator_id))
    return "up"


# ---- the pool ----------------------------------------------------------------------------------

def test_a_released_thread_gives_its_slot_to_a_fresh_one():
    """With one of two slots' requests turned into a stream, two ordinary requests still run at once."""
    pool = SlotPool(2)
    stream_may_end, both_running = threading.Event(), threading.Barrier(3, timeout=10)

    def stream() -> bool:
        released = release_request_thread()
        stream_may_end.wait(timeout=30)
        return released

    long_lived = pool.submit(stream)
    ordinary = [pool.submit(both_running.wait) for _ in range(2)]
    both_running.wait()  # raises BrokenBarrierError if the two could not run side by side
    futures.wait(ordinary, timeout=10)
    assert pool.released == 1
    stream_may_end.set()
    assert long_lived.result(timeout=10) is True
    assert release_request_thread() is False  # outside the pool: nothing to do
    pool.shutdown()


# ---- a real gunicorn ---------------------------------------------------------------------------

def test_twenty_streams_on_one_worker_leave_healthz_and_autosave_answering(plant, users, start_draft, request,
                                                                          database_url, tmp_path):
    """20 open boards on a one-worker, 8-thread gunicorn: /healthz and a save answer at once; the 21st
    stream of the screen is refused with 429 and Retry-After."""
    screen = boards.create_screen("Leaked TV", None, Actor(users.admin.id))
    token, draft_id, username = screen.token, start_draft(users.operator).id, users.operator.username
    db.session.commit()
    db.session.remove()
    server = Gunicorn(database_url, tmp_path, WEB_CONCURRENCY="1", GUNICORN_THREADS="8",
                      FLOORBOOK_BOARD_STREAMS_PER_SCREEN="20", FLOORBOOK_BOARD_HEARTBEAT_SECONDS="1").start()
    streams = []
    try:
        for _ in range(20):
            stream = EventStream(f"{server.url}/board/{token}/events", timeout=10)
            assert stream.status == 200, server.log.read_text(errors="replace")[-3000:]
            streams.append(stream)
        for stream in streams:
            assert stream.next_event("heartbeat", timeout=10) is not None
        refused = EventStream(f"{server.url}/board/{token}/events", timeout=10)
        assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
        assert "already has 20 open streams" in refused.response.read().decode()

        for _ in range(10):  # with the stock gthread pool the first of these waited for ever
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as answer:
                assert answer.status == 200
        opener, csrf = signed_in_opener(server.url, username)
        save = urllib.request.Request(f"{server.url}/floor/submissions/{draft_id}/items/hydraulic_pressure",
                                      data=urllib.parse.urlencode({"value": "151.5"}).encode(),
                                      headers={"X-CSRFToken": csrf, "HX-Request": "true",
                                               "Idempotency-Key": str(uuid.uuid4())})
        assert opener.open(save, timeout=2).status == 200
        assert streams[0].next_event("board", timeout=5) is not None  # the save's activity reached the TVs
    finally:
        for stream in streams:
            stream.close()
        server.stop()
    saved = db.session.scalar(select(Answer.value_json).where(Answer.submission_id == draft_id,
                                                              Answer.item_name == "hydraulic_pressure"))
    assert saved is not None and "151.5" in saved


# ---- caps, in one process ----------------------------------------------------------------------

def test_streams_are_capped_per_screen_and_per_process(stream_app, plant, users, request):
    """Beyond the per-screen cap, and beyond the per-process cap whatever the screen, a stream gets 429."""
    stream_app.config.update(BOARD_STREAMS_PER_SCREEN=2, BOARD_STREAMS_PER_PROCESS=3)
    first = boards.create_screen("TV 1", None, Actor(users.admin.id)).token
    second = boards.create_screen("TV 2", None, Actor(users.admin.id)).token
    live = request.getfixturevalue("live_server")
    opened = [EventStream(f"{live}/board/{first}/events") for _ in range(2)]
    assert [s.status for s in opened] == [200, 200]
    over_screen = EventStream(f"{live}/board/{first}/events")
    assert over_screen.status == 429 and "open streams" in over_screen.response.read().decode()
    opened.append(EventStream(f"{live}/board/{second}/events"))
    assert opened[-1].status == 200
    over_process = EventStream(f"{live}/board/{second}/events")
    assert over_process.status == 429 and "board streams" in over_process.response.read().decode()
    assert over_process.headers["Retry-After"] == "30"
    assert notifier_for(stream_app).open_streams() == 3
    for stream in opened:
        stream.close()


# ---- cheap wakes -------------------------------------------------------------------------------

def test_a_change_costs_one_render_per_area_not_one_per_stream(stream_app, plant, users, request):
    """30 open streams on two boards (the site, one area): a change is read and rendered once per board."""
    stream_app.config.update(BOARD_POLL_SECONDS=60)  # only the commit wakes the reader: its reads are countable
    press = plant.stations["Press 2"]
    site = boards.create_screen("Site TV", None, Actor(users.admin.id)).token
    area = boards.create_screen("Area TV", press.line.area_id, Actor(users.admin.id)).token
    press_id, operator_id = press.id, users.operator.id
    since = boards.latest_event_id()
    live = request.getfixturevalue("live_server")
    streams = [EventStream(f"{live}/board/{token}/events?since={since}") for token in [site] * 20 + [area] * 10]
    for stream in streams:
        assert stream.next_event("heartbeat", timeout=5) is not None
    statements, tiles, me = [], [], threading.get_ident()

    def counted(*_args, **_kw):
        if threading.get_ident() != me:  # the server's threads only, not this test's own change
            statements.append(_args[2][:60])

    def rendered(_app, template, context, **_kw):
        if template.name == "board/_tile.html" and threading.get_ident() != me:
            tiles.append(context["tile"].station.id)

    event.listen(db.engine, "before_cursor_execute", counted)
    template_rendered.connect(rendered, stream_app)
    try:
        toggle(press_id, operator_id)
        for stream in streams:
            message = stream.next_event("board", timeout=5)
            assert (str(press_id), "down") in TILE.findall(message.data)
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)
        template_rendered.disconnect(rendered, stream_app)
    assert tiles == [press_id, press_id]  # the site's board and the area's: not 30
    feed_reads = [s for s in statements if s.startswith("SELECT board_event.id, board_event.kind")]
    assert len(feed_reads) == 1, "\n".join(statements)  # one reader for the process
    assert len(statements) < len(streams), "\n".join(statements)  # two boards' reads, whatever the streams
    for stream in streams:
        stream.close()


def test_a_revoked_screen_is_noticed_without_a_query_per_stream(stream_app, screen, users, request):
    """Revoking ends every open stream of the screen; other screens' streams go on."""
    token, admin_id = screen.token, users.admin.id
    other = boards.create_screen("Other TV", None, Actor(admin_id)).token
    live = request.getfixturevalue("live_server")
    revoked = [EventStream(f"{live}/board/{token}/events") for _ in range(5)]
    kept = EventStream(f"{live}/board/{other}/events")
    for stream in revoked + [kept]:
        stream.next_event("heartbeat", timeout=5)
    boards.revoke_screen(boards.screen_for_token(token), Actor(admin_id))
    for stream in revoked:
        assert stream.next_event("revoked", timeout=5) is not None
        assert stream.messages.get(timeout=5) is None  # ended by the server
    assert kept.next_event("heartbeat", timeout=5) is not None
    kept.close()


# ---- no change lost ----------------------------------------------------------------------------

class Tv:
    """What a TV shows: each tile's status, from the board events of its stream (the last one wins)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.stream = EventStream(url, headers=headers)
        self.last_id: str | None = None
        self.shown: dict[int, str] = {}
        self.batches: list[set[int]] = []  # the stations each board event carried

    def shows(self, station_id: int, status: str, timeout: float = 5.0) -> bool:
        """Read board events until the station's tile is down or up as status says; False if the stream ends
        or no board event comes within the timeout."""
        deadline = time.monotonic() + timeout  # heartbeats keep coming: the deadline is for a board event
        while (self.shown.get(station_id) == "down") != (status == "down"):
            try:
                message = self.stream.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if message is None:
                return False
            if message.event == "board":
                self.last_id = message.id
                tiles = {int(sid): state for sid, state in TILE.findall(message.data)}
                self.shown.update(tiles)
                self.batches.append(set(tiles))
        return True


def test_changes_sent_equal_changes_shown_across_a_reconnect(stream_app, screen, plant, users, request):
    """12 changes, 4 of them while the TV's connection is cut: after it reconnects with Last-Event-ID,
    every one shows."""
    token, operator_id = screen.token, users.operator.id
    stations = [s.id for s in sorted(plant.stations.values(), key=lambda s: s.name)][:4]
    since = boards.latest_event_id()
    live = request.getfixturevalue("live_server")
    tv = Tv(f"{live}/board/{token}/events?since={since}")
    sent, shown = 0, 0
    for n in range(4):
        status = toggle(stations[n], operator_id)
        sent += 1
        shown += tv.shows(stations[n], status)
    tv.stream.close()  # the network drops: these changes happen while the TV is away
    missed = {}
    for n in range(4):
        missed[stations[n]] = toggle(stations[n], operator_id)
        sent += 1
    tv.stream = EventStream(f"{live}/board/{token}/events", headers={"Last-Event-ID": tv.last_id})
    for station_id, status in missed.items():
        shown += tv.shows(station_id, status)
    for n in range(4):
        status = toggle(stations[n], operator_id)
        sent += 1
        shown += tv.shows(stations[n], status)
    tv.stream.close()
    assert (sent, shown) == (12, 12)


def test_changes_close_together_go_out_as_one_event_and_none_is_lost(stream_app, screen, plant, users, request):
    """The first change after a quiet spell goes out at once; those that follow within the send interval wait
    for it and go together, each tile as it stands then."""
    stream_app.config.update(BOARD_SEND_INTERVAL_MS=3000)
    token, operator_id = screen.token, users.operator.id
    stations = [s.id for s in sorted(plant.stations.values(), key=lambda s: s.name)][:4]
    since = boards.latest_event_id()
    tv = Tv(f"{request.getfixturevalue('live_server')}/board/{token}/events?since={since}")
    first = toggle(stations[0], operator_id)
    assert tv.shows(stations[0], first, timeout=2.5)  # at once, not after the interval
    seen = len(tv.batches)
    rest = {station_id: toggle(station_id, operator_id) for station_id in stations[1:]}
    assert all(tv.shows(station_id, status, timeout=6) for station_id, status in rest.items())
    carrying = [batch for batch in tv.batches[seen:] if batch & set(rest)]
    assert len(carrying) == 1 and set(rest) <= carrying[0]  # the three went out together
    tv.stream.close()


def test_an_area_board_renders_a_burst_of_changes_once_per_rest(app, plant, users):
    """The first change after a quiet spell is rendered at once; the next, within the rest, waits and is
    reported as due; once the rest is over it is rendered with everything that came meanwhile."""
    from app.board.snapshot import AreaBoard
    press, weld, operator_id = plant.stations["Press 2"].id, plant.stations["Weld 1"].id, users.operator.id
    board, rendered = AreaBoard(None), []

    def tile_rendered(_app, template, context, **_kw):
        if template.name == "board/_tile.html":
            rendered.append(context["tile"].station.id)
    template_rendered.connect(tile_rendered, app)
    try:
        row = boards.latest_event_id()
        assert board.catch_up(lambda applied: (0, {}, row), rest=60) == 0.0  # the first build: every tile
        built = len(rendered)
        toggle(press, operator_id)
        assert board.catch_up(lambda applied: (1, {press: row + 1}, row + 1), rest=60) == 0.0
        assert rendered[built:] == [press] and 'data-status="down"' in board.tiles[press].html
        toggle(weld, operator_id)
        due = board.catch_up(lambda applied: (2, {weld: row + 2}, row + 2), rest=60)
        assert 59 < due <= 60 and rendered[built:] == [press]  # held back: no render, the old tile kept
        assert 'data-status="down"' not in board.tiles[weld].html and board.position == row + 1
        assert board.catch_up(lambda applied: (2, {weld: row + 2}, row + 2), rest=0) == 0.0  # the rest is over
        assert rendered[built:] == [press, weld] and 'data-status="down"' in board.tiles[weld].html
        assert board.position == row + 2
    finally:
        template_rendered.disconnect(tile_rendered, app)

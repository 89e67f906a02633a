"""The stream process's pump (app.stream_host.Pump): one thread serves every board stream of the process, by
the same rules as a stream in the worker, and a TV that stops reading holds up no other TV."""
import queue
import re
import socket
import threading
import time

import pytest

from app.board.notifier import notifier_for
from app.extensions import db
from app.services.board import boards
from app.services.core.audit import Actor
from app.stream_host import Pump
from tests.helpers.sse import SocketStream
from tests.test_board_streams import TILE, toggle


@pytest.fixture
def pump_app(app):
    app.config.update(BOARD_HEARTBEAT_SECONDS=1, BOARD_POLL_SECONDS=0.2, BOARD_SEND_INTERVAL_MS=50)
    yield app
    notifier_for(app).close()  # ends the pump's thread with the test's database


def connect(pump: Pump, screen_id: int, since: int | None, buffer: int | None = None) -> socket.socket:
    """A TV's end of a loopback TCP stream whose server end is handed to the pump (as the worker hands over
    a client's socket); buffer: the bytes the kernel holds each side (small ones fill at once when the TV
    does not read)."""
    db.session.commit()  # the test's own transaction would keep the pump's reads waiting for the write lock
    with socket.create_server(("127.0.0.1", 0)) as listener:
        theirs = socket.socket()
        if buffer:
            theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
        theirs.connect(listener.getsockname())
        ours, _ = listener.accept()
    if buffer:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer)
    pump.admit(ours, {"screen": screen_id, "area": None, "since": since})
    return theirs


def shows(tv: SocketStream, station_id: int, status: str, timeout: float = 5.0) -> bool:
    """Read board events until the station's tile is down (or not) as status says; False at the deadline."""
    deadline = time.monotonic() + timeout  # heartbeats keep coming: the deadline is for the tile
    while True:
        try:
            message = tv.messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if message is None:
            return False
        tiles = dict(TILE.findall(message.data)) if message.event == "board" else {}
        if str(station_id) in tiles and (tiles[str(station_id)] == "down") == (status == "down"):
            return True


def test_one_thread_serves_every_stream_and_a_tv_that_stops_reading_holds_up_no_other(
        pump_app, plant, users, monkeypatch):
    monkeypatch.setattr(Pump, "BACKLOG", 32 * 1024)
    screen = boards.create_screen("Hall TV", None, Actor(users.admin.id)).screen
    press_id, operator_id = plant.stations["Press 2"].id, users.operator.id
    pump = Pump(pump_app)
    since = boards.latest_event_id()
    reading = [SocketStream(connect(pump, screen.id, since)) for _ in range(3)]
    stuck = connect(pump, screen.id, None, buffer=4096)  # asks for the whole board and never reads it
    assert [tv.status for tv in reading] == [200, 200, 200]
    assert reading[0].headers["Content-Type"].startswith("text/event-stream")
    assert [t.name for t in threading.enumerate()].count("board-streams") == 1
    notifier = notifier_for(pump_app)
    assert notifier.open_streams() == 4
    changes = 0
    while notifier.open_streams() == 4 and changes < 60:  # the stuck TV's backlog grows with every change
        status = toggle(press_id, operator_id)
        changes += 1
        assert all(shows(tv, press_id, status) for tv in reading), f"change {changes} not shown"
    assert notifier.open_streams() == 3, f"the stuck stream was still open after {changes} changes"
    assert re.search(rb"HTTP/1.1 200", stuck.recv(1 << 16))  # what it was sent before it fell behind
    status = toggle(press_id, operator_id)  # the others go on
    assert all(shows(tv, press_id, status) for tv in reading)
    for tv in reading:
        tv.close()
    stuck.close()


def test_a_screen_over_its_cap_is_refused_by_the_pump(pump_app, plant, users):
    pump_app.config.update(BOARD_STREAMS_PER_SCREEN=1)
    screen = boards.create_screen("Hall TV", None, Actor(users.admin.id)).screen
    pump = Pump(pump_app)
    first = SocketStream(connect(pump, screen.id, None))
    second = SocketStream(connect(pump, screen.id, None))
    assert (first.status, second.status) == (200, 429)
    assert int(second.headers["Retry-After"]) > 0
    assert first.next_event("heartbeat", timeout=5) is not None
    first.close()

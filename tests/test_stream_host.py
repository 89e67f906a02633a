"""The stream process (app.stream_host): a gunicorn worker hands its board streams to a niced process of its
own, which serves and caps them; without it (gone, or turned off) the worker serves them itself."""
import os
import queue
import signal
import time
import urllib.parse
import urllib.request

from app.extensions import db
from app.services.board import boards
from app.services.core.audit import Actor
from app.services.floor import reasons
from tests.helpers.gunicorn import Gunicorn
from tests.helpers.sse import EventStream
from tests.test_board_workers import owner, signed_in_opener, workers


def one_worker(database_url, folder, **env) -> tuple[Gunicorn, int]:
    db.session.commit()
    db.session.remove()  # the test's own transaction would keep the server's writers (and /healthz) waiting
    server = Gunicorn(database_url, folder, WEB_CONCURRENCY="1", GUNICORN_THREADS="4",
                      FLOORBOOK_BOARD_HEARTBEAT_SECONDS="1", FLOORBOOK_BOARD_STREAMS_PER_SCREEN="6", **env).start()
    with urllib.request.urlopen(f"{server.url}/healthz", timeout=30) as answer:  # the worker is past its start
        assert answer.status == 200
    return server, workers(server.process.pid)[0]


def nice(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[16])


def test_the_worker_hands_its_streams_to_its_niced_stream_process(plant, users, database_url, tmp_path):
    token = boards.create_screen("Hall TV", None, Actor(users.admin.id)).token
    server, worker = one_worker(database_url, tmp_path)
    streams = []
    try:
        port = int(server.url.rsplit(":", 1)[1])
        (host,) = workers(worker)  # the worker's one child
        assert nice(host) == nice(worker) + 10
        for _ in range(6):
            stream = EventStream(f"{server.url}/board/{token}/events", timeout=10)
            assert stream.status == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
            assert stream.headers["Cache-Control"] == "no-cache" and stream.headers["X-Accel-Buffering"] == "no"
            assert stream.next_event("heartbeat", timeout=10) is not None
            streams.append(stream)
        for stream in streams:  # each TV's connection is held by the stream process, not by the worker
            assert owner([host], port, stream.local_port) == host
            assert owner([worker], port, stream.local_port) == worker  # (through its child)
            assert not holds(worker, port, stream.local_port)
        refused = EventStream(f"{server.url}/board/{token}/events", timeout=10)  # the cap, kept by the host
        assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
        assert "already has 6 open streams" in refused.response.read().decode()
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as answer:
            assert answer.status == 200
    finally:
        for stream in streams:
            stream.close()
        server.stop()


def test_without_its_stream_process_the_worker_serves_streams_itself(plant, users, database_url, tmp_path):
    token = boards.create_screen("Hall TV", None, Actor(users.admin.id)).token
    for env in ({"FLOORBOOK_STREAM_PROCESS": "0"}, {}):
        server, worker = one_worker(database_url, tmp_path, **env)
        try:
            port = int(server.url.rsplit(":", 1)[1])
            if env:
                assert workers(worker) == []  # turned off: no stream process
            else:
                (host,) = workers(worker)
                os.kill(host, signal.SIGKILL)  # gone: the worker notices at the next hand-over
                gone(host)  # (a hand-over to a process still dying would be lost with it)
            stream = EventStream(f"{server.url}/board/{token}/events", timeout=10)
            assert stream.status == 200 and stream.next_event("heartbeat", timeout=10) is not None
            assert holds(worker, port, stream.local_port)
            stream.close()
        finally:
            server.stop()


def gone(pid: int, seconds: float = 10.0) -> None:
    """Wait until pid has exited (its descriptors, the worker's channel among them, are closed then)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
        except FileNotFoundError:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still running {seconds} s after SIGKILL")


def board_event_within(stream: EventStream, seconds: float):
    """The stream's next board event if it comes within seconds (skipping heartbeats), else None."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = stream.messages.get(timeout=left)
        except queue.Empty:
            return None
        if message is None or message.event == "board":
            return message
    return None


def holds(pid: int, server_port: int, client_port: int) -> bool:
    """True when pid itself (not a child) holds the accepted socket talking to client_port."""
    return owner([pid], server_port, client_port) == pid and not any(
        owner([child], server_port, client_port) for child in workers(pid))


def test_a_change_committed_by_the_worker_wakes_its_stream_process_at_once(plant, users, database_url, tmp_path):
    """The feed poll is set to a minute: only the worker's kick can bring the change to the TV in time."""
    token = boards.create_screen("Hall TV", None, Actor(users.admin.id)).token
    station_id, supervisor = plant.stations["Press 3"].id, users.supervisor.username
    leaf = reasons.downtime_tree()[0].children[0].code
    since = boards.latest_event_id()
    server, worker = one_worker(database_url, tmp_path, FLOORBOOK_BOARD_POLL_SECONDS="60")
    try:
        port = int(server.url.rsplit(":", 1)[1])
        stream = EventStream(f"{server.url}/board/{token}/events?since={since}", timeout=10)
        assert stream.next_event("heartbeat", timeout=10) is not None
        assert not holds(worker, port, stream.local_port)  # the stream process has it
        opener, csrf = signed_in_opener(server.url, supervisor)
        form = urllib.parse.urlencode({"station_id": station_id, "reason_code": leaf, "csrf_token": csrf}).encode()
        opener.open(f"{server.url}/floor/downtime", data=form)
        message = board_event_within(stream, 3.0)  # heartbeats come each second: a deadline, not a timeout
        assert message is not None, "the change did not reach the TV within 3 s"
        assert f'id="tile-{station_id}"' in message.data and 'data-status="down"' in message.data
        stream.close()
    finally:
        server.stop()

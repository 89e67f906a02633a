"""Two gunicorn workers: a change made through one worker reaches a board streamed by the other.

On PostgreSQL the feed poll is slowed to 60 s, so only LISTEN/NOTIFY can deliver in time; on SQLite
the poll of max(board_event.id) is the cross-process path. Which worker holds which connection is read
from /proc, so the test knows the two streams really sit in different processes.
"""
import http.cookiejar
import os
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from app.services.board import boards

from app.services.floor import reasons
from app.services.core.audit import Actor
from tests.helpers.builders import PASSWORD
from tests.helpers.gunicorn import Gunicorn
from tests.helpers.sse import EventStream

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads sockets from /proc (Linux)")


@pytest.fixture
def gunicorn(app, database_url, tmp_path, dialect):
    """gunicorn with two gthread workers on this test's database; yields (base URL, master pid, log)."""
    from app.extensions import db
    db.session.commit()
    db.session.remove()
    server = Gunicorn(database_url, tmp_path, WEB_CONCURRENCY="2", GUNICORN_THREADS="8",
                      FLOORBOOK_BOARD_STREAMS_PER_SCREEN="10", FLOORBOOK_BOARD_HEARTBEAT_SECONDS="1",
                      FLOORBOOK_BOARD_POLL_SECONDS="60" if dialect == "postgresql" else "0.2").start()
    try:
        for _ in range(100):
            try:
                if urllib.request.urlopen(f"{server.url}/healthz", timeout=1).status == 200 \
                        and len(workers(server.process.pid)) == 2:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail(f"gunicorn did not start: {server.log.read_text(errors='replace')[-3000:]}")
        yield server.url, server.process.pid, server.log
    finally:
        server.stop()


def workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def owner(worker_pids: list[int], server_port: int, client_port: int) -> int | None:
    """The worker whose accepted socket talks to client_port (held by the worker, or by its stream process
    once the worker has handed a board stream over)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
                inode = fields[9]
    for pid in worker_pids:
        for holder in [pid, *workers(pid)]:
            for fd in Path(f"/proc/{holder}/fd").iterdir():
                try:
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
    return None


def signed_in_opener(base: str, username: str) -> tuple[urllib.request.OpenerDirector, str]:
    """A cookie-keeping opener signed in with a password, and its CSRF token."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    token = re.search(r'name="csrf-token" content="([^"]+)"', opener.open(f"{base}/login").read().decode()).group(1)
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token}).encode()
    opener.open(f"{base}/login", data=form)
    page = opener.open(f"{base}/floor/stations").read().decode()  # the session's token after sign-in
    return opener, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_a_change_through_one_worker_reaches_a_board_on_the_other(plant, users, request):
    screen = boards.create_screen("Workers TV", None, Actor(users.admin.id))
    token, station_id, supervisor = screen.token, plant.stations["Press 3"].id, users.supervisor.username
    leaf = reasons.downtime_tree()[0].children[0].code
    since = boards.latest_event_id()
    base, master, log = request.getfixturevalue("gunicorn")  # started after the data is committed
    port = int(base.rsplit(":", 1)[1])
    pids = workers(master)
    streams: dict[int, EventStream] = {}
    extra: list[EventStream] = []  # kept open while placing: a worker busy with streams accepts less eagerly
    for _ in range(60):  # connections land on either worker: keep one stream per worker
        stream = EventStream(f"{base}/board/{token}/events?since={since}")
        assert stream.status == 200, log.read_text(errors="replace")[-3000:]
        stream.next_event("heartbeat", timeout=5)
        pid = owner(pids, port, stream.local_port)
        if pid in streams or pid is None:
            extra.append(stream)
            if len(extra) > 4:  # within the worker's 8 threads
                extra.pop(0).close()
        else:
            streams[pid] = stream
        if len(streams) == 2:
            break
        time.sleep(0.05)
    for stream in extra:
        stream.close()
    assert len(streams) == 2, "could not place a stream on each worker"

    opener, csrf = signed_in_opener(base, supervisor)
    form = urllib.parse.urlencode({"station_id": station_id, "reason_code": leaf, "csrf_token": csrf}).encode()
    opener.open(f"{base}/floor/downtime", data=form)
    from app.extensions import db
    from app.models import DowntimeEvent
    assert db.session.scalar(select(DowntimeEvent.reason_code).where(DowntimeEvent.station_id == station_id)) == leaf
    db.session.remove()

    for pid, stream in streams.items():
        message = stream.next_event("board", timeout=3)
        assert message is not None, f"the stream on worker {pid} ended"
        assert f'id="tile-{station_id}"' in message.data and 'data-status="down"' in message.data, pid
        stream.close()
